"""Follow a whole topic on every worker: all partitions, from the start, no consumer group.

Used for views every worker must hold in full (alert configurations, alert states,
delivery attempts). `sync()` makes a read linearizable: it waits until the view has
applied everything the topic held when it was called.

`sync()` asks for the end offsets on a client of its own. The follower's consumer keeps a
fetch waiting at the broker for up to `fetch_max_wait_ms` (0.5 s) when the topic is idle, and
a broker answers one connection's requests in order, so asking on the follower's connection
made every idle read wait out that long poll. New records still reach the follower at once:
a waiting fetch returns as soon as data arrives.

Nothing here waits on the broker without a bound: `sync()` and `write()` give up after
`timeout` seconds with `ViewLagging` (503 in the API), and `broker_reachable()` says whether
the broker answered one of the periodic probes recently (a readiness check).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from mode import Service

log = logging.getLogger(__name__)

READ_TIMEOUT = 5.0
"""Seconds a read waits for the broker and the view before answering 503."""
WRITE_TIMEOUT = 10.0
"""Seconds a write waits for the broker's acknowledgement and for the view to apply it."""
PROBE_INTERVAL = 2.0
BROKER_SILENCE = 6.0
"""The broker counts as unreachable when no probe succeeded for this long."""


class ViewLagging(Exception):
    """The view did not catch up with the topic in time."""


class BrokerUnavailable(ViewLagging):
    """The broker did not answer in time."""


class TopicView(Service):
    """Subclasses say what a record means in `apply`; this class keeps up with the topic."""

    def __init__(self, kafka: Mapping[str, Any], topic: str, client_id: str, writable: bool = False) -> None:
        """`kafka`: the client options of `streamalert.kafka_config.client_options`."""
        super().__init__()
        self.topic = topic
        self._kafka = kafka
        self._client_id = client_id
        self._positions: dict[int, int] = {}
        self._advanced = asyncio.Condition()
        self._loaded = False
        self._consumer: AIOKafkaConsumer | None = None
        self._offsets: AIOKafkaConsumer | None = None  # end offsets only; see the module docstring
        self._reached_broker_at: float | None = None
        self._producer: AIOKafkaProducer | None = None
        self._writable = writable
        self._loaded_event = asyncio.Event()

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raise NotImplementedError

    def on_loaded(self) -> None:
        """Called once, when the view first reaches the end the topic had at start."""

    @property
    def loaded(self) -> bool:
        return self._loaded

    async def wait_loaded(self) -> None:
        await self._loaded_event.wait()

    async def sync(self, timeout: float = READ_TIMEOUT) -> None:
        """Wait until the view holds everything the topic holds now."""
        started = time.monotonic()
        ends = await self.end_offsets(timeout)
        await self.wait_for(ends, max(0.0, timeout - (time.monotonic() - started)))

    async def end_offsets(self, timeout: float = READ_TIMEOUT) -> dict[int, int]:
        """The topic's end offset per partition, asked of the broker now."""
        assert self._offsets is not None
        partitions = [TopicPartition(self.topic, p) for p in self._partitions()]
        try:
            async with asyncio.timeout(timeout):
                ends = await self._offsets.end_offsets(partitions)
        except (TimeoutError, KafkaError) as error:
            raise BrokerUnavailable(
                f"the Kafka broker did not answer within {timeout:g} s ({type(error).__name__}); retry later"
            ) from None
        self._reached_broker_at = time.monotonic()
        return {tp.partition: offset for tp, offset in ends.items()}

    def broker_reachable(self, within: float = BROKER_SILENCE) -> bool:
        """True when the broker answered this view within the last `within` seconds."""
        return self._reached_broker_at is not None and time.monotonic() - self._reached_broker_at < within

    async def wait_for(self, targets: dict[int, int], timeout: float = READ_TIMEOUT) -> None:
        """Wait until, for each partition, every record before offset `targets[p]` is applied."""

        def reached() -> bool:
            return all(self._positions.get(p, 0) >= offset for p, offset in targets.items())

        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(reached)
        except TimeoutError:
            raise ViewLagging(f"the view of {self.topic} did not catch up within {timeout} s") from None

    async def write(self, key: bytes, value: bytes | None, timeout: float = WRITE_TIMEOUT) -> tuple[int, int]:
        """Produce a record and return once this view has applied it (read-your-writes).

        Returns the record's partition and offset.
        """
        assert self._producer is not None, "the view was not created writable"
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                metadata = await self._producer.send_and_wait(self.topic, key=key, value=value)
        except (TimeoutError, KafkaError) as error:
            raise BrokerUnavailable(
                f"the Kafka broker did not acknowledge the write within {timeout:g} s "
                f"({type(error).__name__}); it may or may not be applied: read before retrying"
            ) from None
        await self.wait_for(
            {metadata.partition: metadata.offset + 1}, max(1.0, timeout - (time.monotonic() - started))
        )
        return metadata.partition, metadata.offset

    async def on_start(self) -> None:
        if self._writable:
            self._producer = AIOKafkaProducer(
                **self._kafka,
                client_id=f"{self._client_id}-writer",
                acks="all",
                enable_idempotence=True,
            )
            await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            self.topic,
            **self._kafka,
            client_id=self._client_id,
            group_id=None,  # every worker reads every partition
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            # A changelog topic may appear after the view starts; notice it soon.
            metadata_max_age_ms=2000,
        )
        await self._consumer.start()
        self._offsets = AIOKafkaConsumer(
            **self._kafka,
            client_id=f"{self._client_id}-offsets",
            group_id=None,
            enable_auto_commit=False,
        )
        await self._offsets.start()
        self._reached_broker_at = time.monotonic()
        self.add_future(self._follow())
        self.add_future(self._probe())

    async def on_stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._offsets is not None:
            await self._offsets.stop()
        if self._producer is not None:
            await self._producer.stop()

    def _partitions(self) -> set[int]:
        assert self._consumer is not None
        return self._consumer.partitions_for_topic(self.topic) or set()

    async def _probe(self) -> None:
        """Ask for the end offsets now and then, so that readiness notices a silent broker."""
        while not self.should_stop:
            await asyncio.sleep(PROBE_INTERVAL)
            # A failure shows as broker_reachable() turning false once the silence lasts.
            if self._partitions():
                with contextlib.suppress(BrokerUnavailable):
                    await self.end_offsets(PROBE_INTERVAL)

    async def _follow(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._partitions():
            await asyncio.sleep(0.1)
        partitions = [TopicPartition(self.topic, p) for p in self._partitions()]
        loading_targets = {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}
        while not self.should_stop:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    try:
                        self.apply(record)
                    except Exception:
                        log.exception(
                            "%s[%d]@%d could not be applied", self.topic, record.partition, record.offset
                        )
            for tp in consumer.assignment():
                self._positions[tp.partition] = await consumer.position(tp)
            if not self._loaded and all(self._positions.get(p, 0) >= o for p, o in loading_targets.items()):
                self._loaded = True
                self._loaded_event.set()
                self.on_loaded()
            async with self._advanced:
                self._advanced.notify_all()
