"""Window arithmetic (docs/design.md#alerts). Pure functions; "now" is always passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
FUTURE_TOLERANCE = timedelta(minutes=5)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Windows:
    """The two windows an evaluation at wall time T compares, with H = T floored to the hour."""

    current_start: datetime
    current_end: datetime
    baseline_start: datetime
    baseline_end: datetime


def windows_at(now: datetime) -> Windows:
    hour = floor_hour(now)
    return Windows(
        current_start=hour - DAY,
        current_end=hour,
        baseline_start=hour - 2 * DAY,
        baseline_end=hour - DAY,
    )


def accepted_time_range(now: datetime) -> tuple[datetime, datetime]:
    """Event times an input record may carry: from the baseline window start to 5 minutes ahead."""
    return windows_at(now).baseline_start, now.astimezone(UTC) + FUTURE_TOLERANCE
