"""Reconciling an alert's incident bookkeeping with what alert-fired already holds."""

import pytest

from streamalert.evaluation.published import LatestEvent, PartitionLog, adopt_published
from streamalert.evaluation.state import AlertState


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
    log.add("a", "e1", 1, "firing")
    log.add("a", "e2", 1, "resolved")
    log.add("a", "e1", 1, "firing")  # a re-read of an older event changes nothing
    log.add("b", "e3", 1, "firing")
    assert log.latest["a"] == LatestEvent(1, "resolved")
    assert log.latest["b"] == LatestEvent(1, "firing")
    assert log.event_ids == {"e1", "e2", "e3"}
