"""Kafka I/O: the topic check, a batching producer, the backfill and the live phase."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from streamalert.counting.windows import HOUR
from streamalert.simulate.anomalies import Anomalies
from streamalert.simulate.records import (
    TOPICS,
    Emission,
    LiveTraffic,
    TopicKey,
    backfill_hours_from,
    backfill_records,
)
from streamalert.simulate.report import Tally, preview_lines
from streamalert.simulate.traffic import WEEKEND_SHARE, Plan, Weekly, plan_traffic
from streamalert.simulate.world import World

if TYPE_CHECKING:
    from aiokafka.producer.message_accumulator import BatchBuilder

    from streamalert.settings import Settings


def topic_names(prefix: str) -> dict[TopicKey, str]:
    from streamalert.settings import Settings
    from streamalert.topics import topic_name

    settings = Settings(topic_prefix=prefix)
    return {topic: topic_name(settings, topic) for topic in TOPICS}


async def missing_topics(kafka: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The names that do not exist. Lists every topic (a null list): describing named topics could
    auto-create them."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(**kafka, client_id="streamalert-simulate")
    try:
        await admin.start()
        existing = {t["topic"] for t in await admin.describe_topics(None)}
    except KafkaError as error:
        raise click.ClickException(f"cannot reach Kafka at {kafka['bootstrap_servers']}: {error}") from None
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

    def __init__(self, kafka: Mapping[str, Any], topics: Mapping[TopicKey, str], linger_ms: int = 20) -> None:
        from aiokafka import AIOKafkaProducer

        self.topics = topics
        self.producer = AIOKafkaProducer(
            **kafka,
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
    settings: Settings  # the broker and its TLS/SASL settings
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
    weekly: Weekly | None = None
    weekend_share: float = WEEKEND_SHARE
    seasonal: frozenset[str] | None = None


def _progress_label(hour: datetime | None) -> str:
    return f"{hour:%Y-%m-%d %H:00}" if hour else ""


async def run(options: Options, now: datetime | None = None) -> Tally:
    """Check the topics, publish the backfill, then the live phase if asked; return the tally."""
    from streamalert.kafka_config import KafkaSetupError, check_connection, client_options

    names = topic_names(options.prefix)
    try:
        await check_connection(options.settings)
    except KafkaSetupError as error:
        raise click.ClickException(str(error)) from None
    kafka = client_options(options.settings)
    missing = await missing_topics(kafka, names.values())
    if missing:
        raise click.ClickException(
            f"missing topic(s) {', '.join(missing)} on {options.settings.bootstrap_servers}: run `streamalert topics create` "
            f"(with STREAMALERT_TOPIC_PREFIX={options.prefix}) or start a worker, then try again"
        )
    now = now or datetime.now(UTC)
    rng = random.Random(options.seed)
    world = options.world
    days = min(15, max(2, -(-options.backfill_hours // 24)))
    plan = plan_traffic(
        world,
        now,
        rng,
        options.events_per_hour,
        options.anomalies,
        days=days,
        weekly=options.weekly,
        weekend_share=options.weekend_share,
        seasonal=options.seasonal,
    )
    tally = Tally(now=now)
    async with Publisher(kafka, names) as publisher:
        hours = backfill_hours_from(plan, options.backfill_hours)
        if hours:
            to_next_hour = (plan.hour + HOUR - now).total_seconds()
            if to_next_hour < 120:
                click.echo(
                    f"note: the hour ends in {to_next_hour:.0f} s; the windows then move on and the "
                    "oldest backfilled hour leaves what the alerts compare",
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
        for handled_signal in handled:
            loop.remove_signal_handler(handled_signal)
    elapsed = max(time.monotonic() - started, 1e-9)
    click.echo(f"live: {sent:,} records in {elapsed:.1f} s ({sent / elapsed:,.0f} records/s)")
    _echo_summary(live_tally, names)
    for topic in TOPICS:
        tally.records[topic] += live_tally.records[topic]
        tally.events[topic] += live_tally.events[topic]
