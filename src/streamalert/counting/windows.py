"""Window arithmetic (docs/design.md#alerts). Pure functions; "now" is always passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from streamalert.kinds import Baseline

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
WEEK = 7 * DAY
FUTURE_TOLERANCE = timedelta(minutes=5)

BASELINE_LAG: dict[Baseline, timedelta] = {"previous_day": DAY, "same_day_last_week": WEEK}
"""How far the baseline window's end lies before the current window's end."""

RETENTION = 15 * DAY
"""How far back a subject's hourly buckets reach from H: the oldest baseline window start
(H - 192 h, a week-over-week baseline) plus a week, so a 7-day backtest with that baseline
finds every hour it reads (7 days + 8 days)."""


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Windows:
    """The two windows an evaluation at wall time T compares, with H = T floored to the hour."""

    current_start: datetime
    current_end: datetime
    baseline_start: datetime
    baseline_end: datetime


def windows_at(now: datetime, baseline: Baseline = "previous_day") -> Windows:
    """Current [H - 24 h, H); baseline [H - 48 h, H - 24 h) for `previous_day`,
    [H - 192 h, H - 168 h) for `same_day_last_week`."""
    hour = floor_hour(now)
    lag = BASELINE_LAG[baseline]
    return Windows(
        current_start=hour - DAY,
        current_end=hour,
        baseline_start=hour - lag - DAY,
        baseline_end=hour - lag,
    )


def retention_start(now: datetime) -> datetime:
    """The oldest hour a subject's state keeps: H - 15 days."""
    return floor_hour(now) - RETENTION


@lru_cache(maxsize=8)  # called per record with the batch's `now`
def accepted_time_range(now: datetime) -> tuple[datetime, datetime]:
    """Event times an input record may carry: from the retention start (H - 15 days) to 5
    minutes ahead."""
    return retention_start(now), now.astimezone(UTC) + FUTURE_TOLERANCE
