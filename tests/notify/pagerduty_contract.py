"""The request body of PagerDuty's Events API v2 `POST /v2/enqueue`, as a JSON Schema.

Written for these tests from PagerDuty's public Events API v2 documentation (the "Send an
Alert Event" request): what a real endpoint accepts, so that the local PagerDuty server in
`servers.py` rejects what PagerDuty would. Fields outside these are refused too.
"""

from __future__ import annotations

from typing import Any

_STRING: dict[str, Any] = {"type": "string"}

PAYLOAD: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "source", "severity"],
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
        "source": {"type": "string", "minLength": 1},
        "severity": {"enum": ["critical", "error", "warning", "info"]},
        "timestamp": {"type": "string", "format": "date-time"},
        "component": _STRING,
        "group": _STRING,
        "class": _STRING,
        "custom_details": {"type": "object"},
    },
}

ENQUEUE: dict[str, Any] = {
    "type": "object",
    "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "client": _STRING,
        "client_url": {"type": "string", "format": "uri"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["href"],
                "properties": {"href": _STRING, "text": _STRING},
            },
        },
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["src"],
                "properties": {"src": _STRING, "href": _STRING, "alt": _STRING},
            },
        },
        "payload": PAYLOAD,
    },
    # A trigger needs its payload; acknowledge and resolve name the alert by dedup_key.
    "allOf": [
        {"if": {"properties": {"event_action": {"const": "trigger"}}}, "then": {"required": ["payload"]}},
        {
            "if": {"properties": {"event_action": {"enum": ["acknowledge", "resolve"]}}},
            "then": {"required": ["dedup_key"]},
        },
    ],
}
