"""The evaluation clock and the agent that evaluates each partition's alerts on its tick.

Timers cannot write tables (SPEC §8), so the leader's timer sends one tick record to
every partition of `ticks`; the tick agent, co-partitioned with the input topics,
evaluates the enabled alerts whose subjects live in that partition, inside stream
context. "Now" is the tick's time, so a replayed tick decides as the original did.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import orjson
from faust import StreamT
from faust.types import TP

from streamalert.counting.buckets import SubjectState, alert_subject_key
from streamalert.evaluation.decide import evaluate
from streamalert.evaluation.published import PartitionLog, PublishedIndex, adopt_published
from streamalert.evaluation.render import render_alert_fired
from streamalert.evaluation.series import hourly_points
from streamalert.evaluation.state import AlertState, step
from streamalert.metrics import EVALUATION_ERRORS, EVALUATIONS, TRANSITIONS
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

log = logging.getLogger(__name__)


def register_evaluation(wiring: StreamAlert) -> None:
    app, topics, settings = wiring.app, wiring.topics, wiring.settings
    counts, states, configs = wiring.counts, wiring.alert_states, wiring.config_view
    published = PublishedIndex(wiring.kafka, topics.alert_fired.get_topic_name())
    # A worker that was down finds a backlog of ticks: only recent ones are worth evaluating.
    stale_after = timedelta(seconds=max(3 * settings.evaluation_interval, 5.0))

    @app.timer(settings.evaluation_interval, on_leader=True, name="streamalert.clock")
    async def clock() -> None:
        tick = orjson.dumps({"at": format_timestamp(datetime.now(UTC))})
        for partition in range(settings.partitions):
            await topics.ticks.send(value=tick, partition=partition)

    # Held while a partition is evaluated: a revoked partition is released only after the
    # evaluation in progress has published, so the next owner's read of alert-fired sees it.
    evaluating: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def forget_revoked(app_: object, revoked: set[TP], **_: object) -> None:
        for tp in revoked:
            if tp.topic == topics.ticks.get_topic_name():
                async with evaluating[tp.partition]:
                    published.forget({tp.partition})

    async def evaluate_partition(partition: int, now: datetime) -> None:
        async with evaluating[partition]:
            await evaluate_alerts(partition, now)

    async def evaluate_alerts(partition: int, now: datetime) -> None:
        log_of_partition = await published.partition(partition)
        for alert in configs.all():
            if not alert.enabled:
                continue
            try:
                await evaluate_alert(alert, partition, log_of_partition, now)
            except Exception as error:
                # One alert must not stop the others. Its state was not written, so the next tick
                # decides it again; what alert-fired holds is read anew first, in case a send
                # that raised was published all the same.
                EVALUATION_ERRORS.inc()
                published.forget({partition})
                log.error("evaluating alert %s failed: %s", alert.id, type(error).__name__, exc_info=True)

    async def evaluate_alert(
        alert: AlertConfig, partition: int, log_of_partition: PartitionLog, now: datetime
    ) -> None:
        raw = counts.get(alert_subject_key(alert).encode())
        if raw is None:
            return  # no data yet: insufficient data, nothing to decide
        subject = SubjectState.from_bytes(raw)
        if subject.partition != partition:
            return
        key = alert.id.encode()
        stored = states.get(key)
        previous = AlertState.from_bytes(stored) if stored is not None else None
        previous = adopt_published(previous, log_of_partition.latest.get(alert.id))
        state, transition = step(previous, alert, evaluate(alert, subject, now), now)
        values, failed = hourly_points(alert.kind, subject, now)
        state = state.model_copy(update={"series": values, "series_failed": failed})
        EVALUATIONS.labels(state.status).inc()
        if transition is not None:
            event = render_alert_fired(alert, transition)
            if not log_of_partition.holds(alert.id, event.incident, event.state):
                value = orjson.dumps(event.model_dump(mode="json", by_alias=True))
                # force: Faust would otherwise attach the send to the tick and publish it
                # only once the tick is acked, after this wait: a deadlock.
                sent = await topics.alert_fired.send(key=key, value=value, partition=partition, force=True)
                await sent  # acknowledged before the state that records it is written
                log_of_partition.add(alert.id, event.incident, event.state)
                TRANSITIONS.labels(event.state).inc()
                log.info(
                    "alert %s %s (incident %d): %s", alert.id, event.state, event.incident, event.summary
                )
        if previous is None or _changed(previous, state):
            states[key] = state.to_bytes()

    @app.agent(topics.ticks, name="streamalert.evaluate")
    async def evaluate_ticks(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            try:
                at = parse_timestamp(orjson.loads(event.value)["at"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning(
                    "ignoring a malformed tick at %s[%d]@%d",
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                )
                continue
            if datetime.now(UTC) - at <= stale_after:
                await evaluate_partition(event.message.partition, at)
            yield None


def _changed(previous: AlertState, state: AlertState) -> bool:
    """Worth a table write: anything but the evaluation time moved."""
    return previous.model_copy(update={"evaluated_at": None}) != state.model_copy(
        update={"evaluated_at": None}
    )
