"""Reconciling an alert's incident bookkeeping with what alert-fired already holds."""

import pytest

from streamalert.evaluation.published import LatestEvent, PartitionLog, adopt_published
from streamalert.evaluation.state import AlertState, event_id


@pytest.mark.parametrize(
    ("state", "latest", "expected"),
    [
        # Nothing published: the state stands.
        ((2, True), None, (2, True)),
        # The log agrees with the state.
        ((1, True), LatestEvent(1, "firing"), (1, True)),
        ((1, False), LatestEvent(1, "resolved"), (1, False)),
        # A firing was published but its state write was lost in a crash.
        ((0, False), LatestEvent(1, "firing"), (1, True)),
        ((1, False), LatestEvent(2, "firing"), (2, True)),
        # A resolve was published but its state write was lost.
        ((1, True), LatestEvent(1, "resolved"), (1, False)),
        ((1, True), LatestEvent(2, "resolved"), (2, False)),
    ],
)
def test_adopt_published(
    state: tuple[int, bool], latest: LatestEvent | None, expected: tuple[int, bool]
) -> None:
    incident, is_open = state
    adopted = adopt_published(AlertState(incident=incident, open=is_open), latest)
    assert adopted is not None
    assert (adopted.incident, adopted.open) == expected


def test_no_state_yet_takes_the_published_incident() -> None:
    assert adopt_published(None, None) is None
    adopted = adopt_published(None, LatestEvent(3, "firing"))
    assert adopted is not None and (adopted.incident, adopted.open) == (3, True)


def test_the_partition_log_keeps_the_latest_event_per_alert() -> None:
    log = PartitionLog()
    log.add("a", 1, "firing")
    log.add("a", 1, "resolved")
    log.add("a", 1, "firing")  # a re-read of an older event changes nothing
    log.add("b", 1, "firing")
    assert log.latest["a"] == LatestEvent(1, "resolved")
    assert log.latest["b"] == LatestEvent(1, "firing")
    assert log.holds("a", 1, "firing") and log.holds("a", 1, "resolved")
    assert not log.holds("a", 2, "firing") and not log.holds("b", 1, "resolved")
    assert not log.holds("c", 1, "firing")


def test_memory_is_one_entry_per_alert_however_many_events() -> None:
    log = PartitionLog()
    for incident in range(1, 5001):
        log.add("a", incident, "firing")
        log.add("a", incident, "resolved")
    assert log.events_read == 10000
    assert log.latest == {"a": LatestEvent(5000, "resolved")}


SEQUENCE = [(incident, state) for incident in (1, 2, 3) for state in ("firing", "resolved")]


def state_after(published: int) -> AlertState | None:
    """The state that records the first `published` events of SEQUENCE."""
    if published == 0:
        return None
    incident, state = SEQUENCE[published - 1]
    return AlertState(incident=incident, open=state == "firing")


REPLAYS = [
    (published, lag, status)
    for published in range(len(SEQUENCE) + 1)
    for lag in (0, 1)
    for status in ("firing", "ok")
    if lag <= published
]


@pytest.mark.parametrize(("published", "state_lag", "status"), REPLAYS)
def test_a_replay_publishes_exactly_once_with_only_the_latest_event(
    published: int, state_lag: int, status: str
) -> None:
    """However far alert-fired got and whether the state write after the last event was lost
    (a crash in between), the next transition is published iff it is not already there, the same
    answer a set of every published event id gives."""
    log = PartitionLog()
    ids: set[str] = set()
    for incident, state in SEQUENCE[:published]:
        log.add("a", incident, state)
        ids.add(event_id("a", incident, state))  # type: ignore[arg-type]
    previous = adopt_published(state_after(published - state_lag), log.latest.get("a"))
    before = previous or AlertState()
    # The adopted state stands where alert-fired does.
    assert (before.incident, before.open) == (
        (SEQUENCE[published - 1][0], SEQUENCE[published - 1][1] == "firing") if published else (0, False)
    )
    # What step() does: a firing opens the next incident, an ok closes the open one.
    if status == "firing" and not before.open:
        transition = (before.incident + 1, "firing")
    elif status == "ok" and before.open:
        transition = (before.incident, "resolved")
    else:
        return  # no transition: nothing to publish (the adoption above was checked)
    assert log.holds("a", *transition) == (event_id("a", *transition) in ids)  # type: ignore[arg-type]
    assert not log.holds("a", *transition)  # a transition after adoption is always new
