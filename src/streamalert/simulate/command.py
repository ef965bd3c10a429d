"""The `streamalert simulate` click command: option parsing, then the run."""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta

import click
from pydantic import TypeAdapter, ValidationError

from streamalert.counting.windows import RETENTION, windows_at
from streamalert.records.common import Id
from streamalert.simulate.anomalies import Anomalies
from streamalert.simulate.publish import Options, run, topic_names
from streamalert.simulate.report import describe_world
from streamalert.simulate.traffic import Weekly
from streamalert.simulate.world import build_world

_id_adapter: TypeAdapter[str] = TypeAdapter(Id)
MAX_BACKFILL_HOURS = RETENTION // timedelta(hours=1)
"""360: the oldest hour the worker still counts (15 days before the current one)."""


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
    default=None,
    help="hours of history to publish before now: 48 by default, 360 (15 days) with --weekly; at most "
    "360 (the worker rejects older records)",
)
@click.option(
    "--weekly",
    type=click.Choice(["calendar", "monday"]),
    is_flag=False,
    flag_value="calendar",
    default=None,
    help="weekly seasonality: weekends quieter (--weekend-share). `--weekly` alone: Saturday and Sunday "
    "of the UTC calendar; `--weekly monday`: the last 24 hours are a Monday after a weekend, whatever "
    "the day (a day-over-day alert fires, a week-over-week one stays quiet)",
)
@click.option(
    "--seasonal",
    metavar="SUBJECT",
    multiple=True,
    help="with --weekly: only these sources, mappings or audience activations have it (default: all)",
)
@click.option(
    "--weekend-share",
    type=click.FloatRange(0, 100, min_open=True),
    default=40,
    show_default=True,
    help="with --weekly: weekend traffic in % of a weekday's",
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
    backfill_hours: int | None,
    weekly: Weekly | None,
    weekend_share: float,
    seasonal: tuple[str, ...],
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
      streamalert simulate --weekly monday                  # 15 days, quiet weekends, a Monday now
    """
    from streamalert.settings import Settings, get_settings

    settings = get_settings()
    broker = broker or settings.broker
    prefix = prefix or settings.topic_prefix
    # The TLS/SASL settings come from the environment like the worker's.
    kafka_settings = Settings(broker=broker, topic_prefix=prefix)
    bootstrap = kafka_settings.bootstrap_servers
    world = build_world(workspace, sources)
    try:
        anomalies = Anomalies.from_percentages(world, drop, spike, failures, audience_shift)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    volume_ids = world.subject_ids("source", "mapping", "audience")
    unknown = [subject for subject in seasonal if subject not in volume_ids]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: not a source, mapping or audience (one of {', '.join(volume_ids)})",
            param_hint="--seasonal",
        )
    if backfill_hours is None:
        backfill_hours = MAX_BACKFILL_HOURS if weekly else 48
    if backfill_hours > MAX_BACKFILL_HOURS:
        click.echo(
            f"note: --backfill-hours capped at {MAX_BACKFILL_HOURS} (the worker rejects records older "
            "than 15 days)",
            err=True,
        )
        backfill_hours = MAX_BACKFILL_HOURS
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
        settings=kafka_settings,
        prefix=prefix,
        world=world,
        events_per_hour=events_per_hour,
        backfill_hours=backfill_hours,
        slices=slices,
        weekly=weekly,
        weekend_share=weekend_share / 100,
        seasonal=frozenset(seasonal) if seasonal else None,
        anomalies=anomalies,
        rate=rate,
        duration=duration,
        single_events=single_events,
        single_events_backfill=single_events_backfill,
        seed=seed,
    )
    asyncio.run(run(options))
