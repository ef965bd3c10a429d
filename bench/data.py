"""The benchmark data, generated from a seed so that every run sends the same records."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson

from bench.common import partition_of
from streamalert.counting.buckets import SubjectState, hour_index
from streamalert.counting.windows import floor_hour
from streamalert.kinds import KINDS
from streamalert.records.common import format_timestamp

WORKSPACE = "ws-bench"
BUCKETS = 49
"""Hours a subject holds after 48 h of traffic: the baseline and current windows and this hour."""


def subject_id(index: int) -> str:
    return f"source-{index:06d}"


def source_events(
    records: int,
    subjects: int,
    partitions: int,
    seed: int,
    count: int = 1,
    now: datetime | None = None,
    ordered: bool = False,
) -> Iterator[tuple[int, bytes, bytes]]:
    """`records` source_events records over `subjects` sources: (partition, key, value).

    Event times are spread over the 23 hours before `now`, so every record stays inside the
    accepted range (the baseline window start) for the whole run. `ordered`: subject
    `i % subjects` for record `i` (each subject once per round) instead of a random one.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    newest = now - timedelta(minutes=1)
    span_ms = int(timedelta(hours=23).total_seconds() * 1000)
    keys = [subject_id(i).encode() for i in range(subjects)]
    where = [partition_of(key, partitions) for key in keys]
    for number in range(records):
        index = number % subjects if ordered else rng.randrange(subjects)
        moment = newest - timedelta(milliseconds=rng.randrange(span_ms))
        value = {
            "type": "source_events",
            "workspace_id": WORKSPACE,
            "source_id": subject_id(index),
            "timestamp": format_timestamp(moment),
        }
        if count != 1:
            value["count"] = count
        yield where[index], keys[index], orjson.dumps(value)


def subject_states(
    subjects: int, partitions: int, seed: int, now: datetime | None = None
) -> Iterator[tuple[int, bytes, bytes]]:
    """One `counts` changelog record per source holding 48 h of hourly buckets (49 buckets).

    This is what the counting agent itself writes for a source that had traffic in every hour
    of the last 48 (a changelog compacted to one record per key); (partition, key, value).
    """
    rng = random.Random(seed)
    first = hour_index(floor_hour(now or datetime.now(UTC))) - (BUCKETS - 1)
    for index in range(subjects):
        subject = subject_id(index)
        partition = partition_of(subject.encode(), partitions)
        state = SubjectState(
            counter="events",
            applied_offset=rng.randrange(10_000_000),
            base=first,
            values=[rng.randrange(2_000) for _ in range(BUCKETS)],
        )
        yield partition, KINDS["source_volume"].key(WORKSPACE, subject).encode(), state.to_bytes()
