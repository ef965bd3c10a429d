"""The evaluation pipeline, read top to bottom: tick → select → decide → publish → persist.

On the tick of partition p (at the tick's time, so a replayed tick decides as the first did) the
alerts whose subjects live on p are evaluated. A transition is published to partition p of
`alert-fired`, acknowledged by the broker, before the state that records it is written; what
`alert-fired` holds is read when p is taken over, so a crash between the two publishes nothing
twice. Nothing here knows Faust: `streamalert.faust_adapter.evaluation` feeds it ticks and
implements the Protocols below. See docs/design.md#evaluation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import orjson

from streamalert.counting.buckets import SubjectState, alert_subject_key
from streamalert.counting.pipeline import SubjectStore
from streamalert.evaluation.decide import evaluate
from streamalert.evaluation.published import PartitionLog, adopt_published
from streamalert.evaluation.render import render_alert_fired
from streamalert.evaluation.series import hourly_points
from streamalert.evaluation.state import AlertState, Transition, step
from streamalert.ingest.validation import home_partition
from streamalert.kinds import KINDS
from streamalert.metrics import EVALUATION_ERRORS, EVALUATIONS, TRANSITIONS
from streamalert.records.alerts import AlertConfig
from streamalert.records.common import parse_timestamp

log = logging.getLogger(__name__)


class AlertStateStore(Protocol):
    """Alert id → stored `AlertState` bytes (the `alert_states` table)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


class ConfigSource(Protocol):
    """Every alert configuration this worker knows (the `alert-configs` view)."""

    def all(self) -> list[AlertConfig]: ...


class PublishedLog(Protocol):
    """What each partition of `alert-fired` holds (`evaluation.published.PublishedIndex`)."""

    async def partition(self, partition: int) -> PartitionLog: ...

    def forget(self, partitions: set[int]) -> None: ...


class Publisher(Protocol):
    """Sends to a partition of `alert-fired`; returns once the broker has acknowledged."""

    async def publish(self, key: bytes, value: bytes, partition: int) -> None: ...


# --- stage 1, tick ---------------------------------------------------------------------------


def parse_tick(value: bytes | None) -> datetime | None:
    """The time a tick carries, or None for a malformed one."""
    try:
        return parse_timestamp(orjson.loads(value or b"")["at"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def stale_after(evaluation_interval: float) -> timedelta:
    """A worker that was down finds a backlog of ticks: only recent ones are worth evaluating."""
    return timedelta(seconds=max(3 * evaluation_interval, 5.0))


# --- stage 2, select -------------------------------------------------------------------------


@dataclass
class PartitionIndex:
    """Which partition each enabled alert's subject lives on.

    Records on another partition than their key's are dead-lettered, so a subject's partition
    is its record key's home partition; the murmur2 hash is computed once per record key."""

    partitions: int
    _homes: dict[str, int] = field(default_factory=dict)

    def home(self, alert: AlertConfig) -> int:
        key = KINDS[alert.kind].record_key(alert)
        found = self._homes.get(key)
        if found is None:
            found = self._homes[key] = home_partition(key.encode(), self.partitions)
        return found

    def select(self, alerts: Iterable[AlertConfig], partition: int) -> list[AlertConfig]:
        return [alert for alert in alerts if alert.enabled and self.home(alert) == partition]


# --- stage 3, decide (pure) ------------------------------------------------------------------


def decide(
    alert: AlertConfig,
    subject: SubjectState,
    stored: AlertState | None,
    log_of_partition: PartitionLog,
    now: datetime,
) -> tuple[AlertState | None, AlertState, Transition | None]:
    """(the previous state as alert-fired corrects it, the next state, the transition if any)."""
    previous = adopt_published(stored, log_of_partition.latest.get(alert.id))
    state, transition = step(previous, alert, evaluate(alert, subject, now), now)
    values, failed = hourly_points(alert.kind, subject, now, alert.baseline)
    return previous, state.model_copy(update={"series": values, "series_failed": failed}), transition


def changed(previous: AlertState, state: AlertState) -> bool:
    """Worth a table write: anything but the evaluation time moved."""
    return previous.model_copy(update={"evaluated_at": None}) != state.model_copy(
        update={"evaluated_at": None}
    )


# --- the pipeline ----------------------------------------------------------------------------


@dataclass
class EvaluationPipeline:
    subjects: SubjectStore
    states: AlertStateStore
    configs: ConfigSource
    published: PublishedLog
    publisher: Publisher
    index: PartitionIndex
    stale_after: timedelta
    # Held while a partition is evaluated: a revoked partition is released only after the
    # evaluation in progress has published, so the next owner's read of alert-fired sees it.
    _evaluating: dict[int, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    async def on_tick(self, partition: int, at: datetime, wall_now: datetime) -> bool:
        """Evaluate partition `partition` at `at` unless the tick is stale; True if it was."""
        if wall_now - at > self.stale_after:
            return False
        async with self._evaluating[partition]:
            await self.evaluate_partition(partition, at)
        return True

    async def revoked(self, partitions: set[int]) -> None:
        """Returns once no evaluation of `partitions` is in progress; their logs are re-read later."""
        for partition in partitions:
            async with self._evaluating[partition]:
                self.published.forget({partition})

    async def evaluate_partition(self, partition: int, now: datetime) -> None:
        log_of_partition = await self.published.partition(partition)
        for alert in self.index.select(self.configs.all(), partition):
            try:
                await self.evaluate_alert(alert, partition, log_of_partition, now)
            except Exception as error:
                # One alert must not stop the others. Its state was not written, so the next tick
                # decides it again; what alert-fired holds is read anew first, in case a send
                # that raised was published all the same.
                EVALUATION_ERRORS.inc()
                self.published.forget({partition})
                log.error("evaluating alert %s failed: %s", alert.id, type(error).__name__, exc_info=True)

    async def evaluate_alert(
        self, alert: AlertConfig, partition: int, log_of_partition: PartitionLog, now: datetime
    ) -> None:
        raw = self.subjects.get(alert_subject_key(alert).encode())
        if raw is None:
            return  # no data yet: insufficient data, nothing to decide
        key = alert.id.encode()
        stored_raw = self.states.get(key)
        stored = AlertState.from_bytes(stored_raw) if stored_raw is not None else None
        previous, state, transition = decide(
            alert, SubjectState.from_bytes(raw), stored, log_of_partition, now
        )
        EVALUATIONS.labels(state.status).inc()
        if transition is not None:
            await self.publish(alert, transition, partition, log_of_partition)
        # persist: only after the transition it records is acknowledged; a state that alert-fired
        # corrected (adopted) is written even when this evaluation changes nothing else
        if previous is None or previous is not stored or changed(previous, state):
            self.states.put(key, state.to_bytes())

    async def publish(
        self, alert: AlertConfig, transition: Transition, partition: int, log_of_partition: PartitionLog
    ) -> None:
        event = render_alert_fired(alert, transition)
        if log_of_partition.holds(alert.id, event.incident, event.state, event.muted):
            return  # published before a crash: the same transition has the same event id
        value = orjson.dumps(event.model_dump(mode="json", by_alias=True))
        await self.publisher.publish(alert.id.encode(), value, partition)
        log_of_partition.add(alert.id, event.incident, event.state, event.muted)
        TRANSITIONS.labels(event.state).inc()
        log.info(
            "alert %s %s%s (incident %d): %s",
            alert.id,
            event.state,
            " (muted)" if event.muted else "",
            event.incident,
            event.summary,
        )
