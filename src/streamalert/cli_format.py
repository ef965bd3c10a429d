"""Terminal rendering and parsing for the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
import orjson

from streamalert.text import pct, threshold


def parse_channel(spec: str) -> dict[str, Any]:
    """`in_app`, `email:ADDRESS`, `slack:CHANNEL:URL`, `slack_workflow:URL`, `pagerduty:KEY` or JSON."""
    if spec.lstrip().startswith("{"):
        parsed: dict[str, Any] = orjson.loads(spec)
        return parsed
    kind, _, rest = spec.partition(":")
    if kind == "in_app":
        return {"type": "in_app"}
    if kind == "email":
        return {"type": "email", "address": rest}
    if kind == "slack":
        channel, _, url = rest.partition(":")
        return {"type": "slack", "channel": channel, "webhook_url": url}
    if kind == "slack_workflow":
        return {"type": "slack_workflow", "webhook_url": rest}
    if kind == "pagerduty":
        return {"type": "pagerduty", "integration_key": rest}
    raise click.BadParameter(f"unknown channel {kind!r}", param_hint="--channel")


def alert_table(rows: list[dict[str, Any]]) -> str:
    header = [
        "ID",
        "NAME (KIND)",
        "THRESHOLD",
        "SOURCE",
        "DESTINATION",
        "CREATED BY",
        "CREATED",
        "STATUS",
        "CHANNELS",
    ]
    lines = [
        [
            row["id"],
            f"{row['name']} ({row['kind']})",
            pct(threshold(Decimal(str(row["threshold_pct"])))),
            row.get("source_id") or row.get("mapping_id") or row.get("audience_id") or "-",
            row.get("destination_id") or "-",
            row["created_by"]["name"],
            row["created_at"][:10],
            row["status"],
            ",".join(row["channel_types"]),
        ]
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=False)]
    render = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *lines]
    ]
    if not rows:
        render.append("(no alerts)")
    return "\n".join(render)
