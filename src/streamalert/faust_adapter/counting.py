"""The counting agents: batches from Faust, fed partition by partition to `CountingPipeline`.

Each batch is counted into the `counts` store at once; its changelog records and the input
records' acknowledgements wait for the write-back's flush (streamalert.counting.writeback).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust import EventT, Stream, StreamT
from faust.types import TP, Message

from streamalert.counting.pipeline import CountingPipeline, Delivered, Parser
from streamalert.counting.writeback import PartitionFlush, WriteBack
from streamalert.faust_adapter.internals import HoleGuard, attributed_to
from streamalert.ingest.validation import Position, parse_delivery_result, parse_pipeline_event
from streamalert.metrics import CHANGELOG_WRITES, RECORDS_IN
from streamalert.wiring import Topics

BATCH_SIZE = 50000
BATCH_WINDOW = 0.2  # seconds a batch waits to fill; bounds the latency a batch adds
FLUSH_TIMER = 0.5  # seconds between checks for a due flush when no batch comes

log = logging.getLogger(__name__)


class TableStore:
    """A bytes → bytes Faust table as a store, written through Faust (store, then changelog)."""

    def __init__(self, table: faust.Table) -> None:
        self.table = table

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.table.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        self.table[key] = value


class WriteBackStore:
    """The `counts` table for counting one partition: the store now, the changelog at the flush.

    Writes go to the table's store directly (what `table[key] = value` does before it sends a
    changelog record) and mark the subject dirty in the write-back."""

    def __init__(self, table: faust.Table, writeback: WriteBack[Message], partition: int) -> None:
        self.data = table.data
        self.writeback = writeback
        self.partition = partition
        self.epoch = writeback.epoch(partition)

    @property
    def owned(self) -> bool:
        """False once the partition was revoked (a dead letter's send can span a rebalance)."""
        return self.writeback.epoch(self.partition) == self.epoch

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self.data.get(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        if not self.owned:
            return  # the next owner counts these records from what the changelog holds
        self.data[key] = value
        self.writeback.mark(self.partition, key, value, time.monotonic())


class TopicSink:
    """A Faust topic as a `DeadLetterSink`: returns once the broker has the record."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(self, key: bytes | None, value: bytes) -> None:
        # force: sent now, not when the event is acked (which waits for this letter).
        sent = await self.topic.send(key=key, value=value, force=True)
        await sent


class Changelog:
    """Flushes the write-back: the changelog records, then the input records' acks."""

    def __init__(self, app: faust.App, table: faust.Table, writeback: WriteBack[Message]) -> None:
        self.app = app
        self.table = table
        self.topic = table.changelog_topic.get_topic_name()
        self.writeback = writeback
        self.flushing: set[asyncio.Task[None]] = set()

    async def flush(self) -> None:
        """Send every dirty subject; acknowledge its records once the broker has them.

        Sends are queued in order here (a later flush's record of a subject lands after this
        one's); waiting for the broker happens in the background so counting goes on."""
        flushes = self.writeback.take()
        if not flushes:
            return
        sends = []
        for flush in flushes:
            results = [
                await self.app.producer.send(self.topic, key, value, flush.partition, None, None)
                for key, value in flush.values.items()
            ]
            sends.append((flush, results))
            CHANGELOG_WRITES.inc(len(results))
        task = asyncio.ensure_future(self._acknowledge(sends))
        self.flushing.add(task)
        task.add_done_callback(self.flushing.discard)

    async def _acknowledge(self, sends: list[tuple[PartitionFlush[Message], list[Any]]]) -> None:
        for flush, results in sends:
            try:
                metadata = [await result for result in results]
            except Exception as error:
                # Not durable: nothing is acknowledged; the next flush sends them again.
                log.error(
                    "changelog records of partition %d were not written (%s); retrying at the next flush",
                    flush.partition,
                    type(error).__name__,
                )
                self.writeback.retry(flush, time.monotonic())
                continue
            if metadata:
                offset = max(m.offset for m in metadata)
                # As Faust's own changelog callback does: RocksDB remembers what it holds at startup.
                self.table.data.set_persisted_offset(TP(self.topic, flush.partition), offset)
            if self.writeback.still_owned(flush):
                consumer = self.app.consumer
                for message in flush.held:
                    message.ack(consumer)

    async def drain(self) -> None:
        """Returns once every flush in flight is acknowledged."""
        if self.flushing:
            await asyncio.gather(*self.flushing, return_exceptions=True)


class Counting:
    """Both counting agents' shared parts: the hole guard, the write-back and its flushes."""

    def __init__(
        self, app: faust.App, counts: faust.Table, kafka: Mapping[str, Any], partitions: int, sink: TopicSink
    ) -> None:
        self.app = app
        self.counts = counts
        self.partitions = partitions
        self.sink = sink
        self.holes = HoleGuard(app, kafka)
        self.writeback: WriteBack[Message] = WriteBack()
        self.changelog = Changelog(app, counts, self.writeback)
        self.lock = asyncio.Lock()  # one batch or flush at a time: a flush takes whole batches

    def revoked(self, partitions: set[int]) -> None:
        self.writeback.revoke(partitions)

    async def flush_if_due(self) -> None:
        if self.writeback.due(time.monotonic()):
            await self.changelog.flush()

    async def count(self, stream: StreamT[bytes], parse: Parser) -> AsyncIterator[None]:
        pipeline = CountingPipeline(parse, self.partitions, self.sink)
        # take_events is on Faust's Stream, not on its StreamT interface.
        taken = cast(Stream[bytes], stream).take_events(BATCH_SIZE, within=BATCH_WINDOW)
        async for events in taken:
            # take_events acks the batch when the next one is taken; a reference of our own
            # holds every record until the changelog has its effects (or forever, when dropped).
            for event in events:
                event.message.incref()
            async with self.lock:
                await self.count_batch(pipeline, events)
                await self.flush_if_due()
            yield None

    async def count_batch(self, pipeline: CountingPipeline, events: Sequence[EventT]) -> None:
        now = datetime.now(UTC)
        RECORDS_IN.labels(events[0].message.topic).inc(len(events))
        # Records fetched before a rebalance are read again from the committed offsets.
        generation = self.app.consumer_generation_id
        current = [e for e in events if e.message.generation_id == generation]
        for partition, partition_events in (await admitted(self.holes, current)).items():
            # Writes belong to the changelog partition of the event being processed: this one's.
            with attributed_to(partition_events[0]):
                store = WriteBackStore(self.counts, self.writeback, partition)
                await pipeline.count_partition(store, partition, delivered(partition_events), now)
            if store.owned:  # else never acknowledged: the next owner reads them again
                self.writeback.hold(partition, [e.message for e in partition_events], time.monotonic())


def register_counting(
    app: faust.App,
    topics: Topics,
    counts: faust.Table,
    kafka: Mapping[str, Any],
    partitions: int,
    revoke_listeners: list[Callable[[set[TP]], None]],
) -> None:
    counting = Counting(app, counts, kafka, partitions, TopicSink(topics.dead_letter))
    counted = {topics.pipeline_events.get_topic_name(), topics.delivery_results.get_topic_name()}
    # Both input topics share the changelog's partitions: a revoke of either ends this worker's
    # claim on the partition's subjects.
    revoke_listeners.append(lambda tps: counting.revoked({tp.partition for tp in tps if tp.topic in counted}))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def reset_holes(app_: object, assigned: set[TP], **_: object) -> None:
        counting.holes.forget()

    @app.timer(FLUSH_TIMER, name="streamalert.flush_counts")
    async def flush_when_quiet() -> None:
        # A quiet topic brings no batch to flush what the last one counted.
        async with counting.lock:
            await counting.flush_if_due()

    @app.agent(topics.pipeline_events, name="streamalert.count_pipeline_events")
    async def count_pipeline_events(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in counting.count(stream, parse_pipeline_event):
            yield None

    @app.agent(topics.delivery_results, name="streamalert.count_delivery_results")
    async def count_delivery_results(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for _ in counting.count(stream, parse_delivery_result):
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
