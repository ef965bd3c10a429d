"""What the API shows of an alert: the masked configuration and the alerting-table row."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from streamalert.alerts.masking import masked_channel
from streamalert.evaluation.mute import is_muted
from streamalert.evaluation.state import AlertState
from streamalert.kinds import AlertKind
from streamalert.records.alerts import (
    AlertConfig,
    ChannelType,
    Creator,
    EmailChannel,
    InAppChannel,
)
from streamalert.records.common import Id, Percent, StrictRecord, Timestamp
from streamalert.records.outputs import DeliveryAttempt

MASKED = "masked: the scheme and host, then **** and the last 4 characters"


class SlackChannelOut(StrictRecord):
    type: Literal["slack"]
    webhook_url: str = Field(description=MASKED)
    channel: str


class SlackWorkflowChannelOut(StrictRecord):
    type: Literal["slack_workflow"]
    webhook_url: str = Field(description=MASKED)


class PagerDutyChannelOut(StrictRecord):
    type: Literal["pagerduty"]
    integration_key: str = Field(description="masked: **** and the last 4 characters")


ChannelOut = Annotated[
    EmailChannel | SlackChannelOut | SlackWorkflowChannelOut | PagerDutyChannelOut | InAppChannel,
    Field(discriminator="type"),
]


class AlertOut(AlertConfig):
    """An alert as the API returns it: secrets masked."""

    channels: list[ChannelOut]  # type: ignore[assignment]


class AlertRow(StrictRecord):
    """One row of the alerting table."""

    id: Id
    name: str
    key: str | None = None
    kind: AlertKind
    threshold_pct: Percent
    source_id: Id | None
    destination_id: Id | None
    mapping_id: Id | None
    audience_id: Id | None
    created_by: Creator
    created_at: Timestamp
    status: Literal["enabled", "disabled"]
    muted_until: Timestamp | None = Field(
        None, description="set while the alert is muted: no channel is notified before then"
    )
    state: Literal["ok", "firing", "insufficient_data"]
    channel_types: list[ChannelType]


def alert_body(alert: AlertConfig) -> dict[str, Any]:
    """The configuration with every secret masked."""
    body = alert.model_dump(mode="json")
    body["channels"] = [masked_channel(channel) for channel in alert.channels]
    return body


def alert_row(alert: AlertConfig, state: AlertState | None, now: datetime) -> AlertRow:
    return AlertRow(
        id=alert.id,
        name=alert.name,
        key=alert.key,
        kind=alert.kind,
        threshold_pct=alert.threshold_pct,
        source_id=alert.source_id,
        destination_id=alert.destination_id,
        mapping_id=alert.mapping_id,
        audience_id=alert.audience_id,
        created_by=alert.created_by,
        created_at=alert.created_at,
        status="enabled" if alert.enabled else "disabled",
        muted_until=alert.muted_until if is_muted(alert.muted_until, now) else None,
        state=current_status(state),
        channel_types=sorted({channel.type for channel in alert.channels}),
    )


def current_status(state: AlertState | None) -> Literal["ok", "firing", "insufficient_data"]:
    """An alert never evaluated (no data for its subject yet) has insufficient data."""
    return state.status if state is not None and state.status is not None else "insufficient_data"


def history_body(
    alert: AlertConfig, state: AlertState | None, deliveries: list[DeliveryAttempt]
) -> dict[str, Any]:
    """The alert's current state, its status changes and delivery attempts, newest first."""
    body: dict[str, Any] = {
        "alert_id": alert.id,
        "status": current_status(state),
        "incident": 0,
        "open": False,
        "status_since": None,
        "evaluated_at": None,
        "observed": None,
        "window": None,
        "baseline_window": None,
        "transitions": [],
        "deliveries": [attempt.model_dump(mode="json") for attempt in deliveries],
    }
    if state is not None:
        dumped = state.model_dump(mode="json", exclude={"history", "status", "alert_version"})
        body |= {key: value for key, value in dumped.items() if key in body}
        body["transitions"] = [entry.model_dump(mode="json") for entry in reversed(state.history)]
    return body
