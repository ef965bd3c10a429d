"""The worker's HTTP server: the alerts API, health, readiness, metrics and OpenAPI."""
