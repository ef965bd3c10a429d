"""The delivery log's memory bound: what is remembered, what is forgotten, and what it still knows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamalert.notify.log import CLOCK_SKEW, FINAL_HORIZON, FINAL_LIMIT, FinalKeys
from streamalert.settings import Settings
from streamalert.topics import catalogue, topic_name

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def key(n: int) -> tuple[str, str, str]:
    return (f"event-{n}", "slack", "#alerts via https://hooks.slack.com/****abcd")


def test_the_horizon_is_the_retention_of_deliveries() -> None:
    settings = Settings()
    (spec,) = [t for t in catalogue(settings) if t.name == topic_name(settings, "deliveries")]
    assert int(spec.config["retention.ms"]) == FINAL_HORIZON.total_seconds() * 1000
    assert FinalKeys().limit == FINAL_LIMIT


def test_at_most_limit_pairs_are_kept_oldest_forgotten_first() -> None:
    keys = FinalKeys(limit=3)
    for n in range(5):
        keys.add(key(n), T0 + timedelta(minutes=n))
    assert len(keys) == 3
    assert [key(n) in keys for n in range(5)] == [False, False, True, True, True]
    assert keys.forgotten_until == T0 + timedelta(minutes=1)


def test_pairs_older_than_the_horizon_expire() -> None:
    keys = FinalKeys(limit=100, horizon=timedelta(hours=1))
    keys.add(key(0), T0)
    keys.add(key(1), T0 + timedelta(minutes=30))
    keys.add(key(2), T0 + timedelta(minutes=61))  # key 0 is now more than an hour old
    assert (key(0) in keys, key(1) in keys, key(2) in keys) == (False, True, True)
    assert keys.forgotten_until == T0


def test_a_repeated_pair_is_kept_once_with_its_latest_time() -> None:
    keys = FinalKeys(limit=2)
    keys.add(key(0), T0)
    keys.add(key(1), T0 + timedelta(minutes=1))
    keys.add(key(0), T0 + timedelta(minutes=2))  # key 0 is the newest now
    keys.add(key(2), T0 + timedelta(minutes=3))
    assert (key(0) in keys, key(1) in keys, key(2) in keys) == (True, False, True)


def test_nothing_forgotten_nothing_unknown_within_the_horizon() -> None:
    keys = FinalKeys(limit=10)
    now = T0 + timedelta(days=1)
    assert not keys.forgets(T0, now)
    assert keys.forgets(now - FINAL_HORIZON - timedelta(seconds=1), now)


def test_an_event_newer_than_everything_forgotten_is_still_answered_exactly() -> None:
    """Every final attempt of an event comes after the event occurred: when an event occurred
    after the newest forgotten attempt (plus the clock margin), none of its pairs was forgotten."""
    keys = FinalKeys(limit=2)
    now = T0 + timedelta(hours=1)
    for n in range(4):
        keys.add(key(n), T0 + timedelta(minutes=10 * n))  # pairs 0 and 1 are forgotten
    forgotten = T0 + timedelta(minutes=10)
    assert keys.forgotten_until == forgotten
    assert keys.forgets(forgotten, now)  # its final record may be gone
    assert keys.forgets(forgotten + CLOCK_SKEW, now)
    assert not keys.forgets(forgotten + CLOCK_SKEW + timedelta(seconds=1), now)
    # The events kept are still known as final, so they are not delivered again.
    assert key(2) in keys and key(3) in keys


def test_memory_stays_bounded_under_a_flood() -> None:
    keys = FinalKeys(limit=1000)
    for n in range(20_000):
        keys.add(key(n), T0 + timedelta(seconds=n))
    assert len(keys) == 1000
    assert key(19_999) in keys and key(18_999) not in keys
