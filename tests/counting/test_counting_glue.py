"""The counting agents' glue with in-memory fakes: nothing is acknowledged before it is durable.

`Counting` (streamalert.faust_adapter.counting) takes Faust's batches; these fakes stand in for
the app, its consumer and producer and the `counts` table, so the rules can be driven step by
step: an input record is acknowledged only after the changelog record carrying its effect is
acknowledged by the broker, never when it was dropped, and never for a revoked partition.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streamalert.counting.buckets import SubjectState, window_total
from streamalert.counting.pipeline import CountingPipeline
from streamalert.faust_adapter.counting import Counting, TopicSink
from streamalert.faust_adapter.internals import HoleGuard
from streamalert.ingest.validation import home_partition, parse_pipeline_event
from streamalert.kinds import KINDS

PARTITIONS = 4
TOPIC = "t.pipeline-events"
CHANGELOG = "t-counts-changelog"


@dataclass(eq=False)
class FakeMessage:
    topic: str
    partition: int
    offset: int
    generation_id: int
    refcount: int = 1
    acked: bool = False

    @property
    def tp(self) -> Any:
        from faust.types import TP

        return TP(self.topic, self.partition)

    def incref(self) -> None:
        self.refcount += 1

    def ack(self, consumer: FakeConsumer) -> None:
        self.refcount -= 1
        if self.refcount == 0 and not self.acked:
            self.acked = True
            consumer.acked.append((self.partition, self.offset))


@dataclass(eq=False)
class FakeEvent:
    key: bytes
    value: bytes
    message: FakeMessage


@dataclass
class FakeConsumer:
    acked: list[tuple[int, int]] = field(default_factory=list)
    _committed_offset: dict[Any, int] = field(default_factory=dict)
    sought: list[tuple[Any, int]] = field(default_factory=list)

    async def seek(self, tp: Any, offset: int) -> None:
        self.sought.append((tp, offset))


@dataclass
class Metadata:
    offset: int


@dataclass
class FakeProducer:
    """Sends resolve when the test says the broker acknowledged them."""

    sent: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    pending: list[asyncio.Future[Metadata]] = field(default_factory=list)

    async def send(
        self, topic: str, key: bytes, value: bytes, partition: int, *_: Any
    ) -> asyncio.Future[Metadata]:
        assert topic == CHANGELOG
        self.sent.append((key, value, partition))
        future: asyncio.Future[Metadata] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future

    async def broker_acknowledges(self, error: Exception | None = None) -> None:
        for number, future in enumerate(self.pending):
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(Metadata(number))
        self.pending.clear()
        for _ in range(5):
            await asyncio.sleep(0)


class FakeStore(dict[bytes, bytes]):
    persisted: dict[int, int]

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp.partition] = offset


@dataclass
class FakeTable:
    data: FakeStore

    @property
    def changelog_topic(self) -> Any:
        return type("Topic", (), {"get_topic_name": staticmethod(lambda: CHANGELOG)})()


class Guard(HoleGuard):
    async def _first_offset_from(self, tp: Any, offset: int) -> int | None:
        return offset  # every offset exists: a skipped one is a hole


@dataclass
class World:
    consumer: FakeConsumer = field(default_factory=FakeConsumer)
    producer: FakeProducer = field(default_factory=FakeProducer)
    consumer_generation_id: int = 1
    counting: Counting = field(init=False)
    pipeline: CountingPipeline = field(init=False)
    offsets: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        store = FakeStore()
        store.persisted = {}
        self.table = FakeTable(store)
        sink: Any = TopicSink(topic=None)  # type: ignore[arg-type]  # no dead letters here
        app: Any = self
        self.counting = Counting(app, self.table, {}, PARTITIONS, sink)  # type: ignore[arg-type]
        self.counting.holes = Guard(app, {})
        self.pipeline = CountingPipeline(parse_pipeline_event, PARTITIONS, sink)

    def event(self, source: str, offset: int | None = None, generation: int | None = None) -> FakeEvent:
        key = source.encode()
        partition = home_partition(key, PARTITIONS)
        if offset is None:
            offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        value = orjson.dumps(
            {
                "type": "source_events",
                "workspace_id": "w",
                "source_id": source,
                "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
                "count": 1,
            }
        )
        message = FakeMessage(
            TOPIC, partition, offset, generation if generation is not None else self.consumer_generation_id
        )
        return FakeEvent(key, value, message)

    async def batch(self, events: list[FakeEvent]) -> None:
        """What `Counting.count` does with one batch of `take_events`, then its own ack."""
        for event in events:
            event.message.incref()
        async with self.counting.lock:
            await self.counting.count_batch(self.pipeline, events)  # type: ignore[arg-type]
        for event in events:
            event.message.ack(self.consumer)  # take_events' ack: not the final one

    def total(self, source: str) -> int:
        raw = self.table.data.get(KINDS["source_volume"].key("w", source).encode())
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        state = SubjectState.from_bytes(raw) if raw is not None else None
        return window_total(state, hour - timedelta(hours=24), hour + timedelta(hours=1))


async def test_records_are_acknowledged_only_after_their_changelog_records() -> None:
    world = World()
    await world.batch([world.event("a") for _ in range(30)] + [world.event("b") for _ in range(10)])
    await world.batch([world.event("a") for _ in range(5)])
    assert (world.total("a"), world.total("b")) == (35, 10)  # the store is current at once
    assert world.consumer.acked == [] and world.producer.sent == []
    await world.counting.changelog.flush()
    assert sorted(key for key, _, _ in world.producer.sent) == sorted(
        KINDS["source_volume"].key("w", s).encode() for s in ("a", "b")
    )  # one record per subject for 45 input records
    assert world.consumer.acked == []  # sent, not yet acknowledged by the broker
    await world.producer.broker_acknowledges()
    assert len(world.consumer.acked) == 45
    assert set(world.table.data.persisted) == {
        home_partition(b"a", PARTITIONS),
        home_partition(b"b", PARTITIONS),
    }


async def test_a_record_fetched_before_a_rebalance_is_neither_counted_nor_acknowledged() -> None:
    world = World()
    stale = world.event("a", generation=world.consumer_generation_id - 1)
    await world.batch([stale])
    await world.counting.changelog.flush()
    await world.producer.broker_acknowledges()
    assert world.total("a") == 0 and world.consumer.acked == []


async def test_a_record_the_hole_guard_drops_is_not_acknowledged() -> None:
    world = World()
    partition = home_partition(b"a", PARTITIONS)
    await world.batch([world.event("a", offset=0), world.event("a", offset=2)])  # 1 never came
    await world.counting.changelog.flush()
    await world.producer.broker_acknowledges()
    assert world.consumer.acked == [(partition, 0)]  # 2 waits to be read again, after 1
    assert world.consumer.sought[-1][1] == 1


async def test_a_partition_revoked_while_its_flush_is_in_flight_acknowledges_nothing() -> None:
    world = World()
    a_partition = home_partition(b"a", PARTITIONS)
    other = next(
        s for s in (f"s{i}" for i in range(50)) if home_partition(s.encode(), PARTITIONS) != a_partition
    )
    await world.batch([world.event("a"), world.event(other)])
    await world.counting.changelog.flush()
    world.counting.revoked({a_partition})  # what FastDrainConsumer calls before Faust forgets acks
    await world.producer.broker_acknowledges()
    assert [p for p, _ in world.consumer.acked] == [home_partition(other.encode(), PARTITIONS)]


async def test_a_batch_counted_across_a_revoke_is_not_held() -> None:
    world = World()
    partition = home_partition(b"a", PARTITIONS)
    world.counting.revoked({partition})
    await world.batch([world.event("a")])  # begun in the new epoch: owned, counted
    await world.counting.changelog.flush()
    await world.producer.broker_acknowledges()
    assert world.consumer.acked == [(partition, 0)]


async def test_a_failed_changelog_write_is_sent_again_and_acknowledged_then() -> None:
    world = World()
    await world.batch([world.event("a") for _ in range(3)])
    await world.counting.changelog.flush()
    await world.producer.broker_acknowledges(error=TimeoutError())
    assert world.consumer.acked == []
    assert world.counting.writeback.held_count == 3
    await world.counting.changelog.flush()
    await world.producer.broker_acknowledges()
    assert len(world.consumer.acked) == 3 and len(world.producer.sent) == 2
