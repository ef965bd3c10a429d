"""The counting pipeline, read top to bottom: guard → parse/dead-letter → group → apply → store.

A source (`streamalert.faust_adapter` in the worker, `tests/fakes.py` in tests) hands this
pipeline one partition's records of a batch, in offset order, already past the hole guard,
and acknowledges them after `count_partition` returns. Nothing here knows Faust: the stores
are the small Protocols below. See docs/design.md#counting for the commit order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import orjson

from streamalert.counting.buckets import InputRecord, Item, SubjectState, apply, group_by_key, key_counter
from streamalert.ingest.validation import Position, dead_letter, misrouted
from streamalert.metrics import RECORDS_MISROUTED, RECORDS_REJECTED
from streamalert.records import DeadLetter

log = logging.getLogger(__name__)

Parser = Callable[[bytes | None, bytes | None, Position, datetime], InputRecord | DeadLetter]


@dataclass(frozen=True, slots=True)
class Delivered:
    """One input record as a source delivers it."""

    key: bytes | None
    value: bytes | None
    position: Position


class SubjectStore(Protocol):
    """Subject key → stored `SubjectState` bytes (the `counts` table)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


class DeadLetterSink(Protocol):
    """Where unusable records go; `send` returns once the letter is durably written."""

    async def send(self, key: bytes | None, value: bytes) -> None: ...


# --- stage 1, guard: done by the source (HoleGuard) before records reach this module ---------


# --- stage 2, parse / dead-letter -----------------------------------------------------------


def parse_all(
    records: Sequence[Delivered], parse: Parser, partitions: int, now: datetime
) -> tuple[list[Item], list[DeadLetter]]:
    """The usable records as (offset, record), and a dead letter for every other one."""
    items: list[Item] = []
    rejected: list[DeadLetter] = []
    for record in records:
        result = parse(record.key, record.value, record.position, now)
        if isinstance(result, DeadLetter):
            rejected.append(result)
            continue
        wrong_partition = misrouted(record.key, record.position, partitions)
        if wrong_partition is not None:
            RECORDS_MISROUTED.labels(record.position.topic).inc()
            rejected.append(dead_letter(record.key, record.value, record.position, wrong_partition))
            continue
        items.append((record.position.offset, result))
    return items, rejected


async def reject(sink: DeadLetterSink, letter: DeadLetter) -> None:
    """Write `letter`, retrying until it is written.

    A record is acknowledged with its batch, so its dead letter must be written first: while it
    cannot be, counting waits rather than losing the record."""
    RECORDS_REJECTED.labels(letter.topic).inc()
    log.info("dead-letter %s[%d]@%d: %s", letter.topic, letter.partition, letter.offset, letter.reason)
    key = letter.key.encode() if letter.key is not None else None
    value = orjson.dumps(letter.model_dump(mode="json"))
    pause = 0.5
    while True:
        try:
            await sink.send(key, value)
            return
        except Exception as error:
            log.error(
                "could not write the dead letter of %s[%d]@%d (%s); retrying in %.1f s",
                letter.topic,
                letter.partition,
                letter.offset,
                type(error).__name__,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)


# --- stages 3 to 5, group → apply → store ---------------------------------------------------


def apply_group(store: SubjectStore, key: str, items: Sequence[Item], now: datetime) -> None:
    """Read the subject once, apply its records (replays skipped by offset), write it once."""
    table_key = key.encode()
    raw = store.get(table_key)
    state = SubjectState.from_bytes(raw) if raw is not None else None
    store.put(table_key, apply(state, key_counter(key), items, now).to_bytes())


@dataclass
class CountingPipeline:
    """Counts one input topic. `store` must be attributed to the partition being counted."""

    parse: Parser
    partitions: int
    dead_letters: DeadLetterSink

    async def count_partition(
        self, store: SubjectStore, partition: int, records: Sequence[Delivered], now: datetime
    ) -> None:
        items, rejected = parse_all(records, self.parse, self.partitions, now)
        for letter in rejected:
            await reject(self.dead_letters, letter)
        by_offset = {record.position.offset: record for record in records}
        for key, key_items in group_by_key(items).items():
            try:
                apply_group(store, key, key_items, now)
            except Exception as error:
                # e.g. a stored state this version cannot read: the records are kept, not lost.
                log.exception("subject %s cannot be counted; its records go to dead-letter", key)
                reason = f"could not be counted: {type(error).__name__}"
                for offset, _ in key_items:
                    record = by_offset[offset]
                    await reject(
                        self.dead_letters,
                        dead_letter(
                            record.key,
                            record.value,
                            Position(record.position.topic, partition, offset),
                            reason,
                        ),
                    )
