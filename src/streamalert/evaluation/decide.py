"""Exact alert decisions (docs/design.md#alerts). Pure: the subject's state and `now` are passed in.

Decisions compare integers and `Fraction`s by cross-multiplication, never binary floats, so a
change or rate exactly equal to the threshold never fires. The rounded percentages in the
observed values are for people and are never used to decide.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from streamalert.counting.buckets import SubjectState, gauge_at, window_outcomes, window_total
from streamalert.counting.windows import windows_at
from streamalert.kinds import KINDS, Baseline
from streamalert.records.alerts import AlertConfig
from streamalert.records.outputs import ChangeObserved, RateObserved, Window

Status = Literal["ok", "firing", "insufficient_data"]
Observed = ChangeObserved | RateObserved


class Evaluation(BaseModel):
    """The outcome of evaluating one alert at one instant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    baseline: Baseline = "previous_day"
    window: Window
    """The current window [H - 24h, H)."""
    baseline_window: Window
    """The baseline window: [H - 48h, H - 24h), or [H - 192h, H - 168h) a week back."""
    observed: Observed | None
    """None when the data is insufficient."""


def percent(value: Fraction) -> Decimal:
    """`value` as a Decimal rounded half-even to 2 places, computed exactly (no float)."""
    return Decimal(f"{round(value * 100)}E-2")


def change_fires(current: int, baseline: int, threshold: Decimal) -> bool:
    """|current - baseline| / baseline * 100 > threshold, exactly; baseline must be positive."""
    if baseline <= 0:
        raise ValueError("a change needs a positive baseline")
    return abs(current - baseline) * 100 > Fraction(threshold) * baseline


def rate_fires(delivered: int, failed: int, threshold: Decimal) -> bool:
    """delivered / (delivered + failed) * 100 < threshold, exactly; needs at least one attempt."""
    attempts = delivered + failed
    if attempts <= 0:
        raise ValueError("a rate needs at least one attempt")
    return delivered * 100 < Fraction(threshold) * attempts


def change_observed(current: int, baseline: int) -> ChangeObserved:
    return ChangeObserved(
        current=current, baseline=baseline, change_pct=percent(Fraction((current - baseline) * 100, baseline))
    )


def rate_observed(delivered: int, failed: int) -> RateObserved:
    return RateObserved(
        delivered=delivered,
        failed=failed,
        success_rate_pct=percent(Fraction(delivered * 100, delivered + failed)),
    )


def evaluate(alert: AlertConfig, state: SubjectState | None, now: datetime) -> Evaluation:
    """Evaluate `alert` against its subject's state at wall time `now` (docs/design.md#alerts).

    Whether the alert is enabled is the caller's concern: disabled alerts are not evaluated.
    """
    windows = windows_at(now, alert.baseline)
    current_window = Window(start=windows.current_start, end=windows.current_end)
    baseline_window = Window(start=windows.baseline_start, end=windows.baseline_end)

    def result(status: Status, observed: Observed | None) -> Evaluation:
        return Evaluation(
            status=status,
            baseline=alert.baseline,
            window=current_window,
            baseline_window=baseline_window,
            observed=observed,
        )

    threshold = alert.threshold_pct
    kind = KINDS[alert.kind]
    if kind.decision == "rate":
        delivered, failed = window_outcomes(state, windows.current_start, windows.current_end)
        if delivered + failed == 0:
            return result("insufficient_data", None)
        firing = rate_fires(delivered, failed, threshold)
        return result("firing" if firing else "ok", rate_observed(delivered, failed))

    current: int | None
    baseline: int | None
    if kind.counter == "gauge":
        current = gauge_at(state, windows.current_end)
        baseline = gauge_at(state, windows.baseline_end)
    else:
        current = window_total(state, windows.current_start, windows.current_end)
        baseline = window_total(state, windows.baseline_start, windows.baseline_end)
    if current is None or not baseline:
        return result("insufficient_data", None)
    firing = change_fires(current, baseline, threshold)
    return result("firing" if firing else "ok", change_observed(current, baseline))
