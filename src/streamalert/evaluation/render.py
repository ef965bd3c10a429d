"""Transitions as `alert-fired` records (SPEC §3.4) with a one-line human summary. Pure.

Only the alert's public fields are read: channels (webhook URLs, routing keys, addresses)
never reach the record, whose model forbids extra fields anyway.
"""

from __future__ import annotations

from decimal import Decimal

from streamalert.evaluation.decide import Observed
from streamalert.evaluation.state import Notification, Transition
from streamalert.records.alerts import DEFAULT_NAMES, AlertConfig
from streamalert.records.outputs import AlertFired, ChangeObserved, RateObserved, Subject
from streamalert.text import count, number, signed, threshold

_UNITS: dict[str, str] = {
    "source_volume": "events",
    "activation_volume": "events delivered",
    "audience_size": "members",
}


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
        subject=Subject(**alert.subject),
        window=transition.window,
        baseline_window=transition.baseline_window,
        observed=transition.observed,
        occurred_at=transition.occurred_at,
        summary=summary(alert, transition.state, transition.observed, transition.threshold_pct),
    )


def summary(
    alert: AlertConfig, state: Notification, observed: Observed, limit_pct: Decimal | None = None
) -> str:
    """One line for people, e.g. `Source volume change for source web: 95 events in the last
    24 h vs 100 the day before (-5.00 %), threshold ±4 %`."""
    limit = threshold(alert.threshold_pct if limit_pct is None else limit_pct)
    label = DEFAULT_NAMES[alert.kind]
    heading = f"{label} for {subject_phrase(alert)}"
    if alert.name != label:
        heading = f"[{alert.name}] {heading}"
    if state == "resolved":
        heading = f"Resolved: {heading}"
    if isinstance(observed, RateObserved):
        body = (
            f"{number(observed.success_rate_pct)} % ({count(observed.delivered)} delivered, "
            f"{count(observed.failed)} failed) in the last 24 h"
        )
        tail = f"below {limit} %" if state == "firing" else f"back at or above {limit} %"
        return f"{heading}: {body}, {tail}"
    return f"{heading}: {_change_body(alert.kind, observed)}, {'threshold' if state == 'firing' else 'within'} ±{limit} %"


def _change_body(kind: str, observed: ChangeObserved) -> str:
    unit = _UNITS.get(kind, "events")
    change = f"{signed(observed.change_pct)} %"
    if kind == "audience_size":
        return f"{count(observed.current)} {unit} vs {count(observed.baseline)} 24 h earlier ({change})"
    return f"{count(observed.current)} {unit} in the last 24 h vs {count(observed.baseline)} the day before ({change})"


def subject_phrase(alert: AlertConfig) -> str:
    match alert.kind:
        case "source_volume":
            return f"source {alert.source_id}"
        case "destination_delivery_rate":
            phrase = f"destination {alert.destination_id}"
            return f"{phrase} from source {alert.source_id}" if alert.source_id else phrase
        case "mapping_delivery_rate":
            return f"mapping {alert.mapping_id}"
        case "activation_volume":
            return f"audience {alert.audience_id} to destination {alert.destination_id}"
        case "audience_size":
            phrase = f"audience {alert.audience_id}"
            return f"{phrase} at destination {alert.destination_id}" if alert.destination_id else phrase
    return alert.id
