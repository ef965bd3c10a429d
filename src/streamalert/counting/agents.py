"""The counting agents: validate each input batch, reject the unusable, count the rest.

Each table key is read and written once per batch, not once per record (SPEC §8: a
table write costs about as much as Faust's own per-event work). Replays after a crash
are skipped by the offset kept in each subject's state, so counts stay exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import orjson
from faust import EventT, Stream, StreamT
from faust.types import TP

from streamalert.counting.buckets import InputRecord, Item, SubjectState, apply, group_by_key, key_counter
from streamalert.faust_context import HoleGuard, attributed_to
from streamalert.ingest.validation import (
    Position,
    dead_letter,
    misrouted,
    parse_delivery_result,
    parse_pipeline_event,
)
from streamalert.metrics import RECORDS_IN, RECORDS_MISROUTED, RECORDS_REJECTED
from streamalert.records import DeadLetter

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

log = logging.getLogger(__name__)

BATCH_SIZE = 50000
BATCH_WINDOW = 0.2  # seconds a batch waits to fill; bounds the latency a batch adds

Parser = Callable[[bytes | None, bytes | None, Position, datetime], InputRecord | DeadLetter]


def register_counting(wiring: StreamAlert) -> None:
    app, topics, counts = wiring.app, wiring.topics, wiring.counts
    holes = HoleGuard(app, wiring.kafka)
    partitions = wiring.settings.partitions

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def reset_holes(app_: object, assigned: set[TP], **_: object) -> None:
        holes.forget()

    async def reject(letter: DeadLetter) -> None:
        RECORDS_REJECTED.labels(letter.topic).inc()
        log.info("dead-letter %s[%d]@%d: %s", letter.topic, letter.partition, letter.offset, letter.reason)
        key = letter.key.encode() if letter.key is not None else None
        value = orjson.dumps(letter.model_dump(mode="json"))
        pause = 0.5
        while True:
            # A record is acknowledged with its batch, so its dead letter must be sent first:
            # while it cannot be, counting waits rather than losing the record.
            try:
                await topics.dead_letter.send(key=key, value=value)
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

    async def count(stream: StreamT[bytes], parse: Parser) -> AsyncIterator[None]:
        # take_events is on Faust's Stream, not on its StreamT interface.
        taken = cast(Stream[bytes], stream).take_events(BATCH_SIZE, within=BATCH_WINDOW)
        async for events in taken:
            now = datetime.now(UTC)
            RECORDS_IN.labels(events[0].message.topic).inc(len(events))
            by_partition: dict[int, list[EventT]] = {}
            for event in events:
                if await holes.admit(event):
                    by_partition.setdefault(event.message.partition, []).append(event)
            for partition, partition_events in by_partition.items():
                await count_partition(partition, partition_events, parse, now)
            yield None

    async def count_partition(partition: int, events: list[EventT], parse: Parser, now: datetime) -> None:
        items: list[Item] = []
        by_offset: dict[int, EventT] = {}
        for event in events:
            message = event.message
            position = Position(message.topic, message.partition, message.offset)
            result = parse(event.key, event.value, position, now)
            if isinstance(result, DeadLetter):
                await reject(result)
                continue
            wrong_partition = misrouted(event.key, position, partitions)
            if wrong_partition is not None:
                RECORDS_MISROUTED.labels(message.topic).inc()
                await reject(dead_letter(event.key, event.value, position, wrong_partition))
                continue
            items.append((message.offset, result))
            by_offset[message.offset] = event
        # Writes belong to the changelog partition of the event being processed: this one's.
        with attributed_to(events[0]):
            for key, key_items in group_by_key(items).items():
                table_key = key.encode()
                try:
                    raw = counts.get(table_key)
                    state = SubjectState.from_bytes(raw) if raw is not None else None
                    updated = apply(state, key_counter(key), key_items, now)
                except Exception as error:
                    # e.g. a stored state this version cannot read: the records are kept, not lost.
                    log.exception("subject %s cannot be counted; its records go to dead-letter", key)
                    for offset, _ in key_items:
                        event = by_offset[offset]
                        position = Position(event.message.topic, partition, offset)
                        reason = f"could not be counted: {type(error).__name__}"
                        await reject(dead_letter(event.key, event.value, position, reason))
                    continue
                updated.partition = partition
                counts[table_key] = updated.to_bytes()

    @app.agent(topics.pipeline_events, name="streamalert.count_pipeline_events")
    async def count_pipeline_events(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in count(stream, parse_pipeline_event):
            yield None

    @app.agent(topics.delivery_results, name="streamalert.count_delivery_results")
    async def count_delivery_results(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in count(stream, parse_delivery_result):
            yield None
