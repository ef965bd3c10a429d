"""Follow a whole topic on every worker: all partitions, from the start, no consumer group.

Used for views every worker must hold in full (alert configurations, alert states,
delivery attempts). `sync()` makes a read linearizable: it waits until the view has
applied everything the topic held when it was called.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from mode import Service

log = logging.getLogger(__name__)


class ViewLagging(Exception):
    """The view did not catch up with the topic in time."""


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

    async def sync(self, timeout: float = 10.0) -> None:
        """Wait until the view holds everything the topic holds now."""
        assert self._consumer is not None
        partitions = [TopicPartition(self.topic, p) for p in self._partitions()]
        ends = await self._consumer.end_offsets(partitions)
        await self.wait_for({tp.partition: offset for tp, offset in ends.items()}, timeout)

    async def wait_for(self, targets: dict[int, int], timeout: float = 10.0) -> None:
        """Wait until, for each partition, every record before offset `targets[p]` is applied."""

        def reached() -> bool:
            return all(self._positions.get(p, 0) >= offset for p, offset in targets.items())

        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(reached)
        except TimeoutError:
            raise ViewLagging(f"the view of {self.topic} did not catch up within {timeout} s") from None

    async def write(self, key: bytes, value: bytes | None) -> None:
        """Produce a record and return once this view has applied it (read-your-writes)."""
        assert self._producer is not None, "the view was not created writable"
        metadata = await self._producer.send_and_wait(self.topic, key=key, value=value)
        await self.wait_for({metadata.partition: metadata.offset + 1})

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
        self.add_future(self._follow())

    async def on_stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()

    def _partitions(self) -> set[int]:
        assert self._consumer is not None
        return self._consumer.partitions_for_topic(self.topic) or set()

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
