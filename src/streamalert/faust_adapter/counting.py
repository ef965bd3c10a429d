"""The counting agents: batches from Faust, fed partition by partition to `CountingPipeline`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust import EventT, Stream, StreamT
from faust.types import TP

from streamalert.counting.pipeline import CountingPipeline, Delivered, Parser
from streamalert.faust_adapter.internals import HoleGuard, attributed_to
from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.metrics import RECORDS_IN
from streamalert.wiring import Topics

BATCH_SIZE = 50000
BATCH_WINDOW = 0.2  # seconds a batch waits to fill; bounds the latency a batch adds


class TableStore:
    """A bytes → bytes Faust table as a `SubjectStore`."""

    def __init__(self, table: faust.Table) -> None:
        self.table = table

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.table.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        self.table[key] = value


class TopicSink:
    """A Faust topic as a `DeadLetterSink`: returns once the broker has the record."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(self, key: bytes | None, value: bytes) -> None:
        await self.topic.send(key=key, value=value)


def register_counting(
    app: faust.App, topics: Topics, counts: faust.Table, kafka: Mapping[str, Any], partitions: int
) -> None:
    holes = HoleGuard(app, kafka)
    store = TableStore(counts)
    sink = TopicSink(topics.dead_letter)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def reset_holes(app_: object, assigned: set[TP], **_: object) -> None:
        holes.forget()

    async def count(stream: StreamT[bytes], parse: Parser) -> AsyncIterator[None]:
        pipeline = CountingPipeline(parse, partitions, sink)
        # take_events is on Faust's Stream, not on its StreamT interface.
        taken = cast(Stream[bytes], stream).take_events(BATCH_SIZE, within=BATCH_WINDOW)
        async for events in taken:
            now = datetime.now(UTC)
            RECORDS_IN.labels(events[0].message.topic).inc(len(events))
            for partition, partition_events in (await admitted(holes, events)).items():
                # Writes belong to the changelog partition of the event being processed: this one's.
                with attributed_to(partition_events[0]):
                    await pipeline.count_partition(store, partition, delivered(partition_events), now)
            yield None  # Faust acknowledges the batch: after its writes and dead letters

    @app.agent(topics.pipeline_events, name="streamalert.count_pipeline_events")
    async def count_pipeline_events(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in count(stream, parse_pipeline_event):
            yield None

    @app.agent(topics.delivery_results, name="streamalert.count_delivery_results")
    async def count_delivery_results(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in count(stream, parse_delivery_result):
            yield None


async def admitted(holes: HoleGuard, events: Sequence[EventT]) -> dict[int, list[EventT]]:
    """The events the hole guard lets through, by partition, each in offset order."""
    by_partition: dict[int, list[EventT]] = {}
    for event in events:
        if await holes.admit(event):
            by_partition.setdefault(event.message.partition, []).append(event)
    return by_partition


def delivered(events: list[EventT]) -> list[Delivered]:
    return [
        Delivered(e.key, e.value, Position(e.message.topic, e.message.partition, e.message.offset))
        for e in events
    ]
