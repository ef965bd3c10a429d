"""The 48 hourly points behind an evaluation, for the alert page's chart. Pure.

The evaluation records them in the alert's state, so any worker can answer from its view of
`alert_states` and the chart shows exactly the data the last decision saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from streamalert.counting.buckets import SubjectState, hourly_series, window_outcomes
from streamalert.counting.windows import HOUR, windows_at
from streamalert.evaluation.decide import percent
from streamalert.evaluation.state import AlertState
from streamalert.kinds import KINDS, AlertKind, Baseline, Measure
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import Percent, StrictRecord, Timestamp

POINTS = 48
"""The baseline window's 24 hours, then the current window's 24 (contiguous with a
`previous_day` baseline, a week apart with `same_day_last_week`)."""


def hourly_points(
    kind: str, subject: SubjectState, now: datetime, baseline: Baseline = "previous_day"
) -> tuple[tuple[int | None, ...], tuple[int, ...]]:
    """(values, failed) for each hour of the baseline window, then of the current window (one run
    of 48 hours with a `previous_day` baseline; two runs of 24 a week apart otherwise).

    Values are the hour's events or delivered outcomes, or for a gauge the size at the hour's
    end (so point 24 is the baseline, point 48 the current size). `failed` is empty unless the
    kind decides on a success rate (an activation volume counts delivered outcomes only).
    """
    windows = windows_at(now, baseline)
    spans = ((windows.baseline_start, windows.baseline_end), (windows.current_start, windows.current_end))
    values = tuple(value for start, end in spans for _, value in hourly_series(subject, start, end))
    if KINDS[kind].decision != "rate" or subject.counter != "outcomes":
        return values, ()
    hours = (start + i * HOUR for start, _ in spans for i in range(POINTS // 2))
    failed = tuple(window_outcomes(subject, hour, hour + HOUR)[1] for hour in hours)
    return values, failed


class SeriesPoint(StrictRecord):
    hour: Timestamp
    """Start of the hour."""
    window: Literal["baseline", "current"]
    value: int | None
    """Events or delivered outcomes in the hour, or the size at its end; None: size unknown."""
    failed: int | None = None
    """Failed outcomes in the hour (rate kinds)."""
    success_rate_pct: Percent | None = None
    """Delivered of all outcomes in the hour (rate kinds; None when the hour had none)."""


class Series(StrictRecord):
    """`GET …/alerts/{id}/series`: what the last evaluation compared, hour by hour."""

    alert_id: str
    kind: AlertKind
    measure: Measure
    threshold_pct: Percent
    evaluated_at: Timestamp | None
    points: list[SeriesPoint]
    """Empty until the alert has been evaluated on data."""


def series_of(alert: AlertConfig, state: AlertState | None) -> Series:
    points: list[SeriesPoint] = []
    if state is not None and state.baseline_window is not None and len(state.series) == POINTS:
        current = state.window.start if state.window is not None else state.baseline_window.end
        starts = (state.baseline_window.start, current)
        rate = KINDS[alert.kind].decision == "rate" and len(state.series_failed) == POINTS
        for i, value in enumerate(state.series):
            failed = state.series_failed[i] if rate else None
            points.append(
                SeriesPoint(
                    hour=starts[i // (POINTS // 2)] + timedelta(hours=i % (POINTS // 2)),
                    window="baseline" if i < POINTS // 2 else "current",
                    value=value,
                    failed=failed,
                    success_rate_pct=_rate(value, failed),
                )
            )
    return Series(
        alert_id=alert.id,
        kind=alert.kind,
        measure=KINDS[alert.kind].measure,
        threshold_pct=alert.threshold_pct,
        evaluated_at=state.evaluated_at if state is not None else None,
        points=points,
    )


def _rate(delivered: int | None, failed: int | None) -> Percent | None:
    if delivered is None or failed is None or delivered + failed == 0:
        return None
    return percent(Fraction(delivered * 100, delivered + failed))
