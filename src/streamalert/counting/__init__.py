"""Counting: hourly buckets per subject, by event time."""
