"""Every worker's complete, live view of `alert-configs`, and the writes to it.

A plain aiokafka consumer with no group reads every partition from the start and then
follows the topic (SPEC §8 measured Faust's GlobalTable as fragile with several workers).
Reads can be made linearizable with `sync()`: it waits until the view has applied
everything the topic held when it was called. A write returns only once this worker's
view has applied it, so a create is visible to the next read on any worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from mode import Service
from pydantic import ValidationError

from streamalert.records.alerts import AlertConfig

log = logging.getLogger(__name__)

Listener = Callable[[str, AlertConfig | None], Any]


class ViewLagging(Exception):
    """The view did not catch up with the topic in time."""


class ConfigView(Service):
    def __init__(self, bootstrap_servers: str, topic: str, client_id: str = "streamalert-configs") -> None:
        super().__init__()
        self.topic = topic
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._alerts: dict[str, AlertConfig] = {}
        self._positions: dict[int, int] = {}
        self._advanced = asyncio.Condition()
        self._loaded = False
        self._listeners: list[Listener] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    # --- reading -------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """True once the view has read every partition to the end it had at start."""
        return self._loaded

    def get(self, alert_id: str) -> AlertConfig | None:
        return self._alerts.get(alert_id)

    def in_workspace(self, workspace_id: str) -> list[AlertConfig]:
        alerts = [alert for alert in self._alerts.values() if alert.workspace_id == workspace_id]
        return sorted(alerts, key=lambda alert: (alert.created_at, alert.id))

    def all(self) -> list[AlertConfig]:
        return list(self._alerts.values())

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(alert_id, config or None)` for every change applied from now on."""
        self._listeners.append(listener)

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
            raise ViewLagging(f"the alert configuration view did not catch up within {timeout} s") from None

    # --- writing -------------------------------------------------------------------

    async def put(self, alert: AlertConfig) -> AlertConfig:
        """Write a configuration and return once this view has applied it."""
        value = orjson.dumps(alert.model_dump(mode="json"))
        await self._write(alert.id, value)
        stored = self._alerts.get(alert.id)
        assert stored is not None and stored.version >= alert.version
        return stored

    async def delete(self, alert_id: str) -> None:
        await self._write(alert_id, None)

    async def _write(self, alert_id: str, value: bytes | None) -> None:
        assert self._producer is not None
        metadata = await self._producer.send_and_wait(self.topic, key=alert_id.encode(), value=value)
        await self.wait_for({metadata.partition: metadata.offset + 1})

    # --- the service ---------------------------------------------------------------

    async def on_start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"{self._client_id}-writer",
            acks="all",
            enable_idempotence=True,
        )
        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=None,  # every worker reads every partition
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=30_000,
        )
        await self._producer.start()
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
        start_ends = await consumer.end_offsets(partitions)
        loading_targets = {tp.partition: offset for tp, offset in start_ends.items()}
        while not self.should_stop:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for tp, records in batches.items():
                for record in records:
                    self._apply(record.key, record.value, tp.partition, record.offset)
            for tp in consumer.assignment():
                self._positions[tp.partition] = await consumer.position(tp)
            if not self._loaded and all(self._positions.get(p, 0) >= o for p, o in loading_targets.items()):
                self._loaded = True
                log.info("alert configurations loaded: %d alerts", len(self._alerts))
            async with self._advanced:
                self._advanced.notify_all()

    def _apply(self, key: bytes | None, value: bytes | None, partition: int, offset: int) -> None:
        if key is None:
            log.error("alert-configs[%d]@%d has no key; ignored", partition, offset)
            return
        alert_id = key.decode("utf-8", "replace")
        if value is None:
            self._alerts.pop(alert_id, None)
            self._notify(alert_id, None)
            return
        try:
            alert = AlertConfig.model_validate(orjson.loads(value))
        except orjson.JSONDecodeError:
            log.error("alert-configs[%d]@%d is not JSON; ignored", partition, offset)
            return
        except ValidationError as error:
            # Only the API writes this topic; a bad record is a bug or a foreign writer.
            # The fields are named, the values not: they may hold secrets.
            fields = sorted({".".join(map(str, e["loc"])) for e in error.errors(include_input=False)})
            log.error(
                "alert-configs[%d]@%d is not a valid alert; ignored (fields: %s)", partition, offset, fields
            )
            return
        self._alerts[alert_id] = alert
        self._notify(alert_id, alert)

    def _notify(self, alert_id: str, alert: AlertConfig | None) -> None:
        for listener in self._listeners:
            try:
                listener(alert_id, alert)
            except Exception:
                log.exception("alert configuration listener failed for %s", alert_id)
