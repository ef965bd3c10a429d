"""The worker's HTTP server: health, readiness, and (later) the API and UI."""
