"""The counting pipeline through crash points, without Kafka: counts stay exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streamalert.counting.buckets import SubjectState, window_total
from streamalert.counting.pipeline import CountingPipeline, Delivered
from streamalert.ingest.validation import Position, home_partition, parse_pipeline_event
from streamalert.kinds import KINDS
from streamalert.records import DeadLetter
from tests.fakes import CrashAfter, Killed, MemoryPartition, MemorySink, MemoryStore, run_counting

PARTITIONS = 4
NOW = datetime(2026, 11, 28, 9, 42, tzinfo=UTC)
TOPIC = "pipeline-events"


def event_value(source: str, count: int, minutes_ago: int = 5) -> bytes:
    return orjson.dumps(
        {
            "type": "source_events",
            "workspace_id": "w",
            "source_id": source,
            "timestamp": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
            "count": count,
        }
    )


def topic(records: list[tuple[bytes | None, bytes, int | None]]) -> dict[int, MemoryPartition]:
    """(key, value, partition or None for the key's own) appended in order."""
    partitions = {p: MemoryPartition() for p in range(PARTITIONS)}
    for key, value, forced in records:
        number = forced if forced is not None else home_partition(key or b"", PARTITIONS)
        part = partitions[number]
        part.records.append(Delivered(key, value, Position(TOPIC, number, len(part.records))))
    return partitions


def total(store: MemoryStore, source: str) -> int:
    raw = store.get(KINDS["source_volume"].key("w", source).encode())
    state = SubjectState.from_bytes(raw) if raw is not None else None
    hour = NOW.replace(minute=0)
    return window_total(state, hour - timedelta(hours=24), hour + timedelta(hours=1))


SOURCES = [f"s{i}" for i in range(12)]
RECORDS = [(s.encode(), event_value(s, 1 + i % 5), None) for i in range(60) for s in [SOURCES[i % 12]]]
EXPECTED = {s: sum(1 + i % 5 for i in range(60) if SOURCES[i % 12] == s) for s in SOURCES}


async def test_counts_each_record_once() -> None:
    store, sink = MemoryStore(), MemorySink()
    await run_counting(
        CountingPipeline(parse_pipeline_event, PARTITIONS, sink), store, topic(RECORDS), NOW, 7
    )
    assert {s: total(store, s) for s in SOURCES} == EXPECTED
    assert sink.sent == []


@pytest.mark.parametrize("crash_after", [0, 1, 3, 5, 8, 11])
@pytest.mark.parametrize("batch", [1, 4, 100])
async def test_a_crash_mid_batch_and_its_replay_keep_counts_exact(crash_after: int, batch: int) -> None:
    # The worker dies after some subjects of a batch were written, before the batch was
    # acknowledged: the restarted one reads the whole batch again and must not count it twice.
    store, sink = MemoryStore(crash=CrashAfter(crash_after)), MemorySink()
    partitions = topic(RECORDS)
    pipeline = CountingPipeline(parse_pipeline_event, PARTITIONS, sink)
    with pytest.raises(Killed):
        await run_counting(pipeline, store, partitions, NOW, batch)
    assert sum(p.committed for p in partitions.values()) < len(RECORDS)
    store.crash = CrashAfter()
    await run_counting(pipeline, store, partitions, NOW, batch)
    assert {s: total(store, s) for s in SOURCES} == EXPECTED


async def test_replaying_a_counted_batch_changes_nothing() -> None:
    store, sink = MemoryStore(), MemorySink()
    partitions = topic(RECORDS)
    pipeline = CountingPipeline(parse_pipeline_event, PARTITIONS, sink)
    await run_counting(pipeline, store, partitions, NOW)
    before = dict(store.data)
    for part in partitions.values():
        part.committed = 0  # e.g. the commit was lost with the worker
    await run_counting(pipeline, store, partitions, NOW)
    assert store.data == before


async def test_unusable_records_are_dead_lettered_before_the_batch_is_acknowledged() -> None:
    good = b"s1"
    wrong = next(p for p in range(PARTITIONS) if p != home_partition(good, PARTITIONS))
    records = [
        (good, event_value("s1", 2), None),
        (good, b"not json", None),
        (good, event_value("s1", 3), wrong),  # on another partition than its key's
        (good, event_value("s1", 4), None),
    ]
    store, sink = MemoryStore(), MemorySink(failures=3)  # the first three sends fail: retried
    await run_counting(CountingPipeline(parse_pipeline_event, PARTITIONS, sink), store, topic(records), NOW)
    assert total(store, "s1") == 6
    letters = [DeadLetter.model_validate_json(value) for _, value in sink.sent]
    assert sorted((letter.partition, letter.offset) for letter in letters) == sorted(
        [(home_partition(good, PARTITIONS), 1), (wrong, 0)]
    )
    assert all(key == good for key, _ in sink.sent)
    assert any("belongs to partition" in letter.reason for letter in letters)


async def test_an_unreadable_stored_state_sends_its_records_to_dead_letter() -> None:
    store, sink = MemoryStore(), MemorySink()
    store.data[KINDS["source_volume"].key("w", "s1").encode()] = b'{"c": "?"}'
    records = [(b"s1", event_value("s1", 2), None), (b"s2", event_value("s2", 5), None)]
    await run_counting(CountingPipeline(parse_pipeline_event, PARTITIONS, sink), store, topic(records), NOW)
    assert total(store, "s2") == 5
    letters = [DeadLetter.model_validate_json(value) for _, value in sink.sent]
    assert [(letter.key, letter.reason) for letter in letters] == [("s1", "could not be counted: KeyError")]


async def test_a_state_stored_with_its_partition_still_loads_and_counts_on() -> None:
    # States written before the partition became the key's home partition carry it as "p".
    store, sink = MemoryStore(), MemorySink()
    await run_counting(
        CountingPipeline(parse_pipeline_event, PARTITIONS, sink), store, topic(RECORDS[:12]), NOW
    )
    key = KINDS["source_volume"].key("w", "s1").encode()
    stored = SubjectState.from_bytes(store.data[key]).to_json_bytes()  # as such states were written
    old = orjson.loads(stored) | {"p": home_partition(b"s1", PARTITIONS)}
    store.data[key] = orjson.dumps(old)
    partitions = topic(RECORDS[:24])
    partitions[home_partition(b"s1", PARTITIONS)].committed = 1  # s1's first record was counted
    await run_counting(CountingPipeline(parse_pipeline_event, PARTITIONS, sink), store, partitions, NOW)
    assert total(store, "s1") == EXPECTED_24["s1"]
    assert store.data[key][:1] != b"{"  # written back in the binary form, without "p"


EXPECTED_24 = {s: sum(1 + i % 5 for i in range(24) if SOURCES[i % 12] == s) for s in SOURCES}
