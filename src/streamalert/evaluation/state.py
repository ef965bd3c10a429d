"""The alert state machine (docs/design.md#alerts): which evaluations notify, and what history keeps. Pure.

A notification is sent when an alert starts firing with no incident open (`firing`), and when
it is back to `ok` while an incident is open (`resolved`). `insufficient_data` never notifies
and does not close an open incident, so firing → insufficient_data → firing sends nothing new
and firing → insufficient_data → ok sends one `resolved`. A muted alert's transitions are the
same, marked muted, plus one expiry notification when its mute ends (`evaluation.mute`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

from streamalert.evaluation.decide import Evaluation, Observed, Status
from streamalert.evaluation.mute import expiry_due, expiry_event_id, is_muted, resolve_is_muted
from streamalert.kinds import Baseline
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import Percent, Timestamp
from streamalert.records.outputs import Window

HISTORY_LIMIT = 50
"""Status changes kept per alert for the history route; older ones are dropped."""

EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://streamalert.dev/schemas/alert-fired.json")

Notification = Literal["firing", "resolved"]


def event_id(alert_id: str, incident: int, state: Notification) -> str:
    """Deterministic id of a transition: the same (alert, incident, state) always gives the same id.

    Alert ids never contain `/`, so the name is unambiguous.
    """
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{alert_id}/{incident}/{state}"))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Transition(_Model):
    """A state change that notifies: one `alert-fired` record and one delivery per channel."""

    state: Notification
    incident: int
    event_id: str
    occurred_at: Timestamp
    alert_version: int
    threshold_pct: Percent
    baseline: Baseline = "previous_day"
    window: Window
    baseline_window: Window
    observed: Observed
    muted: bool = False
    """Published with `muted: true` (see `evaluation.mute`)."""


class HistoryEntry(_Model):
    """One status change, notifying or not, with what was observed (history route)."""

    at: Timestamp
    status: Status
    previous: Status | None
    incident: int
    notification: Notification | None = None
    event_id: str | None = None
    alert_version: int
    threshold_pct: Percent
    window: Window
    baseline_window: Window
    observed: Observed | None = None
    muted: bool = False


class AlertState(_Model):
    """What is remembered about one alert between evaluations (a table value, key = alert id)."""

    status: Status | None = None
    """None until the first evaluation."""
    incident: int = 0
    """Firings so far; the current or last incident's number."""
    open: bool = False
    """A firing was notified and its resolution not yet."""
    muted_firing: bool = False
    """The open incident's firing was published muted and no expiry notification followed yet."""
    status_since: Timestamp | None = None
    evaluated_at: Timestamp | None = None
    alert_version: int = 0
    alert_created_at: Timestamp | None = None
    """When the alert this state belongs to was created: a keyed alert deleted and created again
    has the same id (it derives from the key) but must not inherit the old one's state."""
    observed: Observed | None = None
    window: Window | None = None
    baseline_window: Window | None = None
    history: tuple[HistoryEntry, ...] = ()
    """Newest last, at most HISTORY_LIMIT."""
    series: tuple[int | None, ...] = ()
    """The 48 hourly values the last evaluation saw, from the baseline window's start (the chart)."""
    series_failed: tuple[int, ...] = ()
    """Failed outcomes of the same 48 hours (rate kinds only)."""

    def to_bytes(self) -> bytes:
        # A copy, as in SubjectState.to_bytes: orjson's own result holds ~8 KB in a memory store.
        return memoryview(orjson.dumps(self.model_dump(mode="json", exclude_defaults=True))).tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes) -> AlertState:
        return cls.model_validate(orjson.loads(raw))


def step(
    previous: AlertState | None, alert: AlertConfig, evaluation: Evaluation, now: datetime
) -> tuple[AlertState, Transition | None]:
    """The state after `evaluation`, and the transition to notify, if any."""
    before = previous if previous is not None else AlertState()
    if before.alert_created_at not in (None, alert.created_at):
        # Incidents are numbered on, so the new alert's event ids never repeat the old one's.
        before = AlertState(incident=before.incident)
    status = evaluation.status
    incident, is_open, firing_was_muted = before.incident, before.open, before.muted_firing
    muted_now = is_muted(alert.muted_until, now)
    transition: Transition | None = None
    notification: Notification | None = None
    muted = expiry = False
    if status == "firing" and not is_open:
        incident, is_open, notification = incident + 1, True, "firing"
        muted = firing_was_muted = muted_now
    elif status == "ok" and is_open:
        is_open, notification = False, "resolved"
        muted, firing_was_muted = resolve_is_muted(muted_now, firing_was_muted), False
    elif expiry_due(is_open, status == "firing", firing_was_muted, muted_now):
        notification, expiry, firing_was_muted = "firing", True, False
    if notification is not None:
        assert evaluation.observed is not None, "a firing or ok evaluation has observed values"
        transition = Transition(
            state=notification,
            incident=incident,
            event_id=expiry_event_id(alert.id, incident)
            if expiry
            else event_id(alert.id, incident, notification),
            occurred_at=now,
            alert_version=alert.version,
            threshold_pct=alert.threshold_pct,
            baseline=evaluation.baseline,
            window=evaluation.window,
            baseline_window=evaluation.baseline_window,
            observed=evaluation.observed,
            muted=muted,
        )
    history = before.history
    changed = status != before.status
    if changed or transition is not None:
        entry = HistoryEntry(
            at=now,
            status=status,
            previous=before.status,
            incident=incident,
            notification=notification,
            event_id=transition.event_id if transition is not None else None,
            alert_version=alert.version,
            threshold_pct=alert.threshold_pct,
            window=evaluation.window,
            baseline_window=evaluation.baseline_window,
            observed=evaluation.observed,
            muted=muted,
        )
        history = (*history, entry)[-HISTORY_LIMIT:]
    after = AlertState(
        status=status,
        incident=incident,
        open=is_open,
        muted_firing=firing_was_muted,
        status_since=now if changed or before.status_since is None else before.status_since,
        evaluated_at=now,
        alert_version=alert.version,
        alert_created_at=alert.created_at,
        observed=evaluation.observed,
        window=evaluation.window,
        baseline_window=evaluation.baseline_window,
        history=history,
    )
    return after, transition
