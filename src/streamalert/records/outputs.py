"""Records streamalert writes: alert-fired events, delivery attempts, dead letters (docs/design.md#topics)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import Field, model_validator

from streamalert.kinds import AlertKind, Baseline
from streamalert.records.alerts import ChannelType
from streamalert.records.common import Id, Percent, StrictRecord, Timestamp

ALERT_FIRED_SCHEMA: Final = "streamalert.alert-fired/v2"
"""v2: v1 plus `baseline`."""


class Window(StrictRecord):
    start: Timestamp
    end: Timestamp


def _absent(value: object) -> bool:
    return value is None


class Subject(StrictRecord):
    """The subject's ids; only those that apply to the alert's kind are written."""

    source_id: Id | None = Field(None, exclude_if=_absent)
    destination_id: Id | None = Field(None, exclude_if=_absent)
    mapping_id: Id | None = Field(None, exclude_if=_absent)
    audience_id: Id | None = Field(None, exclude_if=_absent)


class ChangeObserved(StrictRecord):
    """A volume or size compared between the current and the baseline window."""

    current: int
    baseline: int
    change_pct: Percent


class RateObserved(StrictRecord):
    """Delivery outcomes in the current window."""

    delivered: int
    failed: int
    success_rate_pct: Percent


class AlertFired(StrictRecord):
    """One state transition of one alert: the downstream contract of `alert-fired` (key = alert id).

    Holds no secret: channels are not part of it.
    """

    schema_: Literal["streamalert.alert-fired/v2"] = Field(ALERT_FIRED_SCHEMA, alias="schema")
    event_id: str
    alert_id: Id
    workspace_id: Id
    kind: AlertKind
    name: str
    state: Literal["firing", "resolved"]
    incident: Annotated[int, Field(ge=1)] = Field(
        1, description="numbers the alert's firings; a resolved event carries its firing's number"
    )
    threshold_pct: Percent
    baseline: Baseline = Field(
        description="what the current window was compared with: previous_day ([H - 48 h, H - 24 h)) or "
        "same_day_last_week ([H - 192 h, H - 168 h)); baseline_window is that window",
    )
    subject: Subject
    window: Window
    baseline_window: Window
    observed: ChangeObserved | RateObserved
    occurred_at: Timestamp
    summary: str
    muted: bool = Field(
        False,
        description="the alert was muted: channels are not notified of a muted firing, and a muted "
        "resolve reaches only the channels that received the incident's firing. A firing with muted "
        "false for an incident whose firing was muted is the notification sent when the mute ended",
    )

    model_config = StrictRecord.model_config | {"populate_by_name": True}

    @model_validator(mode="before")
    @classmethod
    def _read_v1(cls, data: Any) -> Any:
        """A v1 event (published before an upgrade, still in the topic) reads as v2: v1 had only
        the previous-day baseline."""
        if (
            isinstance(data, dict)
            and data.get("schema") == "streamalert.alert-fired/v1"
            and "baseline" not in data
        ):
            return data | {"schema": ALERT_FIRED_SCHEMA, "baseline": "previous_day"}
        return data


class MaskedTarget(StrictRecord):
    type: ChannelType
    target: str


class DeliveryAttempt(StrictRecord):
    """One attempt to deliver one alert-fired event to one channel (`deliveries`)."""

    event_id: str
    alert_id: Id
    channel: MaskedTarget
    attempt: Annotated[int, Field(ge=1)]
    outcome: Literal["delivered", "retrying", "failed", "muted"] = Field(
        description="muted: not sent, the alert was muted (docs/design.md#muting)"
    )
    status_code: int | None = None
    error: str | None = None
    at: Timestamp


class DeadLetter(StrictRecord):
    """An input record that could not be used, with where it came from and why (`dead-letter`)."""

    topic: str
    partition: int
    offset: int
    reason: str
    raw: str | None = Field(
        description="the record's value as UTF-8 text (base64 when raw_encoding says so); "
        "only its first bytes when raw_truncated"
    )
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"
    raw_truncated: bool = Field(False, description="raw holds only the value's first bytes")
    raw_size: int | None = Field(None, description="the value's size in bytes")
    raw_sha256: str | None = Field(None, description="SHA-256 of the whole value, hex, when raw_truncated")
    key: str | None = Field(None, description="the record's key as text (its first characters if long)")


__all__ = [
    "ALERT_FIRED_SCHEMA",
    "AlertFired",
    "ChangeObserved",
    "DeadLetter",
    "DeliveryAttempt",
    "MaskedTarget",
    "RateObserved",
    "Subject",
    "Window",
]
