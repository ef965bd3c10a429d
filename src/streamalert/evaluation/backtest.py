"""A backtest of an alert over the last days (docs/design.md#preview). Pure: state and `now` passed in.

Every hour boundary of the span is evaluated with the live path's own `evaluate` and `step`, so
the preview decides each hour as the live evaluation at that hour does. An hour whose windows
reach back before what a subject state keeps (`counting.buckets.retained_since`) cannot be
decided from the counts: it is `insufficient_data`, never a guess from a pruned window.

`suggested_threshold` is exact: it tries only the thresholds at which some hour's decision
flips, with the same integer and Fraction comparisons as `decide.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from pydantic import ConfigDict, Field

from streamalert.counting.buckets import SubjectState, retained_since
from streamalert.counting.windows import floor_hour
from streamalert.evaluation.decide import Evaluation, Observed, Status, change_fires, evaluate, rate_fires
from streamalert.evaluation.state import AlertState, Notification, step
from streamalert.kinds import KINDS
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import Percent, StrictRecord, Timestamp
from streamalert.records.outputs import ChangeObserved, RateObserved

MAX_DAYS = 7
STEP = Decimal("0.000001")
"""Thresholds have at most 6 decimals (`alerts.editing.RequestThreshold`)."""
MAX_CHANGE_THRESHOLD = Decimal("999999.999999")
MAX_RATE_THRESHOLD = Decimal(100)


class HourEvaluation(StrictRecord):
    at: Timestamp
    """The hour boundary H the evaluation is at (current window [H - 24 h, H))."""
    state: Status
    observed: Observed | None


class PreviewTransition(StrictRecord):
    at: Timestamp
    state: Notification
    incident: int
    observed: Observed


class Preview(StrictRecord):
    """`POST …/alerts/preview`: what the alert would have decided at every hour of the span."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    evaluations: list[HourEvaluation]
    transitions: list[PreviewTransition]
    fired: int
    """Transitions to firing in the span: incidents opened."""
    from_: Timestamp = Field(alias="from")
    """The first hour evaluated."""
    to: Timestamp
    """The last hour evaluated: the current hour, H of an evaluation now."""
    suggested_threshold_pct: Percent | None
    """See `suggested_threshold`; None when no hour could be decided."""


def preview_hours(now: datetime, days: int) -> list[datetime]:
    """Every hour boundary of the last `days` days, oldest first, ending at the current hour."""
    last = floor_hour(now)
    return [last - timedelta(hours=i) for i in range(days * 24 - 1, -1, -1)]


def reads_from(alert: AlertConfig, evaluation: Evaluation) -> datetime:
    """The earliest instant `evaluate` read the subject state at for `evaluation`."""
    kind = KINDS[alert.kind]
    if kind.decision == "rate":
        return evaluation.window.start
    if kind.counter == "gauge":  # a gauge is read at the end of each window
        return min(evaluation.window.end, evaluation.baseline_window.end)
    return min(evaluation.window.start, evaluation.baseline_window.start)


def evaluate_at(
    alert: AlertConfig, state: SubjectState | None, at: datetime, kept_since: datetime
) -> Evaluation:
    """`evaluate` at `at`, or `insufficient_data` when it reads before `kept_since`."""
    evaluation = evaluate(alert, state, at)
    if reads_from(alert, evaluation) < kept_since:
        return evaluation.model_copy(update={"status": "insufficient_data", "observed": None})
    return evaluation


def backtest(
    alert: AlertConfig,
    state: SubjectState | None,
    now: datetime,
    days: int,
    kept_since: datetime | None = None,
) -> Preview:
    """The state at every hour of the last `days` days, stepped from no state at the first hour.

    `kept_since`: the oldest instant `state` holds exactly; by default what counting keeps at
    `now` (`retained_since`)."""
    hours = preview_hours(now, days)
    kept = kept_since if kept_since is not None else retained_since(now)
    previous: AlertState | None = None
    evaluations: list[HourEvaluation] = []
    transitions: list[PreviewTransition] = []
    for hour in hours:
        evaluation = evaluate_at(alert, state, hour, kept)
        previous, transition = step(previous, alert, evaluation, hour)
        evaluations.append(HourEvaluation(at=hour, state=evaluation.status, observed=evaluation.observed))
        if transition is not None:
            transitions.append(
                PreviewTransition(
                    at=hour,
                    state=transition.state,
                    incident=transition.incident,
                    observed=transition.observed,
                )
            )
    observed = [evaluation.observed for evaluation in evaluations]
    return Preview(
        evaluations=evaluations,
        transitions=transitions,
        # Incidents, not firing events: a mute's expiry notification fires an incident again.
        fired=len({transition.incident for transition in transitions if transition.state == "firing"}),
        from_=hours[0],
        to=hours[-1],
        suggested_threshold_pct=suggested_threshold(KINDS[alert.kind].decision == "rate", observed),
    )


def incidents(firing: Sequence[bool | None]) -> int:
    """Transitions to firing in a sequence of decisions (True firing, False ok, None insufficient
    data), by the state machine's rule (`state.step`): insufficient data closes no incident."""
    count, is_open = 0, False
    for decision in firing:
        if decision is True and not is_open:
            count, is_open = count + 1, True
        elif decision is False:
            is_open = False
    return count


def _decisions(observed: Sequence[Observed | None], threshold: Decimal) -> list[bool | None]:
    """Each hour's decision at `threshold`, by `decide.py`'s own comparisons."""
    decisions: list[bool | None] = []
    for value in observed:
        if isinstance(value, RateObserved):
            decisions.append(rate_fires(value.delivered, value.failed, threshold))
        elif isinstance(value, ChangeObserved):
            decisions.append(change_fires(value.current, value.baseline, threshold))
        else:
            decisions.append(None)
    return decisions


def _at_step(value: Fraction, up: bool) -> Decimal:
    """`value` rounded to a multiple of STEP, up or down, exactly."""
    steps = value / Fraction(STEP)
    whole = -(-steps.numerator // steps.denominator) if up else steps.numerator // steps.denominator
    return (whole * STEP).quantize(STEP)


def suggested_threshold(rate: bool, observed: Sequence[Observed | None]) -> Decimal | None:
    """The most sensitive threshold that would have fired at most once over `observed`, and at
    most once for every less sensitive threshold too; None when no hour could be decided.

    Most sensitive: the smallest for a change (fires when |change| > threshold), the largest for
    a rate (fires when the rate < threshold). "Every less sensitive one too", because a threshold
    low enough to fire at every hour fires once and stays firing: the smallest threshold with at
    most one firing would then be one that is never quiet. Thresholds are the valid ones
    (multiples of 0.000001 above 0; at most 100 for a rate). The count can change only where an
    hour's decision flips, so those thresholds are the only candidates: between two of them
    every threshold decides every hour alike.
    """
    if all(value is None for value in observed):
        return None
    if rate:
        # rate < t flips to firing at the smallest valid t above the rate.
        flips = {
            _at_step(Fraction(v.delivered * 100, v.delivered + v.failed), up=False) + STEP
            for v in observed
            if isinstance(v, RateObserved)
        }
        rising = sorted({STEP} | {t for t in flips if t <= MAX_RATE_THRESHOLD})
        for i, threshold in enumerate(rising):  # least sensitive first
            if incidents(_decisions(observed, threshold)) > 1:
                return rising[i] - STEP if i > 0 else None
        return MAX_RATE_THRESHOLD
    # |change| > t flips to quiet at the smallest valid t at or above |change|.
    flips = {
        max(_at_step(abs(Fraction((v.current - v.baseline) * 100, v.baseline)), up=True), STEP)
        for v in observed
        if isinstance(v, ChangeObserved)
    }
    answer: Decimal | None = None
    for threshold in sorted({STEP} | flips, reverse=True):  # least sensitive first
        if incidents(_decisions(observed, threshold)) > 1:
            break
        answer = threshold
    return answer if answer is not None and answer <= MAX_CHANGE_THRESHOLD else None
