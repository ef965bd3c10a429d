"""`streamalert simulate`: realistic pipeline metrics for demos and benchmarks (SPEC §5.3).

Two layers, kept apart:

- pure generation: the entities of one workspace (`build_world`), the daily curve (`diurnal`),
  the hourly plan with its anomalies (`plan_traffic`), and the records built from it
  (`hour_records`, `backfill_records`, `LiveTraffic`). Everything takes `now` and a
  `random.Random`, so a seed repeats a run exactly;
- Kafka I/O: the topic check, a batching producer, the backfill and the live phase.

Volumes are planned per 24-hour window as the worker sees them (SPEC §2): the baseline window
[H - 48h, H - 24h) and the current window [H - 24h, H) hold the same total for a subject, spread
over the hours by the daily curve and some noise. Only the anomalies asked for move a subject's
current window away from its baseline, so an alert fires where the user expects it and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import click
import orjson
from pydantic import TypeAdapter, ValidationError

from streamalert.counting.windows import HOUR, floor_hour, windows_at
from streamalert.records.common import Id
from streamalert.records.inputs import AudienceSize, DeliveryResult, SourceEvents

if TYPE_CHECKING:
    from aiokafka.producer.message_accumulator import BatchBuilder

TopicKey = Literal["pipeline-events", "delivery-results"]
TOPICS: tuple[TopicKey, ...] = ("pipeline-events", "delivery-results")
InputRecord = SourceEvents | AudienceSize | DeliveryResult

# ---------------------------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------------------------

# name: (traffic share, daily amplitude, peak hour UTC). Server-side sources are flatter.
SOURCE_PROFILES: dict[str, tuple[float, float, float]] = {
    "web": (1.4, 0.6, 13.0),
    "ios": (1.0, 0.7, 14.0),
    "android": (0.9, 0.7, 13.5),
    "server": (0.7, 0.3, 12.0),
    "pos": (0.5, 0.8, 12.5),
    "partner": (0.6, 0.4, 11.0),
    "kiosk": (0.3, 0.8, 13.0),
    "backend": (0.6, 0.25, 12.0),
}
SERVER_SIDE = frozenset({"server", "partner", "backend"})
BASE_FAILURE_RATE = 0.005
"""Around 99.5 % of deliveries succeed; each record's rate varies around its subject's own."""


@dataclass(frozen=True)
class Source:
    id: str
    share: float
    """Traffic relative to the average source (the shares average 1)."""
    amplitude: float
    peak_hour: float


@dataclass(frozen=True)
class Destination:
    """A cloud-mode destination: receives a fraction of the events of the sources feeding it."""

    id: str
    source_ids: tuple[str, ...]
    fraction: float
    failure_rate: float


@dataclass(frozen=True)
class RetlMapping:
    """A reverse-ETL mapping: rows synced from the warehouse to a destination, fairly flat."""

    id: str
    destination_id: str
    scale: float
    """Rows per hour relative to `--events-per-hour`."""
    amplitude: float
    peak_hour: float
    failure_rate: float


@dataclass(frozen=True)
class Audience:
    """An audience: a gauge of its size, and its activation (members delivered) to a destination."""

    id: str
    destination_id: str
    initial_size: int
    synced_fraction: float
    """Share of the audience matched in the destination: the size reported with destination_id."""
    scale: float
    """Activation deliveries per hour relative to `--events-per-hour`."""
    amplitude: float
    peak_hour: float
    failure_rate: float


@dataclass(frozen=True)
class VolumeSubject:
    """Anything whose hourly volume is planned: a source, a mapping, an audience's activation."""

    id: str
    kind: Literal["source", "mapping", "activation"]
    scale: float
    amplitude: float
    peak_hour: float


@dataclass(frozen=True)
class World:
    workspace_id: str
    sources: tuple[Source, ...]
    destinations: tuple[Destination, ...]
    mappings: tuple[RetlMapping, ...]
    audiences: tuple[Audience, ...]

    def volume_subjects(self) -> list[VolumeSubject]:
        return (
            [VolumeSubject(s.id, "source", s.share, s.amplitude, s.peak_hour) for s in self.sources]
            + [VolumeSubject(m.id, "mapping", m.scale, m.amplitude, m.peak_hour) for m in self.mappings]
            + [VolumeSubject(a.id, "activation", a.scale, a.amplitude, a.peak_hour) for a in self.audiences]
        )

    def subject_ids(self, *kinds: str) -> list[str]:
        """Ids of the named kinds: source, destination, mapping, audience."""
        groups: dict[str, Iterable[str]] = {
            "source": (s.id for s in self.sources),
            "destination": (d.id for d in self.destinations),
            "mapping": (m.id for m in self.mappings),
            "audience": (a.id for a in self.audiences),
        }
        return [subject for kind in kinds for subject in groups[kind]]


def source_names(count: int) -> list[str]:
    names = list(SOURCE_PROFILES)[:count]
    return names + [f"source-{i}" for i in range(len(names) + 1, count + 1)]


def build_world(workspace_id: str, sources: int = 4) -> World:
    """The entities of the simulated workspace; ids are fixed and readable."""
    if sources < 1:
        raise ValueError("at least one source")
    profiles = [SOURCE_PROFILES.get(name, (0.5, 0.5, 13.0)) for name in source_names(sources)]
    mean_share = sum(p[0] for p in profiles) / len(profiles)
    built = tuple(
        Source(name, share / mean_share, amplitude, peak)
        for name, (share, amplitude, peak) in zip(source_names(sources), profiles, strict=True)
    )
    all_ids = tuple(s.id for s in built)
    client = tuple(s.id for s in built if s.id not in SERVER_SIDE) or all_ids[:1]
    return World(
        workspace_id=workspace_id,
        sources=built,
        destinations=(
            Destination("warehouse", all_ids, fraction=1.0, failure_rate=0.003),
            Destination("analytics", client, fraction=0.8, failure_rate=0.004),
            Destination("ads", client, fraction=0.35, failure_rate=0.007),
        ),
        mappings=(RetlMapping("m-orders-to-crm", "crm", 0.4, 0.2, 13.0, BASE_FAILURE_RATE),),
        audiences=(Audience("vip-customers", "ads", 25_000, 0.93, 0.15, 0.5, 14.0, 0.004),),
    )


# ---------------------------------------------------------------------------------------------
# Anomalies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anomalies:
    """What differs in the current window (and the live phase), by subject id."""

    volume: Mapping[str, float] = field(default_factory=dict)
    """Volume factor: `--drop web=60` is 0.4, `--spike web=50` is 1.5."""
    failures: Mapping[str, float] = field(default_factory=dict)
    """Failure rate (0..1) of a destination, mapping or audience activation."""
    audience_shift: Mapping[str, float] = field(default_factory=dict)
    """Audience size factor: `--audience-shift vip-customers=-30` is 0.7."""

    def volume_factor(self, subject: str) -> float:
        return self.volume.get(subject, 1.0)

    @classmethod
    def from_percentages(
        cls,
        world: World,
        drop: Mapping[str, float] | None = None,
        spike: Mapping[str, float] | None = None,
        failures: Mapping[str, float] | None = None,
        audience_shift: Mapping[str, float] | None = None,
    ) -> Anomalies:
        """From the command's SUBJECT=PCT options; ValueError names a subject that cannot take it."""
        drop, spike = drop or {}, spike or {}
        failures, audience_shift = failures or {}, audience_shift or {}

        def check(option: str, subjects: Iterable[str], allowed: list[str], what: str) -> None:
            for subject in subjects:
                if subject not in allowed:
                    raise ValueError(
                        f"{option} {subject}: not a {what} of this simulation; one of {', '.join(allowed)}"
                    )

        volume_ids = world.subject_ids("source", "mapping", "audience")
        check("--drop", drop, volume_ids, "source, mapping or audience")
        check("--spike", spike, volume_ids, "source, mapping or audience")
        check(
            "--failures",
            failures,
            world.subject_ids("destination", "mapping", "audience"),
            "destination, mapping or audience",
        )
        check("--audience-shift", audience_shift, world.subject_ids("audience"), "audience")
        both = sorted(set(drop) & set(spike))
        if both:
            raise ValueError(f"{', '.join(both)}: given to both --drop and --spike")
        for option, values, low, high in (
            ("--drop", drop, 0, 100),
            ("--spike", spike, 0, math.inf),
            ("--failures", failures, 0, 100),
        ):
            for subject, pct in values.items():
                if not low <= pct <= high:
                    raise ValueError(f"{option} {subject}={pct:g}: out of range")
        for subject, pct in audience_shift.items():
            if pct <= -100:
                raise ValueError(f"--audience-shift {subject}={pct:g}: a size cannot shrink by 100 % or more")
        volume = {s: 1 - p / 100 for s, p in drop.items()} | {s: 1 + p / 100 for s, p in spike.items()}
        return cls(
            volume=volume,
            failures={s: p / 100 for s, p in failures.items()},
            audience_shift={s: 1 + p / 100 for s, p in audience_shift.items()},
        )

    def describe(self) -> list[str]:
        lines = []
        for subject, factor in self.volume.items():
            verb = "drop" if factor < 1 else "spike"
            lines.append(f"{subject}: volume {verb} {abs(factor - 1) * 100:g} % against the baseline")
        for subject, rate in self.failures.items():
            lines.append(f"{subject}: {rate * 100:g} % of deliveries fail")
        for subject, factor in self.audience_shift.items():
            lines.append(f"{subject}: audience size {(factor - 1) * 100:+g} %")
        return lines


# ---------------------------------------------------------------------------------------------
# The plan: events per subject per hour
# ---------------------------------------------------------------------------------------------


def diurnal(hour_of_day: float, amplitude: float = 0.6, peak_hour: float = 13.0) -> float:
    """Relative traffic at a UTC hour of day: 1 on average over a day, highest at `peak_hour`,
    lowest twelve hours later (night). `amplitude` < 1 keeps it positive."""
    return 1.0 + amplitude * math.cos(2 * math.pi * (hour_of_day - peak_hour) / 24)


def distribute(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, exactly (largest remainder)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def subject_rng(seed: int, *parts: object) -> random.Random:
    """A generator of its own per subject (and hour): an anomaly on one subject, or the number of
    sources, never changes another subject's numbers."""
    return random.Random("|".join([str(seed), *map(str, parts)]))


def stochastic_round(value: float, rng: random.Random) -> int:
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)


def draw_failures(attempts: int, rate: float, rng: random.Random) -> int:
    """Failures among `attempts` deliveries that each fail with probability `rate` (binomial)."""
    if attempts <= 0 or rate <= 0:
        return 0
    if rate >= 1:
        return attempts
    if attempts <= 50:
        return sum(1 for _ in range(attempts) if rng.random() < rate)
    mean = attempts * rate
    drawn = round(rng.gauss(mean, math.sqrt(mean * (1 - rate))))
    return min(attempts, max(0, drawn))


@dataclass(frozen=True)
class Plan:
    """Events per volume subject per hour, audience sizes per hour, from H - 48h up to `now`."""

    now: datetime
    hour: datetime
    """H: `now` floored to the hour. The hour H itself is planned only up to `now`."""
    seed: int
    anomalies: Anomalies
    volumes: dict[str, dict[datetime, int]]
    sizes: dict[str, dict[datetime, int]]
    """Audience size at each hour start (without any shift), H - 48h to H + 1h."""

    @property
    def baseline_start(self) -> datetime:
        return self.hour - 48 * HOUR

    @property
    def current_start(self) -> datetime:
        return self.hour - 24 * HOUR

    @property
    def hours(self) -> list[datetime]:
        return [self.baseline_start + i * HOUR for i in range(49)]

    def span(self, hour: datetime) -> timedelta:
        """How much of `hour` is in the past: one hour, or up to `now` for H."""
        return HOUR if hour < self.hour else self.now - self.hour

    def window_total(self, subject: str, start: datetime, end: datetime) -> int:
        return sum(count for hour, count in self.volumes[subject].items() if start <= hour < end)

    def size_at(self, audience: str, moment: datetime, shifted: bool = True) -> int:
        """The audience's size at `moment`, between hourly values, with its shift if any."""
        hour = floor_hour(moment)
        sizes = self.sizes[audience]
        low, high = sizes[hour], sizes.get(hour + HOUR, sizes[hour])
        size = low + (high - low) * ((moment - hour) / HOUR)
        if shifted and moment >= self.current_start:
            size *= self.anomalies.audience_shift.get(audience, 1.0)
        return max(0, round(size))


def plan_traffic(
    world: World,
    now: datetime,
    rng: random.Random,
    events_per_hour: int = 1000,
    anomalies: Anomalies | None = None,
) -> Plan:
    """Hourly volumes from the baseline window start (H - 48h) to `now`, anomalies applied.

    Each 24-hour window gets the same total per subject (`events_per_hour` x its scale x 24),
    spread over the hours by the daily curve and ±6 % noise; an anomaly multiplies the current
    window's total, so `--drop web=60` gives current = 0.4 x baseline exactly (up to rounding).
    """
    anomalies = anomalies or Anomalies()
    now = now.astimezone(UTC)
    windows = windows_at(now)
    hour = floor_hour(now)
    seed = rng.getrandbits(64)
    baseline_hours = [windows.baseline_start + i * HOUR for i in range(24)]
    current_hours = [windows.current_start + i * HOUR for i in range(24)]
    elapsed = (now - hour) / HOUR

    volumes: dict[str, dict[datetime, int]] = {}
    for subject in world.volume_subjects():
        srng = subject_rng(seed, "volume", subject.id)
        per_hour = events_per_hour * subject.scale

        def weight(h: datetime, subject: VolumeSubject = subject, srng: random.Random = srng) -> float:
            noise = min(1.3, max(0.7, srng.gauss(1.0, 0.06)))
            return diurnal(h.hour + 0.5, subject.amplitude, subject.peak_hour) * noise

        weights = {h: weight(h) for h in [*baseline_hours, *current_hours, hour]}
        total = round(per_hour * 24)
        factor = anomalies.volume_factor(subject.id)
        counts = dict(
            zip(baseline_hours, distribute(total, [weights[h] for h in baseline_hours]), strict=True)
        )
        current = distribute(round(total * factor), [weights[h] for h in current_hours])
        counts |= dict(zip(current_hours, current, strict=True))
        counts[hour] = round(per_hour * weights[hour] * factor * elapsed)
        volumes[subject.id] = counts

    sizes: dict[str, dict[datetime, int]] = {}
    for audience in world.audiences:
        srng = subject_rng(seed, "size", audience.id)
        size = audience.initial_size * srng.uniform(0.95, 1.05)
        by_hour = {}
        for i in range(50):  # H - 48h … H + 1h
            by_hour[windows.baseline_start + i * HOUR] = round(size)
            size *= 1 + srng.gauss(0.0002, 0.0006)  # slow growth, about +0.5 % a day
        sizes[audience.id] = by_hour
    return Plan(now=now, hour=hour, seed=seed, anomalies=anomalies, volumes=volumes, sizes=sizes)


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


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
    """`moment` truncated to the millisecond: what its RFC 3339 form carries (SPEC §3)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def emit(record: InputRecord) -> Emission:
    """Wrap a validated record; the key is its subject id, as the worker demands (SPEC §3)."""
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
    baseline window start, the oldest the worker accepts) and the hour in progress."""
    if backfill_hours <= 0:
        return []
    first = max(plan.baseline_start, plan.hour - backfill_hours * HOUR)
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


# ---------------------------------------------------------------------------------------------
# What the worker will see (from the records actually published)
# ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Records and events per topic, and the numbers an evaluation at `now` would compare."""

    now: datetime
    records: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    gauges: Counter[str] = field(default_factory=Counter)
    volume: dict[tuple[str, str], int] = field(default_factory=dict)
    """(subject, "current"|"baseline") → events (sources) or delivered (activations)."""
    outcomes: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Destination or mapping → (delivered, failed) in the current window."""
    sizes: dict[tuple[str, str], tuple[datetime, int]] = field(default_factory=dict)
    """(audience[/destination], "current"|"baseline") → latest sample at or before the window end."""

    def __post_init__(self) -> None:
        self.windows = windows_at(self.now)

    def add(self, emission: Emission) -> None:
        record = emission.record
        self.records[emission.topic] += 1
        self.events[emission.topic] += emission.events
        windows = self.windows
        moment = record.timestamp
        window = (
            "current"
            if windows.current_start <= moment < windows.current_end
            else "baseline"
            if windows.baseline_start <= moment < windows.baseline_end
            else None
        )
        if isinstance(record, SourceEvents):
            if window:
                key = (record.source_id, window)
                self.volume[key] = self.volume.get(key, 0) + record.count
        elif isinstance(record, DeliveryResult):
            self.failed[emission.topic] += record.failed
            if window and record.kind == "activation":
                key = (emission.key, window)
                self.volume[key] = self.volume.get(key, 0) + record.delivered
            elif window == "current":
                delivered, failed = self.outcomes.get(emission.key, (0, 0))
                self.outcomes[emission.key] = (delivered + record.delivered, failed + record.failed)
        else:
            self.gauges[emission.topic] += 1
            subject = record.audience_id + (f"/{record.destination_id}" if record.destination_id else "")
            for name, end in (("current", windows.current_end), ("baseline", windows.baseline_end)):
                latest = self.sizes.get((subject, name))
                if moment <= end and (latest is None or moment >= latest[0]):
                    self.sizes[(subject, name)] = (moment, record.size)

    def change(self, subject: str) -> tuple[int, int] | None:
        """(current, baseline) of a volume subject, or None when the baseline is empty."""
        baseline = self.volume.get((subject, "baseline"), 0)
        return (self.volume.get((subject, "current"), 0), baseline) if baseline else None

    def size_change(self, subject: str) -> tuple[int, int] | None:
        current, baseline = self.sizes.get((subject, "current")), self.sizes.get((subject, "baseline"))
        return (current[1], baseline[1]) if current and baseline and baseline[1] else None

    def rate(self, subject: str) -> float | None:
        delivered, failed = self.outcomes.get(subject, (0, 0))
        return 100 * delivered / (delivered + failed) if delivered + failed else None


def preview_lines(world: World, tally: Tally) -> list[str]:
    """What an evaluation before the next hour will compare, subject by subject."""
    windows = windows_at(tally.now)
    lines = [f"what an evaluation before {windows.current_end + HOUR:%H:%M} UTC will see:"]

    def change_line(label: str, pair: tuple[int, int] | None) -> str:
        if pair is None:
            return f"  {label:44} insufficient data (no baseline)"
        current, baseline = pair
        return (
            f"  {label:44} {current:>10,} vs {baseline:>10,}  {(current - baseline) * 100 / baseline:+7.1f} %"
        )

    for source in world.sources:
        lines.append(change_line(f"source_volume  source_id={source.id}", tally.change(source.id)))
    for dest in world.destinations:
        rate = tally.rate(dest.id)
        shown = "no deliveries" if rate is None else f"{rate:.2f} % delivered"
        lines.append(f"  {'destination_delivery_rate  destination_id=' + dest.id:44} {shown}")
    for mapping in world.mappings:
        rate = tally.rate(mapping.id)
        shown = "no deliveries" if rate is None else f"{rate:.2f} % delivered"
        lines.append(f"  {'mapping_delivery_rate  mapping_id=' + mapping.id:44} {shown}")
    for audience in world.audiences:
        label = f"activation_volume  {audience.id} → {audience.destination_id}"
        lines.append(change_line(label, tally.change(audience.id)))
        lines.append(change_line(f"audience_size  audience_id={audience.id}", tally.size_change(audience.id)))
        synced = f"{audience.id}/{audience.destination_id}"
        lines.append(
            change_line(
                f"audience_size  {audience.id} @ {audience.destination_id}", tally.size_change(synced)
            )
        )
    return lines


def describe_world(world: World) -> list[str]:
    """The subject ids, by the alert kind that watches them."""
    destinations = ", ".join(f"{d.id} (from {', '.join(d.source_ids)})" for d in world.destinations)
    mappings = ", ".join(f"{m.id} (to {m.destination_id})" for m in world.mappings)
    activations = ", ".join(
        f"audience_id {a.id} + destination_id {a.destination_id}" for a in world.audiences
    )
    audiences = ", ".join(f"{a.id} (optionally destination_id {a.destination_id})" for a in world.audiences)
    return [
        f"  {'source_volume':27} source_id: {', '.join(s.id for s in world.sources)}",
        f"  {'destination_delivery_rate':27} destination_id: {destinations}",
        f"  {'mapping_delivery_rate':27} mapping_id: {mappings}",
        f"  {'activation_volume':27} {activations}",
        f"  {'audience_size':27} audience_id: {audiences}",
    ]


# ---------------------------------------------------------------------------------------------
# Kafka I/O
# ---------------------------------------------------------------------------------------------


def topic_names(prefix: str) -> dict[TopicKey, str]:
    from streamalert.settings import Settings
    from streamalert.topics import topic_name

    settings = Settings(topic_prefix=prefix)
    return {topic: topic_name(settings, topic) for topic in TOPICS}


async def missing_topics(bootstrap: str, names: Iterable[str]) -> list[str]:
    """The names that do not exist. Lists every topic (a null list): describing named topics could
    auto-create them."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="streamalert-simulate")
    try:
        await admin.start()
        existing = {t["topic"] for t in await admin.describe_topics(None)}
    except KafkaError as error:
        raise click.ClickException(f"cannot reach Kafka at {bootstrap}: {error}") from None
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return [name for name in names if name not in existing]


class KeyHashPartitioner:
    """The partition of a key as aiokafka's default partitioner (and the Java client) picks it:
    murmur2 of the key modulo the partition count; each key's hash is computed once."""

    def __init__(self) -> None:
        from aiokafka.partitioner import murmur2

        self._murmur2 = murmur2
        self._hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes, partitions: Sequence[int]) -> int:
        hashed = self._hashes.get(key)
        if hashed is None:
            hashed = self._hashes[key] = self._murmur2(key) & 0x7FFFFFFF
        return partitions[hashed % len(partitions)]


class Publisher:
    """A batching producer (acks=all): records are appended to one open batch per partition,
    which is handed to aiokafka when full or on `ship`; `flush` waits for every acknowledgement.

    Building the batches here rather than calling `send` per record is about ten times faster;
    the partition is the one the default partitioner would pick for the key.
    """

    MAX_BATCH = 512 * 1024

    def __init__(self, bootstrap: str, topics: Mapping[TopicKey, str], linger_ms: int = 20) -> None:
        from aiokafka import AIOKafkaProducer

        self.topics = topics
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="streamalert-simulate",
            acks="all",
            linger_ms=linger_ms,
            max_batch_size=self.MAX_BATCH,
            request_timeout_ms=30_000,
        )
        self.partitioner = KeyHashPartitioner()
        self.partitions: dict[str, list[int]] = {}
        self.open: dict[tuple[str, int], BatchBuilder] = {}
        self.pending: list[asyncio.Future[object]] = []

    async def __aenter__(self) -> Publisher:
        from aiokafka.errors import KafkaError

        try:
            await self.producer.start()
            for topic in self.topics.values():
                self.partitions[topic] = sorted(await self.producer.partitions_for(topic))
        except KafkaError as error:
            await self.producer.stop()
            raise click.ClickException(f"cannot publish to Kafka: {error}") from None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                await self.flush()
        finally:
            await self.producer.stop()

    async def send(self, emissions: Iterable[Emission]) -> None:
        for emission in emissions:
            topic = self.topics[emission.topic]
            key, value = emission.key.encode(), emission.value()
            partition = self.partitioner(key, self.partitions[topic])
            batch = self.open.get((topic, partition))
            if batch is None:
                batch = self.open[(topic, partition)] = self.producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                await self._ship(topic, partition, batch)
                batch = self.open[(topic, partition)] = self.producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise click.ClickException(f"a record of {len(value)} bytes does not fit in a batch")
        if len(self.pending) >= 256:
            await self.flush()

    async def _ship(self, topic: str, partition: int, batch: BatchBuilder) -> None:
        batch.close()
        self.pending.append(await self.producer.send_batch(batch, topic, partition=partition))

    async def ship(self) -> None:
        """Hand every open batch to the producer, without waiting for the acknowledgements."""
        batches, self.open = self.open, {}
        for (topic, partition), batch in batches.items():
            await self._ship(topic, partition, batch)

    async def flush(self) -> None:
        """Ship the open batches and wait until all is acknowledged; raise the first error."""
        await self.ship()
        pending, self.pending = self.pending, []
        if pending:
            await asyncio.gather(*pending)


@dataclass
class Options:
    bootstrap: str
    prefix: str
    world: World
    events_per_hour: int
    backfill_hours: int
    slices: int
    anomalies: Anomalies
    rate: float
    duration: float | None
    single_events: bool
    single_events_backfill: bool
    seed: int
    report_every: float = 5.0


def _progress_label(hour: datetime | None) -> str:
    return f"{hour:%Y-%m-%d %H:00}" if hour else ""


async def run(options: Options, now: datetime | None = None) -> Tally:
    """Check the topics, publish the backfill, then the live phase if asked; return the tally."""
    names = topic_names(options.prefix)
    missing = await missing_topics(options.bootstrap, names.values())
    if missing:
        raise click.ClickException(
            f"missing topic(s) {', '.join(missing)} on {options.bootstrap}: run `streamalert topics create` "
            f"(with STREAMALERT_TOPIC_PREFIX={options.prefix}) or start a worker, then try again"
        )
    now = now or datetime.now(UTC)
    rng = random.Random(options.seed)
    world = options.world
    plan = plan_traffic(world, now, rng, options.events_per_hour, options.anomalies)
    tally = Tally(now=now)
    async with Publisher(options.bootstrap, names) as publisher:
        hours = backfill_hours_from(plan, options.backfill_hours)
        if hours:
            to_next_hour = (plan.hour + HOUR - now).total_seconds()
            if to_next_hour < 120:
                click.echo(
                    f"note: the hour ends in {to_next_hour:.0f} s; the worker then drops the oldest "
                    "backfilled hour (older than the new baseline window start)",
                    err=True,
                )
            started = time.monotonic()
            records = 0
            with click.progressbar(
                length=len(hours),
                label="backfill",
                file=sys.stderr,
                item_show_func=_progress_label,
                show_pos=True,
            ) as bar:
                for hour, emissions in backfill_records(
                    world, plan, options.backfill_hours, options.slices, options.single_events_backfill
                ):
                    await publisher.send(emissions)
                    for emission in emissions:
                        tally.add(emission)
                    records += len(emissions)
                    bar.update(1, hour)
                await publisher.flush()
            elapsed = max(time.monotonic() - started, 1e-9)
            click.echo(
                f"backfill: {records:,} records in {elapsed:.2f} s ({records / elapsed:,.0f} records/s)"
            )
            _echo_summary(tally, names)
            for line in preview_lines(world, tally):
                click.echo(line)
        if options.rate > 0:
            await live(options, plan, publisher, tally, rng, names)
    return tally


def _echo_summary(tally: Tally, names: Mapping[TopicKey, str]) -> None:
    for topic in TOPICS:
        records, events = tally.records[topic], tally.events[topic]
        if topic == "pipeline-events":
            detail = f"{events:>12,} events, {tally.gauges[topic]:,} audience-size samples"
        else:
            detail = f"{events:>12,} attempts, {tally.failed[topic]:,} failed"
        click.echo(f"  {names[topic]:40} {records:>10,} records {detail}")


async def live(
    options: Options,
    plan: Plan,
    publisher: Publisher,
    tally: Tally,
    rng: random.Random,
    names: Mapping[TopicKey, str],
) -> None:
    """Publish about `options.rate` records per second until the duration ends or Ctrl-C."""
    traffic = LiveTraffic(options.world, plan, rng, options.single_events)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    until = f"for {options.duration:g} s" if options.duration else "until Ctrl-C"
    click.echo(f"live: about {options.rate:g} records/s {until}", err=True)
    tick = 0.1
    started = last_report = time.monotonic()
    sent = reported = 0
    live_tally = Tally(now=plan.now)
    try:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if options.duration is not None and elapsed >= options.duration:
                break
            # Catch up with the target, by at most half a second's worth at a time.
            due = min(int(options.rate * elapsed) - sent, max(1, int(options.rate / 2)))
            if due > 0:
                emissions = traffic.batch(datetime.now(UTC), due)
                await publisher.send(emissions)
                await publisher.ship()
                for emission in emissions:
                    live_tally.add(emission)
                sent += due
            current = time.monotonic()
            if current - last_report >= options.report_every:
                await publisher.flush()
                rate = (sent - reported) / (current - last_report)
                events = live_tally.events["pipeline-events"]
                click.echo(
                    f"live {datetime.now(UTC):%H:%M:%S}  {rate:>10,.0f} records/s  "
                    f"{sent:>12,} records  {events:>14,} source events",
                    err=True,
                )
                last_report, reported = current, sent
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick)
        await publisher.flush()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    elapsed = max(time.monotonic() - started, 1e-9)
    click.echo(f"live: {sent:,} records in {elapsed:.1f} s ({sent / elapsed:,.0f} records/s)")
    _echo_summary(live_tally, names)
    for topic in TOPICS:
        tally.records[topic] += live_tally.records[topic]
        tally.events[topic] += live_tally.events[topic]


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

_id_adapter: TypeAdapter[str] = TypeAdapter(Id)


def _parse_workspace(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return _id_adapter.validate_python(value)
    except ValidationError:
        raise click.BadParameter(f"{value!r} is not a valid id (letters, digits, _ . : @ -)") from None


def _parse_assignments(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    parsed: dict[str, float] = {}
    for value in values:
        subject, sep, pct = value.partition("=")
        subject = subject.strip()
        try:
            number = float(pct.strip().rstrip("%"))
        except ValueError:
            number = math.nan
        if not sep or not subject or not math.isfinite(number):
            raise click.BadParameter(f"{value!r}: expected SUBJECT=PCT, e.g. web=60")
        if subject in parsed:
            raise click.BadParameter(f"{subject} given twice")
        parsed[subject] = number
    return parsed


@click.command("simulate")
@click.option(
    "--workspace", default="demo", show_default=True, callback=_parse_workspace, help="workspace id"
)
@click.option("--sources", type=click.IntRange(1, 64), default=4, show_default=True, help="number of sources")
@click.option(
    "--events-per-hour",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="average events per hour per source (the daily curve goes from about 0.3x to 1.7x this)",
)
@click.option(
    "--backfill-hours",
    type=click.IntRange(min=0),
    default=48,
    show_default=True,
    help="hours of history to publish before now (at most 48: the worker rejects older records)",
)
@click.option(
    "--slices",
    type=click.IntRange(1, 60),
    default=4,
    show_default=True,
    help="pre-aggregated records per subject per backfilled hour",
)
@click.option(
    "--drop",
    metavar="SUBJECT=PCT",
    multiple=True,
    callback=_parse_assignments,
    help="current-window volume PCT % below the baseline (source, mapping or audience activation)",
)
@click.option(
    "--spike",
    metavar="SUBJECT=PCT",
    multiple=True,
    callback=_parse_assignments,
    help="current-window volume PCT % above the baseline (source, mapping or audience activation)",
)
@click.option(
    "--failures",
    metavar="SUBJECT=PCT",
    multiple=True,
    callback=_parse_assignments,
    help="PCT % of deliveries fail in the current window (destination, mapping or audience)",
)
@click.option(
    "--audience-shift",
    metavar="AUDIENCE=PCT",
    multiple=True,
    callback=_parse_assignments,
    help="audience size PCT % (signed) away from its size 24 h earlier",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="live records per second after the backfill; 0: no live phase",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    default=None,
    help="seconds of live phase (default: until Ctrl-C)",
)
@click.option("--single-events", is_flag=True, help="live records carry count 1 (one record per event)")
@click.option(
    "--single-events-backfill", is_flag=True, help="the backfill too: one record per event (large!)"
)
@click.option("--seed", type=int, default=None, help="random seed; the same seed and hour repeat a run")
@click.option("--broker", default=None, help="Kafka bootstrap URL (default: STREAMALERT_BROKER)")
@click.option("--prefix", default=None, help="topic prefix (default: STREAMALERT_TOPIC_PREFIX)")
def simulate_command(
    workspace: str,
    sources: int,
    events_per_hour: int,
    backfill_hours: int,
    slices: int,
    drop: dict[str, float],
    spike: dict[str, float],
    failures: dict[str, float],
    audience_shift: dict[str, float],
    rate: float,
    duration: float | None,
    single_events: bool,
    single_events_backfill: bool,
    seed: int | None,
    broker: str | None,
    prefix: str | None,
) -> None:
    """Publish realistic metrics: backfilled history, a daily shape, anomalies on demand.

    \b
    Examples:
      streamalert simulate                                  # 48 h of history for workspace demo
      streamalert simulate --drop web=60 --failures ads=20  # alerts on them fire at once
      streamalert simulate --backfill-hours 0 --rate 5000 --single-events --duration 60
    """
    from streamalert.settings import Settings, get_settings

    settings = get_settings()
    broker = broker or settings.broker
    prefix = prefix or settings.topic_prefix
    bootstrap = Settings(broker=broker, topic_prefix=prefix).bootstrap_servers
    world = build_world(workspace, sources)
    try:
        anomalies = Anomalies.from_percentages(world, drop, spike, failures, audience_shift)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if backfill_hours > 48:
        click.echo("note: --backfill-hours capped at 48 (the worker rejects older records)", err=True)
        backfill_hours = 48
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    names = topic_names(prefix)
    click.echo(
        f"streamalert simulate: workspace {workspace} on {bootstrap}, topics {names['pipeline-events']} "
        f"and {names['delivery-results']}, seed {seed}"
    )
    click.echo("subject ids (create alerts on these):")
    for line in describe_world(world):
        click.echo(line)
    if anomalies.describe():
        since = windows_at(datetime.now(UTC)).current_start
        click.echo(f"anomalies from {since:%Y-%m-%d %H:%M} UTC on (the current window and the live phase):")
        for line in anomalies.describe():
            click.echo(f"  {line}")
    options = Options(
        bootstrap=bootstrap,
        prefix=prefix,
        world=world,
        events_per_hour=events_per_hour,
        backfill_hours=backfill_hours,
        slices=slices,
        anomalies=anomalies,
        rate=rate,
        duration=duration,
        single_events=single_events,
        single_events_backfill=single_events_backfill,
        seed=seed,
    )
    asyncio.run(run(options))
