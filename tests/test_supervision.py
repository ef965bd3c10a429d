"""The stuck rule: records wait and the committed offset has not moved for `stuck_after`, or a
partition has not been fetched once for that long."""

from __future__ import annotations

import pytest

from streamalert.supervision import ProgressTracker

# (seconds, committed, highwater) samples of one partition, and whether the last one is stuck.
CASES = [
    ("idle partition", [(0, 5, 5), (100, 5, 5)], False),
    ("nothing ever read on an empty partition", [(0, None, 0), (100, None, None)], False),
    ("records wait, but not long enough", [(0, 5, 9), (9.9, 5, 9)], False),
    ("records wait and nothing moves", [(0, 5, 9), (10, 5, 9)], True),
    ("progress resets the clock", [(0, 5, 9), (8, 6, 9), (15, 6, 9)], False),
    ("progress, then nothing moves again", [(0, 5, 9), (8, 6, 9), (18, 6, 9)], True),
    ("caught up in between", [(0, 5, 9), (5, 9, 9), (6, 9, 12), (15, 9, 12)], False),
    ("nothing read or committed: not judged", [(0, None, 3), (10, None, 3)], False),
    ("read but never committed, records wait", [(0, -1, 3), (10, -1, 3)], True),
    ("read, then the first commit", [(0, -1, 3), (8, 3, 3), (20, 3, 3)], False),
    ("new records do not count as progress", [(0, 5, 9), (5, 5, 20), (10, 5, 30)], True),
    ("never fetched since assignment", [(0, None, None), (10, None, None)], True),
    ("never fetched, not for long", [(0, None, None), (9.9, None, None)], False),
    ("fetched at last", [(0, None, None), (5, None, 0), (20, None, 0)], False),
]


@pytest.mark.parametrize(("samples", "stuck"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_stuck_when_records_wait_without_progress(
    samples: list[tuple[float, int | None, int | None]], stuck: bool
) -> None:
    tracker = ProgressTracker(stuck_after=10)
    verdicts = [tracker.observe("p0", committed, highwater, now) for now, committed, highwater in samples]
    assert verdicts[-1] is stuck
    assert not any(verdicts[:-1]) or stuck  # a case is stuck only at its end


def test_partitions_are_judged_apart_and_forgotten_when_no_longer_assigned() -> None:
    tracker = ProgressTracker(stuck_after=10)
    tracker.observe("p0", 5, 9, 0)
    tracker.observe("p1", 5, 9, 0)
    assert tracker.observe("p0", 5, 9, 10) is True
    assert tracker.observe("p1", 6, 9, 10) is False
    tracker.keep_only({"p1"})
    # p0 comes back (reassigned): its clock starts again.
    assert tracker.observe("p0", 5, 9, 11) is False
    assert tracker.observe("p0", 5, 9, 21) is True
