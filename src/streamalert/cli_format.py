"""Terminal rendering and parsing for the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
import orjson
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_settings import BaseSettings

from streamalert.records.common import parse_timestamp
from streamalert.text import pct, threshold


def parse_channel(spec: str) -> dict[str, Any]:
    """`in_app`, `email:ADDRESS`, `slack:CHANNEL:URL`, `slack_workflow:URL`, `pagerduty:KEY` or JSON."""
    if spec.lstrip().startswith("{"):
        return json_argument(spec, "--channel")
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
        "MUTED UNTIL",
        "STATE",
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
            muted_until_text(row.get("muted_until")),
            row.get("state") or "-",
            ",".join(row["channel_types"]),
        ]
        for row in rows
    ]
    return table(header, lines, empty="(no alerts)")


def muted_until_text(value: str | None) -> str:
    """`2026-11-28 14:00Z` for a mute in force (the row only has one then), `-` otherwise."""
    if not value:
        return "-"
    return parse_timestamp(value).strftime("%Y-%m-%d %H:%MZ")


def _channel_line(channel: dict[str, Any]) -> str:
    details = [str(value) for key, value in channel.items() if key != "type" and value is not None]
    return " ".join([channel["type"], *details])


def alert_detail(alert: dict[str, Any]) -> str:
    """One alert as `kubectl describe` would show it: a field per line, channels masked."""
    subject = ", ".join(
        f"{field}={alert[field]}"
        for field in ("source_id", "destination_id", "mapping_id", "audience_id")
        if alert.get(field)
    )
    creator = alert.get("created_by") or {}
    channels = [_channel_line(channel) for channel in alert.get("channels", [])] or ["-"]
    fields = [
        ("ID", alert["id"]),
        ("NAME", alert["name"]),
        ("KIND", alert["kind"]),
        ("THRESHOLD", f"{alert['threshold_pct']}%"),
        ("BASELINE", alert.get("baseline", "previous_day")),
        ("SUBJECT", subject or "-"),
        ("STATUS", "enabled" if alert.get("enabled", True) else "disabled"),
        ("MUTED UNTIL", alert.get("muted_until") or "-"),
        ("VERSION", alert.get("version", "-")),
        ("CREATED BY", f"{creator.get('name', '-')} ({creator.get('user_id', '-')})"),
        ("CREATED", alert.get("created_at", "-")),
        ("UPDATED", alert.get("updated_at", "-")),
        ("CHANNELS", channels[0]),
        *[("", line) for line in channels[1:]],
    ]
    width = max(len(label) for label, _ in fields) + 2
    return "\n".join(
        f"{label:{width}}{value}".rstrip() if label else f"{'':{width}}{value}" for label, value in fields
    )


def history_view(history: dict[str, Any]) -> str:
    """The alert's state, then its status changes and delivery attempts, newest first."""
    incident = history.get("incident") or 0
    since = history.get("status_since") or "-"
    observed = history.get("observed")
    lines = [
        f"STATE       {history['status']} since {since}",
        f"INCIDENT    {incident} ({'open' if history.get('open') else 'closed'})"
        if incident
        else "INCIDENT    -",
        f"EVALUATED   {history.get('evaluated_at') or '-'}",
        f"OBSERVED    {orjson.dumps(observed).decode() if observed else '-'}",
        "",
        "STATUS CHANGES",
        table(
            ["AT", "STATUS", "PREVIOUS", "NOTIFIED", "INCIDENT"],
            [
                [
                    entry["at"],
                    entry["status"],
                    entry.get("previous") or "-",
                    entry.get("notification") or "-",
                    entry.get("incident", "-"),
                ]
                for entry in history.get("transitions", [])
            ],
            empty="(none)",
        ),
        "",
        "DELIVERIES",
        table(
            ["AT", "CHANNEL", "TARGET", "ATTEMPT", "OUTCOME", "ERROR"],
            [
                [
                    attempt["at"],
                    attempt["channel"]["type"],
                    attempt["channel"]["target"],
                    attempt["attempt"],
                    attempt["outcome"],
                    attempt.get("error") or "-",
                ]
                for attempt in history.get("deliveries", [])
            ],
            empty="(none)",
        ),
    ]
    return "\n".join(lines)


def notification_table(body: dict[str, Any]) -> str:
    rows = [
        [
            entry["occurred_at"],
            entry["state"] + (" (test)" if entry.get("test") else ""),
            entry["alert_id"],
            "" if entry.get("read") else "*",
            entry["title"],
        ]
        for entry in body.get("notifications", [])
    ]
    rendered = table(["OCCURRED", "STATE", "ALERT", "UNREAD", "TITLE"], rows, empty="(no notifications)")
    return f"{rendered}\n{body.get('unread', 0)} unread"


def channel_results_table(results: list[dict[str, Any]]) -> str:
    rows = [
        [
            result["channel"]["type"],
            result["channel"]["target"],
            result["outcome"] + (f" ({result['error']})" if result.get("error") else ""),
        ]
        for result in results
    ]
    return table(["CHANNEL", "TARGET", "OUTCOME"], rows, empty="(no channels)")


def settings_table(rows: list[SettingRow]) -> str:
    return table(["VARIABLE", "VALUE", "SOURCE"], [[row.variable, row.value, row.source] for row in rows])


# -- exit codes, errors and output formats --------------------------------------------------------


class ExitCode(IntEnum):
    """The exit status of every command (README, "CLI")."""

    OK = 0
    ERROR = 1  # anything else, e.g. the API answered 5xx
    USAGE = 2  # a bad option or argument, or a bad STREAMALERT_* setting (click's own code too)
    UNREACHABLE = 3  # the API cannot be reached
    REFUSED = 4  # the API refused the request (4xx)
    CHANNEL_FAILED = 5  # `alerts test`: at least one channel was not delivered


class CliError(click.ClickException):
    """One line on stderr and a chosen exit status, never a traceback."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)


OUTPUTS = ("table", "json")


def output_option(function: Any) -> Any:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUTS),
        default="table",
        show_default=True,
        help="table for people, json for scripts",
    )(function)


def as_json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def table(header: list[str], rows: list[list[Any]], empty: str | None = None) -> str:
    """Left-aligned columns two spaces apart, like kubectl's; `empty` is shown when there are no rows."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    if not rows and empty is not None:
        lines.append(empty)
    return "\n".join(lines)


def json_argument(raw: str | bytes, param_hint: str) -> dict[str, Any]:
    """A JSON object given on the command line or in a file, or an error naming the argument."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise click.BadParameter(f"not valid JSON: {error}", param_hint=param_hint) from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint=param_hint)
    return parsed


# -- settings: effective values, where they came from, secrets masked ------------------------------

SECRET_WORDS = ("password", "secret", "key", "token")
MASK = "****"


class SettingRow(BaseModel):
    variable: str
    value: str
    source: str


def mask_url(text: str) -> str:
    """`smtp://user:pass@host` → `smtp://user:****@host`; a URL without credentials is unchanged."""
    if "://" not in text or "@" not in text:
        return text
    parts = urlsplit(text)
    if "@" not in parts.netloc:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    masked = f"{user}:{MASK}" if has_password else MASK
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


def setting_text(name: str, value: Any) -> str:
    """How `config` shows a value: secrets masked (by name, by type, or credentials in a URL)."""
    if isinstance(value, SecretStr | SecretBytes):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, list | tuple | set):
        text = ",".join(str(item) for item in value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    else:
        text = str(value)
    if any(word in name.lower() for word in SECRET_WORDS):
        return MASK if text else ""
    return ",".join(mask_url(part) for part in text.split(","))


def effective_settings(
    settings: BaseSettings, environ: Mapping[str, str], dotenv: Mapping[str, str | None]
) -> list[SettingRow]:
    """Every setting with its value and source: environment, the .env file, or the default.

    Variable names are matched case-insensitively, as pydantic-settings reads them.
    """
    prefix = str(settings.model_config.get("env_prefix", ""))
    environment = {name.upper() for name in environ}
    from_file = {name.upper() for name, value in dotenv.items() if value is not None}
    rows = []
    for name in type(settings).model_fields:
        variable = f"{prefix}{name}".upper()
        if variable in environment:
            source = "environment"
        elif variable in from_file:
            source = ".env"
        else:
            source = "default"
        rows.append(
            SettingRow(variable=variable, value=setting_text(name, getattr(settings, name)), source=source)
        )
    return rows
