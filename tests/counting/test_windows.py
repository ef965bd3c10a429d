from datetime import UTC, datetime, timedelta

import pytest

from streamalert.counting.windows import (
    DAY,
    RETENTION,
    accepted_time_range,
    floor_hour,
    retention_start,
    windows_at,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "hour"),
    [
        ("2026-11-28T09:00:00Z", "2026-11-28T09:00:00Z"),
        ("2026-11-28T09:59:59.999Z", "2026-11-28T09:00:00Z"),
        ("2026-11-28T10:30:00+01:00", "2026-11-28T09:00:00Z"),
        ("2026-11-28T00:00:01Z", "2026-11-28T00:00:00Z"),
    ],
)
def test_floor_hour(now: str, hour: str) -> None:
    assert floor_hour(at(now)) == at(hour)


def test_windows_are_the_last_two_whole_days_before_the_hour() -> None:
    windows = windows_at(at("2026-11-28T09:42:00Z"))
    assert windows.current_start == at("2026-11-27T09:00:00Z")
    assert windows.current_end == at("2026-11-28T09:00:00Z")
    assert windows.baseline_start == at("2026-11-26T09:00:00Z")
    assert windows.baseline_end == windows.current_start


@pytest.mark.parametrize(
    ("now", "baseline", "current_start", "current_end", "baseline_start", "baseline_end"),
    [
        # the default: the 24 hours before the current window
        (
            "2026-11-30T09:42:00Z",
            "previous_day",
            "2026-11-29T09",
            "2026-11-30T09",
            "2026-11-28T09",
            "2026-11-29T09",
        ),
        # a week over week: [H - 192 h, H - 168 h)
        (
            "2026-11-30T09:42:00Z",
            "same_day_last_week",
            "2026-11-29T09",
            "2026-11-30T09",
            "2026-11-22T09",
            "2026-11-23T09",
        ),
        # exactly on the hour: H is now itself
        (
            "2026-11-30T00:00:00Z",
            "same_day_last_week",
            "2026-11-29T00",
            "2026-11-30T00",
            "2026-11-22T00",
            "2026-11-23T00",
        ),
        # a microsecond before the hour: still the hour before
        (
            "2026-11-29T23:59:59.999999Z",
            "same_day_last_week",
            "2026-11-28T23",
            "2026-11-29T23",
            "2026-11-21T23",
            "2026-11-22T23",
        ),
        # an offset is converted to UTC first
        (
            "2026-11-30T10:30:00+01:00",
            "same_day_last_week",
            "2026-11-29T09",
            "2026-11-30T09",
            "2026-11-22T09",
            "2026-11-23T09",
        ),
        # UTC knows no DST: across Europe's and America's switch dates the windows stay 24 h long
        (
            "2026-03-30T02:15:00Z",
            "same_day_last_week",
            "2026-03-29T02",
            "2026-03-30T02",
            "2026-03-22T02",
            "2026-03-23T02",
        ),
        (
            "2026-11-02T06:00:00Z",
            "same_day_last_week",
            "2026-11-01T06",
            "2026-11-02T06",
            "2026-10-25T06",
            "2026-10-26T06",
        ),
        # across a year's end and a leap day
        (
            "2028-01-03T05:10:00Z",
            "same_day_last_week",
            "2028-01-02T05",
            "2028-01-03T05",
            "2027-12-26T05",
            "2027-12-27T05",
        ),
        (
            "2028-03-06T00:30:00Z",
            "same_day_last_week",
            "2028-03-05T00",
            "2028-03-06T00",
            "2028-02-27T00",
            "2028-02-28T00",
        ),
        (
            "2028-03-01T12:00:00Z",
            "previous_day",
            "2028-02-29T12",
            "2028-03-01T12",
            "2028-02-28T12",
            "2028-02-29T12",
        ),
    ],
)
def test_windows_by_baseline(
    now: str, baseline: str, current_start: str, current_end: str, baseline_start: str, baseline_end: str
) -> None:
    windows = windows_at(at(now), baseline)  # type: ignore[arg-type]
    hours = (windows.current_start, windows.current_end, windows.baseline_start, windows.baseline_end)
    assert hours == tuple(
        at(f"{text}:00:00Z") for text in (current_start, current_end, baseline_start, baseline_end)
    )
    assert windows.current_end - windows.current_start == windows.baseline_end - windows.baseline_start == DAY


@pytest.mark.parametrize(("baseline", "lag_hours"), [("previous_day", 24), ("same_day_last_week", 168)])
def test_baseline_ends_the_lag_before_the_current_end(baseline: str, lag_hours: int) -> None:
    for now in ("2026-11-30T09:00:00Z", "2026-11-30T09:59:59.999999Z"):
        windows = windows_at(at(now), baseline)  # type: ignore[arg-type]
        assert windows.current_end - windows.baseline_end == timedelta(hours=lag_hours)
        assert windows.current_end - windows.baseline_start == timedelta(hours=lag_hours + 24)


def test_the_default_baseline_is_the_previous_day() -> None:
    now = at("2026-11-30T09:42:00Z")
    assert windows_at(now) == windows_at(now, "previous_day")


def test_accepted_range_runs_from_the_retention_start_to_five_minutes_ahead() -> None:
    now = at("2026-11-28T09:42:00Z")
    oldest, newest = accepted_time_range(now)
    assert oldest == retention_start(now) == at("2026-11-13T09:00:00Z")  # H - 15 days
    assert newest == now + timedelta(minutes=5)
    # the oldest window read: a week-over-week baseline start, a week back (a 7-day backtest)
    week_ago = windows_at(now - 7 * DAY, "same_day_last_week")
    assert week_ago.baseline_start == oldest == now.replace(minute=0) - RETENTION
