"""The evaluation clock and tick agent: Faust ticks fed to `EvaluationPipeline`.

Timers cannot write tables, so the leader's timer sends one tick record to every partition of
`ticks`; the tick agent, co-partitioned with the input topics, evaluates the partition inside
stream context (docs/design.md#evaluation).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust import StreamT
from faust.types import TP

from streamalert.evaluation.pipeline import (
    ConfigSource,
    EvaluationPipeline,
    PartitionIndex,
    parse_tick,
    stale_after,
)
from streamalert.evaluation.published import PublishedIndex
from streamalert.faust_adapter.counting import TableStore
from streamalert.records.common import format_timestamp
from streamalert.settings import Settings
from streamalert.wiring import Topics

log = logging.getLogger(__name__)


class TopicPublisher:
    """A Faust topic as a `Publisher`."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def publish(self, key: bytes, value: bytes, partition: int) -> None:
        # force: Faust would otherwise attach the send to the tick and publish it only once the
        # tick is acked, after this wait: a deadlock.
        sent = await self.topic.send(key=key, value=value, partition=partition, force=True)
        await sent  # acknowledged before the state that records it is written


def register_evaluation(
    app: faust.App,
    topics: Topics,
    counts: faust.Table,
    alert_states: faust.Table,
    configs: ConfigSource,
    kafka: Mapping[str, Any],
    settings: Settings,
) -> None:
    pipeline = EvaluationPipeline(
        subjects=TableStore(counts),
        states=TableStore(alert_states),
        configs=configs,
        published=PublishedIndex(kafka, topics.alert_fired.get_topic_name()),
        publisher=TopicPublisher(topics.alert_fired),
        index=PartitionIndex(settings.partitions),
        stale_after=stale_after(settings.evaluation_interval),
    )

    @app.timer(settings.evaluation_interval, on_leader=True, name="streamalert.clock")
    async def clock() -> None:
        tick = orjson.dumps({"at": format_timestamp(datetime.now(UTC))})
        for partition in range(settings.partitions):
            await topics.ticks.send(value=tick, partition=partition)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def forget_revoked(app_: object, revoked: set[TP], **_: object) -> None:
        ticks = topics.ticks.get_topic_name()
        await pipeline.revoked({tp.partition for tp in revoked if tp.topic == ticks})

    @app.agent(topics.ticks, name="streamalert.evaluate")
    async def evaluate_ticks(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            at = parse_tick(event.value)
            if at is None:
                message = event.message
                log.warning(
                    "ignoring a malformed tick at %s[%d]@%d", message.topic, message.partition, message.offset
                )
                continue
            await pipeline.on_tick(event.message.partition, at, datetime.now(UTC))
            yield None
