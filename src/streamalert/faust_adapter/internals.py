"""Faust's internals, reached from here only.

Faust decides a table write's changelog partition, and the RocksDB store its local
partition, from the event the stream is currently processing (docs/design.md#counting). A batch from
`take_events` spans partitions, so before writing the keys of partition p we make an
event of partition p the current one (`attributed_to`). The metrics read the offset
Faust last read per partition (`last_read_offset`). `HoleGuard` works around records Faust
drops during a rebalance. `on_agent_crash`, `agent_topics` and `committed_offset` let the
agent watch (`streamalert.supervision`) see agents that crashed or stopped making progress.
`consumer_lag` and `partitions_recovered` feed the metrics and `/readyz/partitions`.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import faust
from faust import EventT
from faust import streams as faust_streams
from faust.tables.manager import TableManager
from faust.types import TP, ConsumerT

log = logging.getLogger(__name__)


@contextmanager
def attributed_to(event: EventT | Any) -> Iterator[None]:
    """Within the block, table writes belong to `event`'s partition."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def last_read_offset(consumer: ConsumerT, tp: TP) -> int | None:
    """The offset of the last record Faust read from `tp` (None before the first)."""
    offset: int | None = consumer._read_offset.get(tp)  # type: ignore[attr-defined]
    return offset


class HoleGuard:
    """Re-reads records Faust drops around a rebalance.

    Faust stamps each fetched record with the consumer generation; a record fetched just as
    the generation changes carries the old one, and `Stream` skips it without tracking it
    (faust/streams.py, "Skipping message … generation_id") after the fetcher has marked it
    read. The next record acknowledged then commits past the hole: the record is lost.

    This guard knows which offset each partition should deliver next (the committed offset
    after an assignment, then the last one seen + 1). On a hole it asks the broker whether a
    record exists there (offsets may also skip legitimately, e.g. over transaction markers);
    if one does, it seeks back and drops the partition's records until that one comes again,
    so each partition is still processed in offset order.
    """

    REWIND_TIMEOUT = 30.0

    def __init__(self, app: Any, kafka: Mapping[str, Any]) -> None:
        self.app = app
        self.kafka = kafka  # streamalert.kafka_config.client_options
        self._next: dict[TP, int] = {}
        self._rewinding: dict[TP, tuple[int, float]] = {}

    def forget(self) -> None:
        """Call on every assignment: the committed offsets are the truth again."""
        self._next.clear()
        self._rewinding.clear()

    async def admit(self, event: EventT) -> bool:
        """False when `event` must be dropped: it will be read again, in order."""
        return await self.admit_message(event.message)

    async def admit_message(self, message: Any) -> bool:
        """`admit` for a record Faust delivered without an event (faust_adapter.fastpath)."""
        tp, offset = message.tp, message.offset
        rewinding = self._rewinding.get(tp)
        if rewinding is not None:
            target, since = rewinding
            if offset != target and time.monotonic() - since < self.REWIND_TIMEOUT:
                return False
            del self._rewinding[tp]
        else:
            expected = self._next.get(tp)
            if expected is None:
                committed = self.app.consumer._committed_offset.get(tp)  # the next offset to read
                expected = committed if committed is not None else offset
            if offset > expected:
                first = await self._first_offset_from(tp, expected)
                if first is not None and first < offset:
                    log.warning(
                        "%s[%d]: offset %d arrived but %d was never delivered; reading again from %d",
                        tp.topic,
                        tp.partition,
                        offset,
                        first,
                        first,
                    )
                    self._rewinding[tp] = (first, time.monotonic())
                    await self.app.consumer.seek(tp, first)
                    return False
        self._next[tp] = offset + 1
        return True

    async def _first_offset_from(self, tp: TP, offset: int) -> int | None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(**self.kafka, enable_auto_commit=False)
        await consumer.start()
        try:
            partition = TopicPartition(tp.topic, tp.partition)
            consumer.assign([partition])
            consumer.seek(partition, offset)
            records = (await consumer.getmany(partition, timeout_ms=2000, max_records=1)).get(partition, [])
            return records[0].offset if records else None
        finally:
            await consumer.stop()


# --- agent supervision ----------------------------------------------------------------------

AgentCrash = Callable[[str, BaseException], Awaitable[None]]


def on_agent_crash(app: Any, names: set[str], callback: AgentCrash) -> None:
    """Call `callback(agent name, exception)` whenever the body of one of the agents `names` raises.

    Faust then logs "crashed" and its supervisor starts a new actor on the same stream, which in
    practice never receives another event: the crash must be visible instead.
    Faust calls an agent's `_on_error` (the app's consumer error hook) from `_execute_actor`;
    this chains onto it.
    """
    for name in names:
        agent = app.agents[name]
        previous = agent._on_error

        async def chained(
            agent_: Any, exc: BaseException, name: str = name, previous: Any = previous
        ) -> None:
            await callback(name, exc)
            if previous is not None:
                await previous(agent_, exc)

        agent._on_error = chained


def agent_topics(app: Any) -> dict[str, frozenset[str]]:
    """Each agent's name and the topics it consumes."""
    found: dict[str, frozenset[str]] = {}
    for name, agent in app.agents.items():
        channel = agent.channel
        found[name] = frozenset(getattr(channel, "topics", ()) or ())
    return found


def committed_offset(consumer: ConsumerT, tp: TP) -> int | None:
    """The next offset Faust will commit for `tp` (None before any commit or assignment)."""
    offset: int | None = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
    return offset


def consumer_lag(app: faust.App) -> list[tuple[str, int, int]]:
    """(topic, partition, records not yet read) for each partition assigned to this worker."""
    consumer = app.consumer
    try:
        assignment = consumer.assignment()
    except Exception:  # not started or rebalancing
        return []
    found = []
    for tp in sorted(assignment):
        try:
            highwater = consumer.highwater(tp)
        except Exception:
            continue
        read = last_read_offset(consumer, tp)
        behind = highwater - (read + 1 if read is not None else 0) if highwater is not None else 0
        found.append((tp.topic, tp.partition, max(behind, 0)))
    return found


def partitions_recovered(app: faust.App) -> bool:
    """True once this worker holds an assignment and its tables have caught up."""
    if app.rebalancing or not cast(TableManager, app.tables).recovery.completed.is_set():
        return False
    return bool(app.consumer.assignment())
