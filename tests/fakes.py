"""In-memory stand-ins for the stores, sinks and sources the pipelines see through Protocols.

They behave as the Faust-backed ones do where the pipelines' guarantees depend on it: a source
redelivers everything after its committed offset on a restart; a store keeps what was written
before a crash. `Killed` is the process dying at a chosen point: a BaseException, so no
`except Exception` in the code under test can swallow it, as no handler survives a real kill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from streamalert.counting.pipeline import CountingPipeline, Delivered, SubjectStore
from streamalert.evaluation.published import PartitionLog
from streamalert.notify.base import Integration, SendResult
from streamalert.notify.notifier import Notifier
from streamalert.records.alerts import AlertConfig, Channel
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget


class Killed(BaseException):
    """The worker died here."""


@dataclass
class CrashAfter:
    """Raises `Killed` on the call after `calls` successful ones (never if None)."""

    calls: int | None = None
    made: int = 0

    def tick(self) -> None:
        if self.calls is not None and self.made >= self.calls:
            raise Killed
        self.made += 1


@dataclass
class MemoryStore:
    """A table: bytes → bytes, surviving a crash as a changelog-backed table does."""

    data: dict[bytes, bytes] = field(default_factory=dict)
    crash: CrashAfter = field(default_factory=CrashAfter)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.crash.tick()
        self.data[key] = value


@dataclass
class MemorySink:
    """A topic written with acks: `sent` holds what the broker has."""

    sent: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    failures: int = 0  # the next sends that fail (the broker unreachable), then succeed

    async def send(self, key: bytes | None, value: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        self.sent.append((key, value))


@dataclass
class MemoryPartition:
    """One input partition: records in offset order and the offset committed (next to read)."""

    records: list[Delivered] = field(default_factory=list)
    committed: int = 0

    def unread(self, limit: int) -> list[Delivered]:
        return [r for r in self.records if r.position.offset >= self.committed][:limit]


async def run_counting(
    pipeline: CountingPipeline,
    store: SubjectStore,
    partitions: dict[int, MemoryPartition],
    now: datetime,
    batch: int = 1000,
) -> None:
    """Counts every unread record, batch by batch, committing each batch after it was counted
    (as Faust acks `take_events` batches after the agent's yield)."""
    while True:
        progress = False
        for number, partition in sorted(partitions.items()):
            records: Sequence[Delivered] = partition.unread(batch)
            if not records:
                continue
            await pipeline.count_partition(store, number, records, now)
            partition.committed = records[-1].position.offset + 1
            progress = True
        if not progress:
            return


@dataclass
class MemoryAlertFired:
    """The `alert-fired` topic: a `Publisher`. `crash` kills the worker right after the broker
    acknowledged a send; `fail_after_send` makes the next sends raise though they were published
    (an acknowledgement lost on the way back); `gate`, when set, holds each send until opened."""

    events: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # (partition, key, value)
    crash: CrashAfter = field(default_factory=CrashAfter)
    fail_after_send: int = 0
    gate: asyncio.Event | None = None

    async def publish(self, key: bytes, value: bytes, partition: int) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.events.append((partition, key, value))
        self.crash.tick()
        if self.fail_after_send:
            self.fail_after_send -= 1
            raise TimeoutError("no acknowledgement")

    def event_ids(self) -> list[str]:
        return [orjson.loads(value)["event_id"] for _, _, value in self.events]


@dataclass
class MemoryPublishedIndex:
    """`PublishedIndex` over a `MemoryAlertFired`: reads a partition whole when first asked."""

    topic: MemoryAlertFired
    reads: int = 0
    _partitions: dict[int, PartitionLog] = field(default_factory=dict)

    async def partition(self, partition: int) -> PartitionLog:
        known = self._partitions.get(partition)
        if known is None:
            self.reads += 1
            known = self._partitions[partition] = PartitionLog()
            for number, _, value in self.topic.events:
                if number == partition:
                    event = orjson.loads(value)
                    known.add(
                        event["alert_id"], event["incident"], event["state"], event.get("muted") is True
                    )
        return known

    def forget(self, partitions: set[int]) -> None:
        for partition in partitions:
            self._partitions.pop(partition, None)


@dataclass
class MemoryConfigs:
    """The alert-configs view."""

    alerts: list[AlertConfig] = field(default_factory=list)

    def all(self) -> list[AlertConfig]:
        return list(self.alerts)


@dataclass
class MemoryDeliveryLog:
    """The `deliveries` topic and every worker's view of it (`DeliveryRecords`). `crash` kills the
    worker just before an attempt reaches the topic; `forget_before` is the log's horizon."""

    attempts: list[DeliveryAttempt] = field(default_factory=list)
    crash: CrashAfter = field(default_factory=CrashAfter)
    forget_before: datetime | None = None
    topic: str = "deliveries"
    syncs: int = 0

    def is_final(self, event_id: str, channel: MaskedTarget) -> bool:
        return any(
            a.event_id == event_id and a.channel == channel and a.outcome != "retrying" for a in self.attempts
        )

    def was_delivered(self, event_id: str, channel: MaskedTarget) -> bool:
        return any(
            a.event_id == event_id and a.channel == channel and a.outcome == "delivered"
            for a in self.attempts
        )

    def forgets(self, occurred_at: datetime, now: datetime) -> bool:
        return self.forget_before is not None and occurred_at < self.forget_before

    async def record(self, attempt: DeliveryAttempt) -> None:
        self.crash.tick()
        self.attempts.append(attempt)

    async def sync(self, timeout: float = 10.0) -> None:
        self.syncs += 1


@dataclass
class MemoryAlertConfigs:
    """The alert-configs view, by id (`AlertConfigs`)."""

    alerts: dict[str, AlertConfig] = field(default_factory=dict)
    topic: str = "alert-configs"

    def get(self, alert_id: str) -> AlertConfig | None:
        return self.alerts.get(alert_id)

    async def sync(self, timeout: float = 10.0) -> None:
        return None


@dataclass
class Vendor:
    """Every channel's endpoint: records each send it accepted; `results` scripts answers per
    channel type (then success); `gate`, when set, holds every send until opened."""

    sends: list[tuple[str, str]] = field(default_factory=list)  # (event id, channel type)
    results: dict[str, list[SendResult]] = field(default_factory=dict)
    gate: asyncio.Event | None = None

    def integration(self, channel: Channel) -> Integration:
        vendor = self

        class Endpoint:
            async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
                if vendor.gate is not None:
                    await vendor.gate.wait()
                scripted = vendor.results.get(channel.type, [])
                result = scripted.pop(0) if scripted else SendResult.success(200)
                if result.delivered:
                    vendor.sends.append((event.event_id, channel.type))
                return result

        return Endpoint()


@dataclass
class MemoryFired:
    """One partition of `alert-fired` as the notifier's source: acknowledged by hand, committed up
    to the first unacknowledged offset (as Faust commits)."""

    values: list[bytes] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)
    committed: int = 0

    def ack(self, offset: int) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            self.acked.add(offset)
            while self.committed in self.acked:
                self.committed += 1

        return ack


async def run_notifier(notifier: Notifier, source: MemoryFired, partition: int = 0) -> None:
    """Deliver every record after the committed offset, then wait for the deliveries to end."""
    for offset in range(source.committed, len(source.values)):
        accepted = await notifier.accept(partition, offset, source.values[offset])
        if accepted is None:
            await source.ack(offset)()
            continue
        await notifier.submit(partition, *accepted, source.ack(offset))
    tasks = set(notifier.in_flight.get(partition, set()))
    if tasks:
        await asyncio.gather(*tasks)


async def kill(notifier: Notifier) -> None:
    """The rest of a worker that died: every task it still had stops where it was."""
    tasks = {task for tasks in notifier.in_flight.values() for task in tasks}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
