"""The event a test send delivers: the alert as it stands, clearly marked as a test."""

from __future__ import annotations

import uuid
from datetime import datetime

from streamalert.counting.windows import windows_at
from streamalert.evaluation.render import summary
from streamalert.evaluation.state import AlertState
from streamalert.kinds import KINDS
from streamalert.records.alerts import AlertConfig
from streamalert.records.outputs import AlertFired, ChangeObserved, RateObserved, Subject, Window


def sample_event(alert: AlertConfig, state: AlertState | None, now: datetime) -> AlertFired:
    """A firing event for `alert` with its last observed values (zeros when it has none)."""
    windows = windows_at(now, alert.baseline)
    observed = state.observed if state is not None and state.observed is not None else None
    if observed is None:
        observed = (
            RateObserved(delivered=0, failed=0, success_rate_pct=0)
            if KINDS[alert.kind].decision == "rate"
            else ChangeObserved(current=0, baseline=0, change_pct=0)
        )
    return AlertFired(
        event_id=f"test-{uuid.uuid4()}",
        alert_id=alert.id,
        workspace_id=alert.workspace_id,
        kind=alert.kind,
        name=alert.name,
        state="firing",
        incident=max(state.incident, 1) if state is not None else 1,
        threshold_pct=alert.threshold_pct,
        baseline=alert.baseline,
        subject=Subject(**alert.subject),
        window=Window(start=windows.current_start, end=windows.current_end),
        baseline_window=Window(start=windows.baseline_start, end=windows.baseline_end),
        observed=observed,
        occurred_at=now,
        summary=summary(alert, "firing", observed, alert.threshold_pct, alert.baseline),
    )
