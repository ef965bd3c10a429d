from datetime import UTC, datetime, timedelta

import pytest

from streamalert.counting.windows import accepted_time_range, floor_hour, windows_at


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


def test_accepted_range_runs_from_baseline_start_to_five_minutes_ahead() -> None:
    now = at("2026-11-28T09:42:00Z")
    oldest, newest = accepted_time_range(now)
    assert oldest == at("2026-11-26T09:00:00Z")
    assert newest == now + timedelta(minutes=5)
