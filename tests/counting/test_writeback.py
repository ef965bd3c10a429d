"""The counting write-back: changelog writes coalesced per subject, acks only for owned partitions."""

from __future__ import annotations

import pytest

from streamalert.counting.writeback import WriteBack


def test_a_subject_written_many_times_is_flushed_once_with_its_latest_value() -> None:
    writeback: WriteBack[str] = WriteBack()
    for n in range(40):
        writeback.mark(3, b"src-1", str(n).encode(), now=0.0)
    writeback.hold(3, [f"r{n}" for n in range(40)], now=0.0)
    [flush] = writeback.take()
    assert (flush.partition, flush.values, len(flush.held)) == (3, {b"src-1": b"39"}, 40)
    assert writeback.take() == [] and writeback.held_count == 0


@pytest.mark.parametrize(
    ("held", "elapsed", "due"),
    [
        (0, 99.0, False),  # nothing to flush
        (1, 0.0, False),
        (1, 1.99, False),
        (1, 2.0, True),  # the oldest change waited FLUSH_EVERY
        (10, 0.0, True),  # max_held reached
        (9, 0.5, False),
    ],
)
def test_a_flush_is_due_after_the_interval_or_when_too_much_is_held(
    held: int, elapsed: float, due: bool
) -> None:
    writeback: WriteBack[int] = WriteBack(flush_every=2.0, max_held=10)
    if held:
        writeback.hold(0, list(range(held)), now=100.0)
    assert writeback.due(100.0 + elapsed) is due


def test_partitions_flush_apart() -> None:
    writeback: WriteBack[str] = WriteBack()
    writeback.mark(1, b"a", b"1", now=0.0)
    writeback.mark(2, b"b", b"2", now=0.0)
    writeback.hold(1, ["x"], now=0.0)
    writeback.hold(2, ["y", "z"], now=0.0)
    flushes = {f.partition: f for f in writeback.take()}
    assert flushes[1].values == {b"a": b"1"} and flushes[1].held == ["x"]
    assert flushes[2].values == {b"b": b"2"} and flushes[2].held == ["y", "z"]


def test_a_revoked_partition_forgets_what_it_held_and_voids_flushes_in_flight() -> None:
    writeback: WriteBack[str] = WriteBack()
    writeback.mark(1, b"a", b"1", now=0.0)
    writeback.hold(1, ["x"], now=0.0)
    [in_flight] = writeback.take()
    writeback.mark(1, b"a", b"2", now=1.0)
    writeback.hold(1, ["y"], now=1.0)
    writeback.mark(2, b"b", b"1", now=1.0)
    writeback.hold(2, ["z"], now=1.0)
    writeback.revoke({1})
    assert not writeback.still_owned(in_flight)  # its records must not be acknowledged
    [left] = writeback.take()
    assert (left.partition, left.held, writeback.held_count) == (2, ["z"], 0)
    # work begun before the revoke is void; after it, the partition is owned anew
    writeback.mark(1, b"a", b"3", now=2.0)
    [anew] = writeback.take()
    assert writeback.still_owned(anew)


def test_a_failed_flush_goes_into_the_next_one_without_overwriting_newer_values() -> None:
    writeback: WriteBack[str] = WriteBack()
    writeback.mark(0, b"a", b"1", now=0.0)
    writeback.mark(0, b"b", b"1", now=0.0)
    writeback.hold(0, ["x"], now=0.0)
    [failed] = writeback.take()
    writeback.mark(0, b"a", b"2", now=1.0)  # counted again meanwhile: carries the older effects
    writeback.hold(0, ["y"], now=1.0)
    writeback.retry(failed, now=1.5)
    [next_flush] = writeback.take()
    assert next_flush.values == {b"a": b"2", b"b": b"1"}
    assert sorted(next_flush.held) == ["x", "y"]


def test_a_failed_flush_of_a_revoked_partition_is_not_retried() -> None:
    writeback: WriteBack[str] = WriteBack()
    writeback.mark(0, b"a", b"1", now=0.0)
    writeback.hold(0, ["x"], now=0.0)
    [failed] = writeback.take()
    writeback.revoke({0})
    writeback.retry(failed, now=1.0)
    assert writeback.take() == [] and not writeback.due(100.0)
