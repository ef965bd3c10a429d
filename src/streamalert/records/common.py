"""Types shared by every record: ids, timestamps, exact thresholds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"),
]
"""A workspace, subject, alert or user id: safe in a URL path and a Kafka key."""


def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 string with an offset, or integer epoch milliseconds, to an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a UTC offset")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or integer epoch milliseconds")
    value = whole_number(value)
    if isinstance(value, int):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise ValueError(f"epoch milliseconds out of range: {value}") from error
    if isinstance(value, str):
        return _parse_rfc3339(value)
    raise ValueError("timestamp must be an RFC 3339 string or integer epoch milliseconds")


def _parse_rfc3339(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from error
    if "T" not in value.upper() and " " not in value:
        raise ValueError(f"not an RFC 3339 timestamp (date only): {value!r}")
    if parsed.tzinfo is None:
        raise ValueError(f"RFC 3339 timestamp needs an offset such as Z: {value!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the last representable instant
        raise ValueError(f"timestamp out of range: {value!r}") from None


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, e.g. `2026-11-28T09:00:00.000Z`."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "description": "epoch milliseconds"},
            ]
        },
        mode="validation",
    ),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
"""Accepts RFC 3339 or epoch milliseconds; always written as RFC 3339 UTC."""


def _decimal_to_json(value: Decimal) -> int | float:
    # A JSON number, not pydantic's default string; Decimal(str(float)) reads it back exactly.
    return int(value) if value == value.to_integral_value() else float(value)


Percent = Annotated[
    Decimal,
    PlainSerializer(_decimal_to_json, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number"}),
]
"""A percentage held as a Decimal so that boundaries compare exactly (docs/design.md#alerts)."""


class Record(BaseModel):
    """Base of every record: unknown fields are ignored so producers can add their own."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StrictRecord(BaseModel):
    """Base of records written by streamalert itself and of API requests: no stray fields."""

    model_config = ConfigDict(extra="forbid")


MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON reader holds exactly (JavaScript's Number.MAX_SAFE_INTEGER).
Counts above it are refused; hourly sums saturate at it (`counting.buckets`)."""


def whole_number(value: Any) -> Any:
    """JSON has one number type, so `5.0` is the integer 5 (as JSON Schema's "integer" says);
    `5.5`, `"5"` and `true` stay what they are and fail an integer field."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PositiveCount = Annotated[int, Field(strict=True, ge=1, le=MAX_SAFE_INTEGER), BeforeValidator(whole_number)]
"""A count in an input record that is at least 1: a whole JSON number up to MAX_SAFE_INTEGER."""
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_SAFE_INTEGER), BeforeValidator(whole_number)]
"""A count in an input record: a whole JSON number from 0 to MAX_SAFE_INTEGER."""
