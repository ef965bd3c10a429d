"""The records built from the plan: backfilled hours and live traffic, as `Emission`s to publish."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import orjson

from streamalert.counting.windows import HOUR
from streamalert.records.inputs import AudienceSize, DeliveryResult, SourceEvents
from streamalert.simulate.traffic import Plan, distribute, draw_failures, stochastic_round, subject_rng
from streamalert.simulate.world import Audience, Destination, RetlMapping, World

TopicKey = Literal["pipeline-events", "delivery-results"]
TOPICS: tuple[TopicKey, ...] = ("pipeline-events", "delivery-results")
InputRecord = SourceEvents | AudienceSize | DeliveryResult


@dataclass(frozen=True)
class Emission:
    """One record to publish: its topic (without the prefix), Kafka key and validated model."""

    topic: TopicKey
    key: str
    record: InputRecord

    @property
    def timestamp(self) -> datetime:
        return self.record.timestamp

    @property
    def events(self) -> int:
        """Events counted: a source's count, or delivery attempts; 0 for a gauge sample."""
        record = self.record
        if isinstance(record, SourceEvents):
            return record.count
        if isinstance(record, DeliveryResult):
            return record.delivered + record.failed
        return 0

    def value(self) -> bytes:
        return orjson.dumps(self.record.model_dump(mode="json"))


def to_millis(moment: datetime) -> datetime:
    """`moment` truncated to the millisecond: what its RFC 3339 form carries."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def emit(record: InputRecord) -> Emission:
    """Wrap a validated record; the key is its subject id, as the worker demands."""
    topic: TopicKey = "delivery-results" if isinstance(record, DeliveryResult) else "pipeline-events"
    return Emission(topic, record.subject_key, record)


def source_events(world: World, source_id: str, timestamp: datetime, count: int) -> Emission:
    return emit(
        SourceEvents(
            type="source_events",
            workspace_id=world.workspace_id,
            source_id=source_id,
            timestamp=to_millis(timestamp),
            count=count,
        )
    )


Builder = Callable[[datetime, int, int], Emission]
"""(timestamp, delivered, failed) -> a delivery-results record for one subject."""


def delivery_result(
    world: World,
    timestamp: datetime,
    delivered: int,
    failed: int,
    *,
    kind: Literal["destination", "mapping", "activation"],
    destination_id: str,
    source_id: str | None = None,
    mapping_id: str | None = None,
    audience_id: str | None = None,
) -> Emission:
    return emit(
        DeliveryResult(
            workspace_id=world.workspace_id,
            kind=kind,
            source_id=source_id,
            destination_id=destination_id,
            mapping_id=mapping_id,
            audience_id=audience_id,
            timestamp=to_millis(timestamp),
            delivered=delivered,
            failed=failed,
        )
    )


def destination_builder(world: World, destination: Destination, source_id: str) -> Builder:
    def build(timestamp: datetime, delivered: int, failed: int) -> Emission:
        return delivery_result(
            world, timestamp, delivered, failed,
            kind="destination", destination_id=destination.id, source_id=source_id,
        )  # fmt: skip

    return build


def mapping_builder(world: World, mapping: RetlMapping) -> Builder:
    def build(timestamp: datetime, delivered: int, failed: int) -> Emission:
        return delivery_result(
            world, timestamp, delivered, failed,
            kind="mapping", destination_id=mapping.destination_id, mapping_id=mapping.id,
        )  # fmt: skip

    return build


def activation_builder(world: World, audience: Audience) -> Builder:
    def build(timestamp: datetime, delivered: int, failed: int) -> Emission:
        return delivery_result(
            world, timestamp, delivered, failed,
            kind="activation", destination_id=audience.destination_id, audience_id=audience.id,
        )  # fmt: skip

    return build


def audience_size(
    world: World, audience_id: str, timestamp: datetime, size: int, destination_id: str | None = None
) -> Emission:
    return emit(
        AudienceSize(
            type="audience_size",
            workspace_id=world.workspace_id,
            audience_id=audience_id,
            destination_id=destination_id,
            timestamp=to_millis(timestamp),
            size=size,
        )
    )


def _failure_rate(base: float, subject: str, timestamp: datetime, plan: Plan, rng: random.Random) -> float:
    if timestamp >= plan.current_start and subject in plan.anomalies.failures:
        return plan.anomalies.failures[subject]
    return base * rng.uniform(0.5, 1.5)


def _slices(start: datetime, span: timedelta, slices: int) -> list[tuple[datetime, datetime, datetime]]:
    """(start, end, midpoint) of each slice; the midpoints are never on an hour boundary."""
    bounds = [start + span * i / slices for i in range(slices + 1)]
    return [(a, b, a + (b - a) / 2) for a, b in itertools.pairwise(bounds)]


def hour_records(
    world: World, plan: Plan, hour: datetime, slices: int = 4, single_events: bool = False
) -> list[Emission]:
    """Every record of one planned hour, in timestamp order.

    Pre-aggregated: per subject, one record per slice of the hour (count = events of the slice),
    and per source one delivery result per destination it feeds. `single_events`: one record per
    event (count 1) and per delivery attempt. Audience sizes: two samples per slice, with and
    without the destination.
    """
    parts = _slices(hour, plan.span(hour), slices)
    out: list[Emission] = []

    def occurrences(
        rng: random.Random, count: int, start: datetime, end: datetime, middle: datetime
    ) -> list[tuple[datetime, int]]:
        """(timestamp, events) of one slice: one pair, or one per event at random times."""
        if not single_events:
            return [(middle, count)]
        return sorted((start + (end - start) * rng.random(), 1) for _ in range(count))

    def deliver(
        rng: random.Random, base: float, subject: str, moment: datetime, attempts: int, build: Builder
    ) -> None:
        rate = _failure_rate(base, subject, moment, plan, rng)
        failed = draw_failures(attempts, rate, rng)
        out.append(build(moment, attempts - failed, failed))

    for source in world.sources:
        rng = subject_rng(plan.seed, "records", source.id, hour.isoformat())
        per_slice = distribute(plan.volumes[source.id][hour], [rng.uniform(0.85, 1.15) for _ in parts])
        feeds = [
            (dest, destination_builder(world, dest, source.id))
            for dest in world.destinations
            if source.id in dest.source_ids
        ]
        for (start, end, middle), count in zip(parts, per_slice, strict=True):
            for moment, events in occurrences(rng, count, start, end, middle) if count else ():
                out.append(source_events(world, source.id, moment, events))
                for dest, build in feeds:
                    attempts = stochastic_round(events * dest.fraction, rng)
                    if attempts:
                        deliver(rng, dest.failure_rate, dest.id, moment, attempts, build)

    deliveries = [(m.id, m.failure_rate, mapping_builder(world, m)) for m in world.mappings] + [
        (a.id, a.failure_rate, activation_builder(world, a)) for a in world.audiences
    ]
    for subject, base, build in deliveries:
        rng = subject_rng(plan.seed, "records", subject, hour.isoformat())
        per_slice = distribute(plan.volumes[subject][hour], [rng.uniform(0.85, 1.15) for _ in parts])
        for (start, end, middle), count in zip(parts, per_slice, strict=True):
            for moment, attempts in occurrences(rng, count, start, end, middle) if count else ():
                deliver(rng, base, subject, moment, attempts, build)

    for audience in world.audiences:
        rng = subject_rng(plan.seed, "sizes", audience.id, hour.isoformat())
        for _, _, middle in parts:
            size = plan.size_at(audience.id, middle)
            synced = round(size * audience.synced_fraction * rng.uniform(0.998, 1.002))
            out.append(audience_size(world, audience.id, middle, size))
            out.append(audience_size(world, audience.id, middle, synced, audience.destination_id))
    out.sort(key=lambda e: e.timestamp)
    return out


def backfill_hours_from(plan: Plan, backfill_hours: int) -> list[datetime]:
    """The planned hours to publish: the last `backfill_hours` complete hours (never older than the
    plan's start; the worker accepts up to 15 days back) and the hour in progress."""
    if backfill_hours <= 0:
        return []
    first = max(plan.start, plan.hour - backfill_hours * HOUR)
    return [h for h in plan.hours if h >= first]


def backfill_records(
    world: World, plan: Plan, backfill_hours: int = 48, slices: int = 4, single_events: bool = False
) -> Iterator[tuple[datetime, list[Emission]]]:
    """(hour, its records) for every hour of the backfill, oldest first."""
    for hour in backfill_hours_from(plan, backfill_hours):
        yield hour, hour_records(world, plan, hour, slices, single_events)


@dataclass(frozen=True)
class _LiveItem:
    kind: Literal["source", "delivery", "gauge"]
    subject: str
    """The source id, the subject of the delivery (its failure anomaly), or the audience id."""
    failure_rate: float = 0.0
    build: Builder | None = None
    audience: Audience | None = None


class LiveTraffic:
    """Records for the live phase: small pre-aggregated counts (or single events) stamped `now`,
    mixed in proportion to each subject's traffic, anomalies applied."""

    GAUGE_SHARE = 0.01
    """Share of the live records that are audience-size samples."""

    def __init__(
        self, world: World, plan: Plan, rng: random.Random, single_events: bool = False, max_count: int = 19
    ) -> None:
        self.world, self.plan, self.rng = world, plan, rng
        self.single_events, self.max_count = single_events, max_count
        factor = plan.anomalies.volume_factor
        self.sizes = {a.id: float(plan.size_at(a.id, plan.now, shifted=False)) for a in world.audiences}
        weighted: list[tuple[_LiveItem, float]] = []
        for source in world.sources:
            weight = source.share * factor(source.id)
            weighted.append((_LiveItem("source", source.id), weight))
            for dest in world.destinations:
                if source.id in dest.source_ids:
                    build = destination_builder(world, dest, source.id)
                    item = _LiveItem("delivery", dest.id, dest.failure_rate, build)
                    weighted.append((item, weight * dest.fraction))
        for mapping in world.mappings:
            item = _LiveItem("delivery", mapping.id, mapping.failure_rate, mapping_builder(world, mapping))
            weighted.append((item, mapping.scale * factor(mapping.id)))
        for audience in world.audiences:
            item = _LiveItem(
                "delivery", audience.id, audience.failure_rate, activation_builder(world, audience)
            )
            weighted.append((item, audience.scale * factor(audience.id)))
        total = sum(weight for _, weight in weighted)
        for audience in world.audiences:
            share = total * self.GAUGE_SHARE / len(world.audiences)
            weighted.append((_LiveItem("gauge", audience.id, audience=audience), share))
        self.items = [item for item, _ in weighted]
        self.cum_weights = list(itertools.accumulate(weight for _, weight in weighted))

    def _count(self) -> int:
        return 1 if self.single_events else self.rng.randint(1, self.max_count)

    def _failure_rate(self, base: float, subject: str) -> float:
        failures = self.plan.anomalies.failures
        return failures[subject] if subject in failures else base * self.rng.uniform(0.5, 1.5)

    def batch(self, now: datetime, n: int) -> list[Emission]:
        """`n` records stamped `now`."""
        world, rng = self.world, self.rng
        out = []
        for item in rng.choices(self.items, cum_weights=self.cum_weights, k=n):
            if item.kind == "source":
                out.append(source_events(world, item.subject, now, self._count()))
            elif item.kind == "delivery":
                assert item.build is not None
                attempts = self._count()
                failed = draw_failures(attempts, self._failure_rate(item.failure_rate, item.subject), rng)
                out.append(item.build(now, attempts - failed, failed))
            else:
                audience = item.audience
                assert audience is not None
                self.sizes[audience.id] *= 1 + rng.gauss(0.0, 0.0002)
                shift = self.plan.anomalies.audience_shift.get(audience.id, 1.0)
                size = round(self.sizes[audience.id] * shift)
                if rng.random() < 0.5:
                    out.append(audience_size(world, audience.id, now, size))
                else:
                    synced = round(size * audience.synced_fraction)
                    out.append(audience_size(world, audience.id, now, synced, audience.destination_id))
        return out
