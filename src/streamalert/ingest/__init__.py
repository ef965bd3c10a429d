"""Ingest: validate input records, reject the unusable ones to dead-letter, hand the rest on."""
