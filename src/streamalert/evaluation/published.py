"""What `alert-fired` already holds, per partition, so a replayed tick never publishes twice.

The events of the alerts evaluated by partition p go to partition p of `alert-fired`.
When a worker takes over p (at start, or after a rebalance) it reads that partition once
to the end; afterwards it adds each event it publishes. A replay after a crash then
recomputes the same transition, with the same deterministic event id, and skips it.

Only the latest event of each alert is kept (memory bounded by the alerts, not by the
events). That is enough: an alert's transitions are ordered, (incident 1, firing) <
(1, resolved) < (2, firing) < ..., a muted firing coming before the unmuted one that
notifies when its mute ends (docs/design.md#muting), `adopt_published` moves the state up to the latest
published one, and `step` only ever produces the next position after the state. So a
transition is already published exactly when its position is at or before the latest one
(`PartitionLog.holds`), which is what a set of every event id answered before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streamalert.evaluation.state import AlertState

log = logging.getLogger(__name__)


@dataclass
class LatestEvent:
    incident: int
    state: str
    muted: bool = False


def position(incident: int, state: str, muted: bool = False) -> tuple[int, int]:
    """Where a transition stands in its alert's sequence: a resolve comes after its firing, and an
    unmuted firing (the first one, or the expiry notification) after a muted one."""
    return (incident, 2 if state == "resolved" else 0 if muted else 1)


@dataclass
class PartitionLog:
    latest: dict[str, LatestEvent] = field(default_factory=dict)
    events_read: int = 0

    def add(self, alert_id: str, incident: int, state: str, muted: bool = False) -> None:
        self.events_read += 1
        known = self.latest.get(alert_id)
        if known is None or position(incident, state, muted) >= position(
            known.incident, known.state, known.muted
        ):
            self.latest[alert_id] = LatestEvent(incident, state, muted)

    def holds(self, alert_id: str, incident: int, state: str, muted: bool = False) -> bool:
        """True when the transition (incident, state, muted) of the alert is already on `alert-fired`."""
        known = self.latest.get(alert_id)
        return known is not None and position(incident, state, muted) <= position(
            known.incident, known.state, known.muted
        )


class PublishedIndex:
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        self.kafka = kafka  # streamalert.kafka_config.client_options
        self.topic = topic
        self._partitions: dict[int, PartitionLog] = {}

    def forget(self, partitions: set[int]) -> None:
        """Drop partitions this worker no longer owns; they are re-read if it gets them back."""
        for partition in partitions:
            self._partitions.pop(partition, None)

    async def partition(self, partition: int) -> PartitionLog:
        known = self._partitions.get(partition)
        if known is None:
            known = self._partitions[partition] = await self._read(partition)
        return known

    async def _read(self, partition: int) -> PartitionLog:
        found = PartitionLog()
        tp = TopicPartition(self.topic, partition)
        consumer = AIOKafkaConsumer(
            **self.kafka,
            enable_auto_commit=False,
            client_id="streamalert-published",
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            while await consumer.position(tp) < end:
                for record in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
                    try:
                        event = orjson.loads(record.value)
                        found.add(
                            event["alert_id"],
                            int(event.get("incident", 1)),
                            event["state"],
                            event.get("muted") is True,
                        )
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                        log.warning(
                            "%s[%d]@%d is not an alert-fired event", self.topic, partition, record.offset
                        )
        finally:
            await consumer.stop()
        log.info(
            "%s[%d]: %d events already published, for %d alerts",
            self.topic,
            partition,
            found.events_read,
            len(found.latest),
        )
        return found


def adopt_published(previous: AlertState | None, latest: LatestEvent | None) -> AlertState | None:
    """Make the incident bookkeeping agree with what `alert-fired` holds.

    Events are acknowledged before the state that records them is written, so the log can
    be ahead of the state (a crash in between), never behind it. When it is ahead, the
    log wins: the state then recomputes the same transition, whose id is already known.
    """
    if latest is None:
        return previous
    before = previous if previous is not None else AlertState()
    published_open = latest.state == "firing"
    published_muted = published_open and latest.muted  # its expiry notification is still to come
    ahead = latest.incident > before.incident or (
        latest.incident == before.incident
        and before.open
        and (not published_open or (before.muted_firing and not published_muted))
    )
    if not ahead:
        return previous
    return before.model_copy(
        update={"incident": latest.incident, "open": published_open, "muted_firing": published_muted}
    )
