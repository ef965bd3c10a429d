"""Transitions as `alert-fired` records with a one-line human summary. Pure.

Only the alert's public fields are read: channels (webhook URLs, routing keys, addresses)
never reach the record, whose model forbids extra fields anyway.
"""

from __future__ import annotations

from decimal import Decimal

from streamalert.evaluation.decide import Observed
from streamalert.evaluation.state import Notification, Transition
from streamalert.kinds import KINDS, Baseline
from streamalert.records.alerts import AlertConfig
from streamalert.records.outputs import AlertFired, RateObserved, Subject
from streamalert.text import count, number, pct, signed, threshold


def render_alert_fired(alert: AlertConfig, transition: Transition) -> AlertFired:
    """The `alert-fired` record of one transition of `alert` (the configuration evaluated)."""
    return AlertFired(
        event_id=transition.event_id,
        alert_id=alert.id,
        workspace_id=alert.workspace_id,
        kind=alert.kind,
        name=alert.name,
        state=transition.state,
        incident=transition.incident,
        threshold_pct=transition.threshold_pct,
        baseline=transition.baseline,
        subject=Subject(**alert.subject),
        window=transition.window,
        baseline_window=transition.baseline_window,
        observed=transition.observed,
        occurred_at=transition.occurred_at,
        summary=summary(
            alert, transition.state, transition.observed, transition.threshold_pct, transition.baseline
        ),
        muted=transition.muted,
    )


def summary(
    alert: AlertConfig,
    state: Notification,
    observed: Observed,
    limit_pct: Decimal,
    baseline: Baseline = "previous_day",
) -> str:
    """One line for people, e.g. `Source volume change for source web: 95 events in the last
    24 h vs 100 the day before (-5.00 %), threshold ±4 %` (with a true minus sign, see
    `streamalert.text`); `vs 100 the same day last week` with a week-over-week baseline."""
    kind = KINDS[alert.kind]
    limit = threshold(limit_pct)
    heading = f"{kind.default_name} for {kind.subject_phrase(alert)}"
    if alert.name != kind.default_name:
        heading = f"[{alert.name}] {heading}"
    if state == "resolved":
        heading = f"Resolved: {heading}"
    if isinstance(observed, RateObserved):
        body = (
            f"{pct(number(observed.success_rate_pct))} ({count(observed.delivered)} delivered, "
            f"{count(observed.failed)} failed) in the last 24 h"
        )
        tail = f"below {limit} %" if state == "firing" else f"back at or above {limit} %"
        return f"{heading}: {body}, {tail}"
    change = (
        f"{count(observed.current)} {kind.unit}{kind.current_words} vs {count(observed.baseline)} "
        f"{kind.baseline_phrase(baseline)} ({pct(signed(observed.change_pct))})"
    )
    return f"{heading}: {change}, {'threshold' if state == 'firing' else 'within'} ±{limit} %"
