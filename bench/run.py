"""streamalert's benchmarks, each against its baseline in the same run (see docs/benchmarks.md).

    python -m bench.run all                      # what `make bench` runs
    python -m bench.run throughput --scale 0.1   # a quick run: a tenth of the records and subjects
    python -m bench.run memory|recovery|latency|reads|throughput [--stores memory,rocksdb] [--seed N]

Benchmarks report; they never pass or fail on time. Every number comes from real processes on
the real local broker (`python3 deploy/kafka-local/kafka_local.py start`). Results go to
bench/results/<date>-<name>.json (<date>-<name>-scale0.1.json for a scaled run) and a Markdown
summary is printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from bench import data
from bench.breakdown import breakdown
from bench.common import (
    BOOTSTRAP,
    REPO,
    RESULTS,
    GroupWatch,
    Proc,
    create_topic,
    end_offsets,
    machine,
    produce_partitioned,
    quix_python,
    rate,
    say,
    scale_suffix,
    streamalert_worker,
    today,
    wait_ready,
    write_result,
)
from bench.profile import record as profile_record
from bench.profile import summarise
from bench.read_latency import markdown as reads_markdown
from bench.read_latency import read_latency
from streamalert.settings import Settings
from streamalert.topics import ensure_topics

PARTITIONS = 8  # the default STREAMALERT_PARTITIONS
STORES = {"memory": "memory://", "rocksdb": "rocksdb://"}


@dataclass
class Run:
    """One invocation: its options, its unique id, where its logs and data dirs go."""

    scale: float
    seed: int
    stores: list[str]
    max_seconds: float
    partitions: int
    profile_seconds: float
    keep_topics: bool
    command: str
    contenders: set[str] = field(default_factory=lambda: set(CONTENDERS))
    uvloop: bool = False
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    prefixes: list[str] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return REPO / ".local" / "bench" / self.run_id

    def prefix(self, name: str) -> str:
        prefix = f"bench-{self.run_id}-{name}"
        self.prefixes.append(prefix)
        return prefix

    def scaled(self, n: int, floor: int = 1) -> int:
        return max(floor, round(n * self.scale))

    def header(self, name: str) -> dict[str, Any]:
        return {
            "benchmark": name,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
            "scale": self.scale,
            "seed": self.seed,
            "partitions": self.partitions,
            "run_id": self.run_id,
            "machine": machine(),
        }


async def make_topics(run: Run, prefix: str) -> None:
    """The catalogue's topics for `prefix`, as a worker would create them."""
    settings = Settings(broker=f"kafka://{BOOTSTRAP}", topic_prefix=prefix, partitions=run.partitions)
    await ensure_topics(settings)


async def produce(section: str, topic: str, records: Any, expected: int) -> dict[str, float]:
    began = time.monotonic()
    say(section, f"producing {expected:,} records to {topic}")
    sent = await produce_partitioned(topic, records)
    seconds = time.monotonic() - began
    say(section, f"produced {sent:,} records in {seconds:.1f} s ({rate(sent, seconds):,.0f}/s)")
    return {"records": sent, "seconds": round(seconds, 2)}


# -- timing one consumer-group contender --------------------------------------------------------------


@dataclass
class Timing:
    name: str
    records: int
    total: int
    startup_s: float
    seconds: float
    completed: bool
    cpu_s: float
    peak_rss_mib: float
    steady_records_per_s: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, events_per_record: int = 1) -> dict[str, Any]:
        records_per_s = rate(self.records, self.seconds)
        return {
            "name": self.name,
            "records": self.records,
            "of": self.total,
            "completed": self.completed,
            "startup_s": round(self.startup_s, 2),
            "seconds": round(self.seconds, 2),
            "records_per_s": round(records_per_s),
            "events_per_s": round(records_per_s * events_per_record),
            "steady_records_per_s": round(self.steady_records_per_s) if self.steady_records_per_s else None,
            "cpu_s": round(self.cpu_s, 2),
            "cpu_us_per_record": round(1e6 * self.cpu_s / self.records, 1) if self.records else None,
            # What one core could count if nothing but CPU bound it (no commit or flush clock).
            "events_per_cpu_s": round(self.records * events_per_record / self.cpu_s) if self.cpu_s else None,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            **self.extra,
        }


def read_progress(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def steady_rate(samples: list[tuple[float, int]]) -> float | None:
    """Records/s between the first and the last commit seen (start-up and the final commit
    interval left out): commits land every 2.8 s, so lag-zero time is late by up to that."""
    changes = [(t, c) for i, (t, c) in enumerate(samples) if c > 0 and (i == 0 or c != samples[i - 1][1])]
    if len(changes) < 2:
        return None
    (t0, c0), (t1, c1) = changes[0], changes[-1]
    return rate(c1 - c0, t1 - t0)


async def time_group(
    section: str,
    proc: Proc,
    group: str,
    topic: str,
    total: int,
    max_seconds: float,
    on_started: Callable[[Proc], Awaitable[None]] | None = None,
    progress: Path | None = None,
    stop: bool = True,
) -> Timing:
    """Start `proc`; time from its consumer group turning Stable to its commits reaching `total`.

    With `progress` (a file where a contender writes how many records its agent was handed), a
    run stopped at the cap counts what was processed, not only what was committed: Faust's commits
    can fall far behind (the hopping table's did)."""
    import psutil

    proc.start()
    async with GroupWatch(group, topic) as watch:
        deadline = time.monotonic() + 120
        while not await watch.stable():
            proc.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name}: group {group} not stable after 120 s:\n{proc.tail()}")
            await asyncio.sleep(0.1)
        began = time.monotonic()
        ps = psutil.Process(proc.pid)
        cpu_began = sum(ps.cpu_times()[:2])
        startup = began - proc.started_at
        say(section, f"{proc.name}: group joined after {startup:.1f} s; timing")
        if on_started is not None:
            await on_started(proc)
        samples: list[tuple[float, int]] = []
        handed: list[tuple[float, int]] = []
        peak = 0
        last_said = began
        committed = 0
        while True:
            proc.check_alive()
            committed = await watch.committed()
            now = time.monotonic()
            samples.append((now, committed))
            if progress is not None:
                handed.append((now, read_progress(progress)))
            peak = max(peak, ps.memory_info().rss)
            if committed >= total or now - began >= max_seconds:
                break
            if now - last_said >= 5:
                seen = f", {handed[-1][1]:,} processed" if handed else ""
                say(
                    section,
                    f"{proc.name}: {committed:,}/{total:,} committed{seen} ({rate(committed, now - began):,.0f}/s)",
                )
                last_said = now
            await asyncio.sleep(0.25)
        cpu = sum(ps.cpu_times()[:2]) - cpu_began
    seconds = samples[-1][0] - began
    done = max(committed, handed[-1][1] if handed else 0)
    steady = steady_rate(handed) if handed else steady_rate(samples)
    timing = Timing(proc.name, done, total, startup, seconds, committed >= total, cpu, peak / 2**20, steady)
    timing.extra["committed"] = committed
    state = "lag zero" if timing.completed else f"stopped at the {max_seconds:.0f} s cap"
    say(
        section,
        f"{proc.name}: {done:,} records in {seconds:.1f} s ({rate(done, seconds):,.0f}/s, {state}); "
        f"{1e6 * cpu / max(done, 1):.0f} µs CPU/record",
    )
    if stop:
        proc.stop()
    return timing


def faust_contender(run: Run, mode: str, topic: str, app_id: str) -> Proc:
    return Proc(
        f"faust-{mode}",
        [sys.executable, "-m", "bench.contenders.faust_app", "worker", "-l", "info"],
        {
            "BENCH_MODE": mode,
            "BENCH_APP_ID": app_id,
            "BENCH_TOPIC": topic,
            "BENCH_PARTITIONS": str(run.partitions),
            "BENCH_BROKER": f"kafka://{BOOTSTRAP}",
            "BENCH_DATA_DIR": str(run.work / app_id),
            "BENCH_PROGRESS": str(run.work / f"{app_id}.progress"),
        },
        run.work / "logs" / f"{app_id}.log",
    )


def quix_contender(run: Run, topic: str, app_id: str, section: str) -> Proc:
    """Contender (e): bench/contenders/quix_app.py on the Python of `.venv-quix` (made if missing)."""
    python = quix_python(section)
    return Proc(
        "quix-streams",
        [str(python), str(REPO / "bench" / "contenders" / "quix_app.py")],
        {
            "BENCH_APP_ID": app_id,
            "BENCH_TOPIC": topic,
            "BENCH_BOOTSTRAP": BOOTSTRAP,
            "BENCH_DATA_DIR": str(run.work / app_id),
            "BENCH_PROGRESS": str(run.work / f"{app_id}.progress"),
        },
        run.work / "logs" / f"{app_id}.log",
    )


async def time_plain(section: str, run: Run, topic: str, total: int) -> Timing:
    import subprocess

    say(section, "plain-aiokafka: reading")
    began = time.monotonic()
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bench.contenders.plain", topic, BOOTSTRAP, str(run.max_seconds)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    wall = time.monotonic() - began
    out = orjson.loads(result.stdout.strip().splitlines()[-1])
    records, seconds, cpu = int(out["records"]), float(out["seconds"]), float(out.get("cpu_s", 0.0))
    say(
        section,
        f"plain-aiokafka: {records:,} records in {seconds:.2f} s ({rate(records, seconds):,.0f}/s); "
        f"{1e6 * cpu / max(records, 1):.1f} µs CPU/record",
    )
    return Timing(
        "plain-aiokafka",
        records,
        total,
        wall - seconds,
        seconds,
        records >= total,
        cpu,
        0.0,
        None,
        {"events": out["events"], "subjects": out["subjects"]},
    )


async def dead_letters(prefix: str) -> int:
    return sum((await end_offsets(f"{prefix}.dead-letter")).values())


async def topic_names() -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


async def appended(topics: list[str], before: dict[str, int] | None = None) -> dict[str, int]:
    """Records in each topic now (sum of its end offsets) minus `before` (what it held earlier)."""
    before = before or {}
    return {name: sum((await end_offsets(name)).values()) - before.get(name, 0) for name in topics}


class Changelog:
    """Records appended to a table's changelog topic(s) during one run: end offsets after the run
    minus those before it (0 for a topic that did not exist yet). `match` picks the topics by name
    from the broker's list (the admin client), so the name is checked, not assumed."""

    def __init__(self, match: Callable[[str], bool], describe: str) -> None:
        self.match, self.describe = match, describe
        self.before: dict[str, int] = {}

    async def start(self) -> None:
        self.before = await appended([n for n in await topic_names() if self.match(n)])

    async def per_record(self, records: int) -> dict[str, Any]:
        topics = [n for n in await topic_names() if self.match(n)]
        if not topics:
            return {"changelog_topics": [], "changelog_error": f"no topic on the broker is {self.describe}"}
        written = sum((await appended(topics, self.before)).values())
        return {
            "changelog_topics": topics,
            "changelog_records": written,
            "changelog_writes_per_record": round(written / records, 3) if records else None,
        }


def counts_changelog(app_id: str) -> Changelog:
    """Faust names a table's changelog `<app_id>-<table>-changelog`: streamalert's `counts` table."""
    name = f"{app_id}-counts-changelog"
    return Changelog(lambda topic: topic == name, name)


def quix_changelog(app_id: str) -> Changelog:
    """Quix Streams names a store's changelog `changelog__<group>--<topic>--<store>`."""
    prefix = f"changelog__{app_id}--"
    return Changelog(lambda topic: topic.startswith(prefix), f"{prefix}*")


# -- 1. throughput -----------------------------------------------------------------------------------

CONTENDERS = {
    "a": "streamalert worker (each of --stores)",
    "b": "bare Faust agent",
    "b2": "Faust agent, take_events",
    "c": "Faust hopping table",
    "e": "Quix Streams per-key count, RocksDB state (.venv-quix)",
    "d": "plain aiokafka + orjson + dict",
}


async def time_streamalert(
    run: Run, section: str, prefix: str, topic: str, records: int, store: str, loop: str | None = None
) -> Timing:
    """Contender (a) on `store`; with `loop` ("uvloop") Faust runs on that event loop: FAUST_LOOP is
    in the worker's environment, so `import faust` installs it before any loop exists."""
    tag = f"-{loop}" if loop else ""
    app_id = f"{prefix}-a-{store}{tag}"
    proc = streamalert_worker(
        f"streamalert-{store}{tag}",
        app_id,
        prefix,
        run.partitions,
        STORES[store],
        run.work / app_id,
        run.work,
    )
    if loop:
        proc.env["FAUST_LOOP"] = loop
    before = await dead_letters(prefix)
    changelog = counts_changelog(app_id)
    await changelog.start()
    loaded: list[bool] = []

    async def note_loop(worker: Proc) -> None:
        loaded.append(loop_loaded(worker.pid, "uvloop"))

    timing = await time_group(section, proc, app_id, topic, records, run.max_seconds, note_loop)
    timing.extra["dead_letters"] = await dead_letters(prefix) - before
    timing.extra |= await changelog.per_record(timing.records)
    timing.extra["event_loop"] = loop or "asyncio"
    timing.extra["uvloop_loaded"] = bool(loaded and loaded[0])
    if loop == "uvloop" and not timing.extra["uvloop_loaded"]:
        say(section, f"{proc.name}: WARNING: uvloop is not loaded in the worker (pip install uvloop?)")
    return timing


def loop_loaded(pid: int, name: str) -> bool:
    """Is a shared object of `name` mapped into process `pid` (Linux): evidence a loop is in use."""
    try:
        return name in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


async def time_faust_contenders(
    run: Run, section: str, prefix: str, topic: str, records: int
) -> dict[str, dict[str, Any]]:
    """(b), (b2) and (c), those of them that --contenders names."""
    timings: dict[str, dict[str, Any]] = {}
    for key, letter, mode in (
        ("b_faust_bare", "b", "bare"),
        ("b2_faust_take_events", "b2", "take"),
        ("c_faust_hopping", "c", "hopping"),
    ):
        if letter not in run.contenders:
            continue
        app_id = f"{prefix}-{mode}"
        proc = faust_contender(run, mode, topic, app_id)
        progress = Path(proc.env["BENCH_PROGRESS"])
        # The hopping table runs at a few hundred records/s: its rate is steady well within a third.
        cap = max(20.0, run.max_seconds / 3) if letter == "c" else run.max_seconds
        timing = await time_group(section, proc, app_id, topic, records, cap, progress=progress)
        timings[key] = timing.as_dict()
    return timings


async def throughput(run: Run) -> dict[str, Any]:
    section = "throughput"
    result = run.header("throughput")
    records, subjects = run.scaled(1_000_000, 1000), run.scaled(10_000, 100)
    prefix = run.prefix("tp")
    topic = f"{prefix}.pipeline-events"
    await make_topics(run, prefix)
    result["data"] = {"records": records, "subjects": subjects, "count_per_record": 1, "topic": topic}
    result["contenders_run"] = sorted(run.contenders)
    if "e" in run.contenders:
        quix_python(section)  # make or update .venv-quix now, before anything is timed
    result["produce"] = await produce(
        section, topic, data.source_events(records, subjects, run.partitions, run.seed), records
    )
    timings: dict[str, dict[str, Any]] = {}
    runs = (len(run.stores) + run.uvloop) * ("a" in run.contenders) + len(run.contenders - {"a"})
    say(
        section, f"{runs} contender runs, each capped at {run.max_seconds:.0f} s; then the pre-aggregated run"
    )

    if "a" in run.contenders:
        for store in run.stores:
            # a-uvloop on the first store only: a/a-uvloop is a ratio of one store, and the run stays short.
            for loop in [None, *(["uvloop"] if run.uvloop and store == run.stores[0] else [])]:
                timing = await time_streamalert(run, section, prefix, topic, records, store, loop)
                timings[f"a_streamalert_{store}" + (f"_{loop}" if loop else "")] = timing.as_dict()

    timings |= await time_faust_contenders(run, section, prefix, topic, records)

    if "e" in run.contenders:
        app_id = f"{prefix}-quix"
        proc = quix_contender(run, topic, app_id, section)
        changelog = quix_changelog(app_id)
        await changelog.start()
        progress = Path(proc.env["BENCH_PROGRESS"])
        timing = await time_group(section, proc, app_id, topic, records, run.max_seconds, progress=progress)
        timing.extra |= await changelog.per_record(timing.records)
        timings["e_quix_streams"] = timing.as_dict()

    if "d" in run.contenders:
        timings["d_plain_aiokafka"] = (await time_plain(section, run, topic, records)).as_dict()
    result["contenders"] = timings
    result["ratios"] = ratios(timings, run.stores)

    first = f"a_streamalert_{run.stores[0]}"
    if first in timings:
        a = timings[first]["records_per_s"]
        targets = {"a >= 0.8 x b": ("b_faust_bare", 0.8), "a >= 10 x c": ("c_faust_hopping", 10)}
        result["targets"] = {
            label: a >= factor * timings[other]["records_per_s"]
            for label, (other, factor) in targets.items()
            if other in timings
        }
        result["pre_aggregated"] = await pre_aggregated(run, section, subjects)
        if run.profile_seconds > 0:
            result["profile"] = await profile_counting(run, prefix, topic, records)
        say(section, "in-process breakdown of the counting path's own code")
        # A batch holds what arrives within the agent's window at the measured rate (at most BATCH_SIZE).
        batch_size, batch_window, where = counting_batch()
        batch = min(batch_size, max(1, round(timings[first]["records_per_s"] * batch_window)))
        result["in_process_breakdown"] = await asyncio.to_thread(
            breakdown, subjects=subjects, batch=batch, seed=run.seed
        )
        result["counting_agent"] = {"batch_size": batch_size, "batch_window_s": batch_window, "module": where}
    return result


async def pre_aggregated(run: Run, section: str, subjects: int) -> dict[str, Any]:
    """Contender (a) (and (d)) on records that each carry count = 100: events counted per second."""
    agg_records = run.scaled(200_000, 1000)
    agg_prefix = run.prefix("agg")
    agg_topic = f"{agg_prefix}.pipeline-events"
    await make_topics(run, agg_prefix)
    aggregated: dict[str, Any] = {
        "data": {"records": agg_records, "subjects": subjects, "count_per_record": 100, "topic": agg_topic},
        "produce": await produce(
            section,
            agg_topic,
            data.source_events(agg_records, subjects, run.partitions, run.seed + 1, count=100),
            agg_records,
        ),
    }
    for store in run.stores:
        timing = await time_streamalert(run, section, agg_prefix, agg_topic, agg_records, store)
        aggregated[f"a_streamalert_{store}"] = timing.as_dict(events_per_record=100)
        say(section, f"{timing.name}: {aggregated[f'a_streamalert_{store}']['events_per_s']:,} events/s")
    if "d" in run.contenders:
        aggregated["d_plain_aiokafka"] = (await time_plain(section, run, agg_topic, agg_records)).as_dict(100)
    first = aggregated[f"a_streamalert_{run.stores[0]}"]
    aggregated["target_1M_events_per_s"] = first["events_per_s"] >= 1_000_000
    return aggregated


def counting_batch() -> tuple[int, float, str | None]:
    """The counting agent's (BATCH_SIZE, BATCH_WINDOW) and the module holding them; the counting
    path moves about in src/, so look where it has been (None: found nowhere, Faust's defaults)."""
    import importlib

    for name in ("streamalert.faust_adapter.counting", "streamalert.counting.agents"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "BATCH_SIZE") and hasattr(module, "BATCH_WINDOW"):
            return int(module.BATCH_SIZE), float(module.BATCH_WINDOW), name
    return 5000, 0.05, None


RATIO_BASELINES = (
    ("b_faust_bare", "b"),
    ("b2_faust_take_events", "b2"),
    ("c_faust_hopping", "c"),
    ("d_plain_aiokafka", "d"),
    ("e_quix_streams", "e"),
)


def ratios(timings: dict[str, dict[str, Any]], stores: list[str]) -> dict[str, Any]:
    """a/x for every other contender x that ran, by records/s and by CPU per record (x's µs over
    a's: steadier on a busy machine); a/a-uvloop: above 1, uvloop is slower."""
    out: dict[str, Any] = {}
    for store in stores:
        a = timings.get(f"a_streamalert_{store}")
        if a is None:
            continue
        others = [*RATIO_BASELINES, (f"a_streamalert_{store}_uvloop", "a-uvloop")]
        for other, label in others:
            b = timings.get(other)
            if b is None:
                continue
            if b["records_per_s"]:
                out[f"a_{store}/{label}"] = round(a["records_per_s"] / b["records_per_s"], 3)
            if a.get("cpu_us_per_record") and b.get("cpu_us_per_record"):
                out[f"a_{store}/{label} by CPU"] = round(b["cpu_us_per_record"] / a["cpu_us_per_record"], 3)
    return out


async def profile_counting(run: Run, prefix: str, topic: str, total: int) -> dict[str, Any]:
    """Sample a fresh counting worker (memory store) with py-spy while it reads the same topic."""
    section = "profile"
    app_id = f"{prefix}-profiled"
    out = RESULTS / f"{today()}-counting-profile{scale_suffix(run.scale)}.txt"
    proc = streamalert_worker(
        "streamalert-profiled", app_id, prefix, run.partitions, "memory://", run.work / app_id, run.work
    )
    sampler: list[Any] = []

    async def start_sampling(worker: Proc) -> None:
        sampler.append(profile_record(worker.pid, run.profile_seconds, out))
        say(section, f"py-spy sampling pid {worker.pid} for {run.profile_seconds:.0f} s into {out.name}")

    timing = await time_group(section, proc, app_id, topic, total, run.profile_seconds + 2, start_sampling)
    spy = sampler[0] if sampler else None
    if spy is None:
        return {"skipped": "py-spy is not installed (pip install -r bench/requirements.txt)"}
    _, errors = spy.communicate(timeout=60)
    if not out.exists():
        return {"skipped": f"py-spy failed: {errors.decode(errors='replace')[-500:]}"}
    summary = summarise(out)
    summary["raw_profile"] = str(out.relative_to(REPO))
    summary["records_per_s_while_sampled"] = timing.as_dict()["records_per_s"]
    return summary


# -- the counting worker under Faust settings that src/ does not set ----------------------------------


VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "log level warn": {"STREAMALERT_LOG_LEVEL": "warn"},
    "producer linger 10 ms": {"PRODUCER_LINGER": "0.01"},
    "producer linger 50 ms": {"PRODUCER_LINGER": "0.05"},
}


async def variants(run: Run) -> dict[str, Any]:
    """streamalert's counting worker (memory store) on the same records with Faust settings taken
    from the environment (Faust reads e.g. PRODUCER_LINGER): evidence for the profile's findings."""
    section = "variants"
    result = run.header("variants")
    records, subjects = run.scaled(1_000_000, 1000), run.scaled(10_000, 100)
    cap = max(20.0, run.max_seconds / 2)
    prefix = run.prefix("var")
    topic = f"{prefix}.pipeline-events"
    await make_topics(run, prefix)
    result["data"] = {"records": records, "subjects": subjects, "cap_s": cap}
    result["produce"] = await produce(
        section, topic, data.source_events(records, subjects, run.partitions, run.seed), records
    )
    measured: dict[str, Any] = {}
    for index, (name, env) in enumerate(VARIANTS.items()):
        app_id = f"{prefix}-v{index}"
        proc = streamalert_worker(
            name, app_id, prefix, run.partitions, "memory://", run.work / app_id, run.work
        )
        proc.env |= env
        timing = await time_group(section, proc, app_id, topic, records, cap)
        measured[name] = {"env": env, **timing.as_dict()}
    result["variants"] = measured
    return result


# -- 2. memory ---------------------------------------------------------------------------------------


async def settle_rss(proc: Proc, seconds: float = 3.0) -> tuple[int, int]:
    """(RSS, USS) after the worker has idled a moment: the median of a few samples."""
    rss, uss = [], []
    for _ in range(3):
        await asyncio.sleep(seconds / 3)
        proc.check_alive()
        rss.append(proc.rss())
        uss.append(proc.uss())
    return int(statistics.median(rss)), int(statistics.median(uss))


async def seed_changelog(run: Run, section: str, app_id: str, subjects: int) -> dict[str, Any]:
    """Fill the `counts` changelog of `app_id` with one 48-hour state per subject."""
    topic = f"{app_id}-counts-changelog"
    await create_topic(topic, run.partitions, {"cleanup.policy": "compact"})
    sizes: list[int] = []

    def measured() -> Any:
        for partition, key, value in data.subject_states(subjects, run.partitions, run.seed):
            sizes.append(len(key) + len(value))
            yield partition, key, value

    produced = await produce(section, topic, measured(), subjects)
    return {**produced, "bytes_per_subject": round(statistics.mean(sizes), 1)}


def in_process_bytes(subjects: int, seed: int) -> float:
    """Bytes per subject of a dict of key → state bytes, as the memory store holds it."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = {key: value for _, key, value in data.subject_states(subjects, PARTITIONS, seed)}
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del table
    return used / subjects


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


async def memory(run: Run) -> dict[str, Any]:
    section = "memory"
    result = run.header("memory")
    subjects = run.scaled(100_000, 1000)
    result["data"] = {"subjects": subjects, "buckets_per_subject": data.BUCKETS}
    result["in_process_dict_bytes_per_subject"] = round(in_process_bytes(min(subjects, 20_000), run.seed), 1)
    stores: dict[str, Any] = {}
    for store in run.stores:
        prefix = run.prefix(f"mem-{store}")
        idle_id, loaded_id = f"{prefix}-idle", f"{prefix}-loaded"
        seeded = await seed_changelog(run, section, loaded_id, subjects)

        idle = streamalert_worker(
            f"idle-{store}", idle_id, prefix, run.partitions, STORES[store], run.work / idle_id, run.work
        )
        idle.start()
        await wait_ready(idle, 180, section)
        idle_rss, idle_uss = await settle_rss(idle)
        idle.stop()
        say(section, f"{store}: idle worker RSS {idle_rss / 2**20:.1f} MiB")

        loaded = streamalert_worker(
            f"loaded-{store}",
            loaded_id,
            prefix,
            run.partitions,
            STORES[store],
            run.work / loaded_id,
            run.work,
        )
        loaded.start()
        ready_s = await wait_ready(loaded, 600, section)
        rss, uss = await settle_rss(loaded)
        loaded.stop()
        per_subject = (rss - idle_rss) / subjects
        say(
            section,
            f"{store}: loaded worker RSS {rss / 2**20:.1f} MiB after {ready_s:.1f} s; "
            f"{per_subject:,.0f} B/subject",
        )
        # The same number of subjects written by the counting agent itself (one record each):
        # the table then holds the bytes `SubjectState.to_bytes` made, not bytes read from Kafka.
        counted_id = f"{prefix}-counted"
        topic = f"{prefix}.pipeline-events"
        one_each = data.source_events(subjects, subjects, run.partitions, run.seed, ordered=True)
        await produce(section, topic, one_each, subjects)
        counter = streamalert_worker(
            f"counted-{store}",
            counted_id,
            prefix,
            run.partitions,
            STORES[store],
            run.work / counted_id,
            run.work,
        )
        await time_group(section, counter, counted_id, topic, subjects, 300, stop=False)
        counted_rss, _ = await settle_rss(counter)
        counter.stop()
        counted_per_subject = (counted_rss - idle_rss) / subjects
        say(
            section,
            f"{store}: worker that counted {subjects:,} subjects: {counted_per_subject:,.0f} B/subject",
        )
        stores[store] = {
            "counted_rss_mib": round(counted_rss / 2**20, 1),
            "counted_rss_bytes_per_subject": round(counted_per_subject),
            "idle_rss_mib": round(idle_rss / 2**20, 1),
            "loaded_rss_mib": round(rss / 2**20, 1),
            "idle_uss_mib": round(idle_uss / 2**20, 1),
            "loaded_uss_mib": round(uss / 2**20, 1),
            "rss_bytes_per_subject": round(per_subject),
            "uss_bytes_per_subject": round((uss - idle_uss) / subjects),
            "serialized_bytes_per_subject": seeded["bytes_per_subject"],
            "data_dir_bytes_per_subject": round(dir_size(run.work / loaded_id) / subjects),
            "target_1KB_met": per_subject <= 1024 and counted_per_subject <= 1024,
        }
    result["stores"] = stores
    return result


# -- 4. recovery -------------------------------------------------------------------------------------


async def timed_start(proc: Proc, section: str) -> float:
    proc.start()
    seconds = await wait_ready(proc, 600, section)
    say(section, f"{proc.name}: /readyz/partitions 200 after {seconds:.1f} s")
    return seconds


async def recovery(run: Run) -> dict[str, Any]:
    section = "recovery"
    result = run.header("recovery")
    subjects = run.scaled(100_000, 1000)
    result["data"] = {"subjects": subjects, "buckets_per_subject": data.BUCKETS}
    stores: dict[str, Any] = {}
    for store in run.stores:
        prefix = run.prefix(f"rec-{store}")
        app_id = f"{prefix}-w"
        seeded = await seed_changelog(run, section, app_id, subjects)
        url = STORES[store]

        def worker(name: str, folder: Path, app: str = app_id, url: str = url, prefix: str = prefix) -> Proc:
            return streamalert_worker(name, app, prefix, run.partitions, url, folder, run.work)

        empty = worker(f"empty-{store}", run.work / f"{prefix}-empty", f"{prefix}-empty")
        baseline = await timed_start(empty, section)
        empty.stop()

        first = worker(f"fill-{store}", run.work / f"{prefix}-a")
        fill = await timed_start(first, section)
        await asyncio.sleep(3)  # past a commit, as a worker that has been running a while
        stop_s = first.stop()
        say(section, f"{first.name}: stopped (SIGTERM) in {stop_s:.1f} s")

        same = worker(f"same-dir-{store}", run.work / f"{prefix}-a")
        same_dir = await timed_start(same, section)
        same.stop()

        fresh = worker(f"empty-dir-{store}", run.work / f"{prefix}-b")
        empty_dir = await timed_start(fresh, section)
        fresh.stop()
        stores[store] = {
            "changelog_records": seeded["records"],
            "changelog_bytes_per_subject": seeded["bytes_per_subject"],
            "baseline_empty_worker_ready_s": round(baseline, 2),
            "first_start_ready_s": round(fill, 2),
            "sigterm_stop_s": round(stop_s, 2),
            "restart_same_data_dir_ready_s": round(same_dir, 2),
            "restart_empty_data_dir_ready_s": round(empty_dir, 2),
            "target_30s_met": max(same_dir, empty_dir) < 30,
        }
    result["stores"] = stores
    return result


# -- 3. alert latency ----------------------------------------------------------------------------------


class SlackServer:
    """A local Slack incoming webhook: answers `ok` and notes when each request arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.runner: Any = None
        self.port = 0

    async def start(self) -> SlackServer:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            arrived = time.time()
            self.arrivals.append((arrived, orjson.loads(await request.read())))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0


def spread(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(percentile(values, 0.50), 3),
        "p99_s": round(percentile(values, 0.99), 3),
        "max_s": round(max(values), 3) if values else 0.0,
    }


async def read_fired(topic: str, expected: int, timeout: float) -> dict[str, tuple[float, float]]:
    """event id → (occurred_at, Kafka timestamp) of the firing events on `topic`, in epoch seconds."""
    from aiokafka import AIOKafkaConsumer

    from streamalert.records.common import parse_timestamp

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest")
    await consumer.start()
    fired: dict[str, tuple[float, float]] = {}
    try:
        deadline = time.monotonic() + timeout
        while len(fired) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for message in batch:
                    event = orjson.loads(message.value)
                    if event.get("state") == "firing":
                        occurred = parse_timestamp(event["occurred_at"]).timestamp()
                        fired[event["event_id"]] = (occurred, message.timestamp / 1000)
    finally:
        await consumer.stop()
    return fired


async def wait_ticks_caught_up(group: str, partitions: int, section: str, timeout: float = 90) -> int:
    """Wait (at least 10 s) until the worker's committed offsets on `ticks` trail the end by at
    most two ticks per partition; return the ticks still behind."""
    topic = f"{group}.ticks"
    began = time.monotonic()
    behind = -1
    async with GroupWatch(group, topic) as watch:
        while time.monotonic() - began < timeout:
            behind = sum((await end_offsets(topic)).values()) - await watch.committed()
            if time.monotonic() - began >= 10 and behind <= 2 * partitions:
                break
            await asyncio.sleep(1)
    say(section, f"ticks behind the evaluation clock: {behind} after {time.monotonic() - began:.0f} s")
    return behind


def latency_measured(
    arrivals: list[tuple[float, dict[str, Any]]], fired: dict[str, tuple[float, float]], produced_at: float
) -> tuple[dict[str, Any], list[float]]:
    """The latency benchmark's spreads from the Slack arrivals and the firing events, and the
    evaluation → Slack latencies themselves."""
    import re

    # The evaluation that detects a breach publishes its alert-fired record at once: the record's
    # Kafka timestamp (set when the worker hands it to its producer) is when it ran. The event's
    # `occurred_at` is the tick's time, the evaluation's "now", which can be earlier when ticks queue.
    event_pattern = re.compile(r"Event ([0-9a-f-]{36})")
    evaluation_to_slack, tick_to_evaluation, tick_to_slack, produced_to_slack = [], [], [], []
    for arrived, body in arrivals:
        match = event_pattern.search(orjson.dumps(body).decode())
        if match is None or match[1] not in fired:
            continue
        occurred, evaluated = fired[match[1]]
        evaluation_to_slack.append(arrived - evaluated)
        tick_to_evaluation.append(evaluated - occurred)
        tick_to_slack.append(arrived - occurred)
        produced_to_slack.append(arrived - produced_at)
    evaluated_times = [evaluated for _, evaluated in fired.values()]
    measured = {
        "notifications": len(arrivals),
        "matched_to_events": len(evaluation_to_slack),
        "firing_events": len(fired),
        "evaluations_spread_s": round(max(evaluated_times) - min(evaluated_times), 3) if fired else None,
        "evaluation_to_slack": spread(evaluation_to_slack),
        "tick_time_to_evaluation": spread(tick_to_evaluation),
        "tick_time_to_slack": spread(tick_to_slack),
        "data_produced_to_slack": spread(produced_to_slack),
    }
    return measured, evaluation_to_slack


async def latency(run: Run) -> dict[str, Any]:
    """Alerts firing together: from the evaluation that detects the breach (the event's
    `occurred_at`) to the Slack request arriving at a local server."""
    from streamalert.auth import Principal, new_token, publish_token
    from streamalert.records.common import format_timestamp

    section = "latency"
    result = run.header("latency")
    app_source = (REPO / "src" / "streamalert" / "app.py").read_text()
    if "register_notifier" not in app_source:
        reason = "src/streamalert/notify is not wired into app.py: no worker sends notifications"
        say(section, f"skipped: {reason}")
        result["skipped"] = reason
        return result
    alerts = run.scaled(200, 20)
    result["data"] = {"alerts": alerts, "evaluation_interval_s": 1, "channel": "slack (local server)"}
    prefix = run.prefix("lat")
    folder = run.work / prefix
    slack = await SlackServer().start()
    proc = streamalert_worker("latency-worker", prefix, prefix, run.partitions, "memory://", folder, run.work)
    proc.env |= {"STREAMALERT_EVALUATION_INTERVAL": "1", "STREAMALERT_WEBHOOK_ALLOW": "127.0.0.1"}
    token, stored = new_token(
        Principal(workspace_id=data.WORKSPACE, user_id="bench", name="Bench", role="owner"), datetime.now(UTC)
    )
    try:
        proc.start()
        await wait_ready(proc, 180, section)
        await publish_token({"bootstrap_servers": BOOTSTRAP}, f"{prefix}.tokens", stored, stored.token_id)
        say(section, f"creating {alerts} source_volume alerts with a Slack channel each")

        def create(index: int) -> None:
            import urllib.request

            body = {
                "kind": "source_volume",
                "source_id": data.subject_id(index),
                "threshold_pct": 5,
                "channels": [
                    {
                        "type": "slack",
                        "channel": "#bench",
                        "webhook_url": f"http://127.0.0.1:{slack.port}/services/T0BENCH/B0BENCH/x{index:06d}",
                    }
                ],
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{proc.port}/v1/workspaces/{data.WORKSPACE}/alerts",
                data=orjson.dumps(body),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 201, response.read()

        for index in range(alerts):
            await asyncio.to_thread(create, index)
        # A worker that has just started evaluates ticks late (their backlog since start-up, and
        # the first read of each partition's alert-fired log): measure a worker in its steady state.
        tick_lag = await wait_ticks_caught_up(prefix, run.partitions, section)
        result["data"]["tick_backlog_when_data_sent"] = tick_lag
        if slack.arrivals:
            raise RuntimeError(f"{len(slack.arrivals)} notifications before any data")

        # One baseline-window record per source and nothing in the current window: a 100 % drop.
        baseline_at = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) - timedelta(hours=30)
        from bench.common import partition_of

        def records() -> Any:
            for index in range(alerts):
                key = data.subject_id(index).encode()
                value = {
                    "type": "source_events",
                    "workspace_id": data.WORKSPACE,
                    "source_id": data.subject_id(index),
                    "timestamp": format_timestamp(baseline_at),
                    "count": 100,
                }
                yield partition_of(key, run.partitions), key, orjson.dumps(value)

        produced_at = time.time()
        await produce(section, f"{prefix}.pipeline-events", records(), alerts)
        deadline = time.monotonic() + 120
        last = -1
        while len(slack.arrivals) < alerts and time.monotonic() < deadline:
            proc.check_alive()
            if len(slack.arrivals) != last:
                last = len(slack.arrivals)
                say(section, f"{last}/{alerts} Slack requests arrived")
            await asyncio.sleep(0.5)
        say(section, f"{len(slack.arrivals)}/{alerts} Slack requests arrived")
        fired = await read_fired(f"{prefix}.alert-fired", alerts, 30)
    finally:
        proc.stop()
        await slack.stop()

    result["measured"], evaluation_to_slack = latency_measured(slack.arrivals, fired, produced_at)
    result["target_p99_under_2s"] = bool(evaluation_to_slack) and percentile(evaluation_to_slack, 0.99) < 2
    m = result["measured"]["evaluation_to_slack"]
    say(
        section,
        f"evaluation → Slack: p50 {m['p50_s']} s, p99 {m['p99_s']} s over {len(evaluation_to_slack)} alerts",
    )
    return result


# -- the command ---------------------------------------------------------------------------------------

BENCHMARKS: dict[str, Callable[[Run], Awaitable[dict[str, Any]]]] = {
    "throughput": throughput,
    "memory": memory,
    "recovery": recovery,
    "latency": latency,
    "reads": read_latency,
    "variants": variants,
}
IN_ALL = ["throughput", "memory", "recovery", "latency", "reads"]


async def delete_topics(run: Run) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        names = [t["topic"] for t in await admin.describe_topics(None)]
        # Quix Streams names its changelogs `changelog__<group>--…`: the group starts with a prefix.
        doomed = [
            n
            for n in names
            if any(n.startswith(prefix) or n.startswith(f"changelog__{prefix}") for prefix in run.prefixes)
        ]
        if doomed:
            with contextlib.suppress(Exception):
                await admin.delete_topics(doomed)
        say("cleanup", f"deleted {len(doomed)} topics of run {run.run_id}")
    finally:
        await admin.close()


async def main_async(names: list[str], run: Run) -> int:
    # aiokafka retries a produce to a topic created a moment ago (NotLeaderForPartition); quietly.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    say(
        "run",
        f"run {run.run_id}: {', '.join(names)} at scale {run.scale}, seed {run.seed}, {run.partitions} partitions",
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in names:
            began = time.monotonic()
            results[name] = await BENCHMARKS[name](run)
            results[name]["wall_s"] = round(time.monotonic() - began, 1)
            path = write_result(name, results[name])
            say(name, f"done in {results[name]['wall_s']:.0f} s: {path.relative_to(REPO)}")
    finally:
        if not run.keep_topics:
            await delete_topics(run)
        for path in run.work.iterdir() if run.work.exists() else ():
            if path.is_dir() and path.name != "logs":
                shutil.rmtree(path, ignore_errors=True)
        say("run", f"worker logs kept in {run.work.relative_to(REPO)}/logs")
    print()
    print(markdown(results))
    return 0


def markdown_throughput(results: dict[str, dict[str, Any]]) -> list[str]:
    tp = results["throughput"]
    lines = [
        f"### Throughput ({tp['data']['records']:,} records, {tp['data']['subjects']:,} subjects, "
        f"{tp['partitions']} partitions)",
        "",
        "| contender | records | s | records/s | steady records/s | µs CPU/record | changelog writes/record "
        "| start-up s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in tp["contenders"].items():
        done = "" if t["completed"] else " (capped)"
        lines.append(
            f"| {name} | {t['records']:,}{done} | {t['seconds']} | {t['records_per_s']:,} | "
            f"{t['steady_records_per_s'] or ''} | {t['cpu_us_per_record'] or ''} | "
            f"{t.get('changelog_writes_per_record', '')} | {t['startup_s']} |"
        )
    lines += ["", *markdown_ratios(tp["ratios"]), ""]
    if tp.get("targets"):
        lines += [
            "Targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in tp["targets"].items())
        ]
    if "pre_aggregated" in tp:
        agg = tp["pre_aggregated"]
        lines += ["", "Pre-aggregated (count = 100):", ""]
        for name, t in agg.items():
            if isinstance(t, dict) and "events_per_s" in t:
                per_cpu = (
                    f" ({t['events_per_cpu_s']:,} events per CPU-second)" if t.get("events_per_cpu_s") else ""
                )
                lines.append(
                    f"- {name}: {t['records_per_s']:,} records/s = {t['events_per_s']:,} events/s{per_cpu}"
                )
        lines.append(
            f"- target ≥ 1,000,000 events/s: {'met' if agg['target_1M_events_per_s'] else 'NOT met'}"
        )
    if "profile" in tp and "self_by_package" in tp["profile"]:
        lines += ["", "Profile of the counting worker (self time by package):", ""]
        lines += [f"- {p['name']}: {100 * p['share']:.1f}%" for p in tp["profile"]["self_by_package"]]
    lines.append("")
    return lines


def markdown_ratios(ratios: dict[str, Any]) -> list[str]:
    """One row per (a) store, one column per baseline: records/s ratio (CPU-per-record ratio)."""
    rows: dict[str, dict[str, str]] = {}
    for key, value in ratios.items():
        if key.endswith(" by CPU"):
            continue
        a, other = key.split("/", 1)
        by_cpu = ratios.get(f"{key} by CPU")
        rows.setdefault(a, {})[other] = f"{value}" + (f" ({by_cpu})" if by_cpu is not None else "")
    columns = [label for _, label in RATIO_BASELINES] + ["a-uvloop"]
    columns = [c for c in columns if any(c in row for row in rows.values())]
    if not rows:
        return ["Ratios: none (contender a did not run)"]
    return [
        "Ratios a/x by records/s (by CPU per record: x's µs / a's µs):",
        "",
        "| a | " + " | ".join(f"a/{c}" for c in columns) + " |",
        "|---|" + "---|" * len(columns),
        *(f"| {a} | " + " | ".join(row.get(c, "") for c in columns) + " |" for a, row in rows.items()),
    ]


def markdown_memory(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    mem = results["memory"]
    lines += [
        f"### Memory ({mem['data']['subjects']:,} subjects x {mem['data']['buckets_per_subject']} buckets)",
        "",
        "| store | idle RSS MiB | loaded RSS MiB | RSS B/subject | USS B/subject | serialized B/subject "
        "| RSS B/subject, filled by counting | ≤ 1 KB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for store, m in mem["stores"].items():
        lines.append(
            f"| {store} | {m['idle_rss_mib']} | {m['loaded_rss_mib']} | {m['rss_bytes_per_subject']:,} | "
            f"{m['uss_bytes_per_subject']:,} | {m['serialized_bytes_per_subject']} | "
            f"{m['counted_rss_bytes_per_subject']:,} | "
            f"{'met' if m['target_1KB_met'] else 'NOT met'} |"
        )
    lines.append("")
    return lines


def markdown_recovery(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    rec = results["recovery"]
    lines += [
        f"### Recovery ({rec['data']['subjects']:,} subjects)",
        "",
        "| store | empty worker (baseline) s | first start s | restart, same data dir s | "
        "restart, empty data dir s | < 30 s |",
        "|---|---|---|---|---|---|",
    ]
    for store, r in rec["stores"].items():
        lines.append(
            f"| {store} | {r['baseline_empty_worker_ready_s']} | {r['first_start_ready_s']} | "
            f"{r['restart_same_data_dir_ready_s']} | {r['restart_empty_data_dir_ready_s']} | "
            f"{'met' if r['target_30s_met'] else 'NOT met'} |"
        )
    lines.append("")
    return lines


def markdown_variants(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    var = results["variants"]
    lines += [
        f"### The counting worker under Faust settings from the environment ({var['data']['records']:,} "
        f"records, cap {var['data']['cap_s']:.0f} s)",
        "",
        "| variant | records/s | µs CPU/record |",
        "|---|---|---|",
    ]
    for name, v in var["variants"].items():
        lines.append(f"| {name} | {v['records_per_s']:,} | {v['cpu_us_per_record']} |")
    lines.append("")
    return lines


def markdown_latency(results: dict[str, dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    if "skipped" in results["latency"]:
        lines += ["### Alert latency", "", f"Skipped: {results['latency']['skipped']}.", ""]
        return lines
    lat = results["latency"]
    m = lat["measured"]
    lines += [
        f"### Alert latency ({lat['data']['alerts']} alerts firing together, evaluation every 1 s)",
        "",
        "| stretch | p50 s | p99 s | max s |",
        "|---|---|---|---|",
    ]
    for label, key in (
        ("evaluation (alert-fired record created) → Slack request arrives", "evaluation_to_slack"),
        ("tick time (the event's occurred_at) → evaluation", "tick_time_to_evaluation"),
        ("tick time → Slack request arrives", "tick_time_to_slack"),
        (
            "data produced → Slack request arrives (baseline: counting + next tick)",
            "data_produced_to_slack",
        ),
    ):
        lines.append(f"| {label} | {m[key]['p50_s']} | {m[key]['p99_s']} | {m[key]['max_s']} |")
    lines += [
        "",
        f"{m['matched_to_events']} of {m['notifications']} notifications matched to firing events; "
        f"p99 < 2 s: {'met' if lat['target_p99_under_2s'] else 'NOT met'}.",
        "",
    ]
    return lines


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The summary tables of docs/benchmarks.md for these results."""
    sections: dict[str, Callable[[dict[str, dict[str, Any]]], list[str]]] = {
        "throughput": markdown_throughput,
        "memory": markdown_memory,
        "recovery": markdown_recovery,
        "variants": markdown_variants,
        "latency": markdown_latency,
        "reads": lambda r: reads_markdown(r["reads"]),
    }
    return "\n".join(line for name, part in sections.items() if name in results for line in part(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every record and subject count")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    parser.add_argument("--stores", default="memory,rocksdb", help="stores to run streamalert with")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="cap on each throughput contender (default 60 x scale, at least 20; (c) gets a third)",
    )
    parser.add_argument("--partitions", type=int, default=PARTITIONS, help="partitions of every topic")
    parser.add_argument("--profile-seconds", type=float, default=30, help="py-spy sampling of (a); 0: off")
    parser.add_argument("--keep-topics", action="store_true", help="leave the run's topics on the broker")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help="throughput contenders to run: "
        + "; ".join(f"{k}: {v}" for k, v in CONTENDERS.items())
        + " (default all)",
    )
    parser.add_argument(
        "--uvloop",
        action="store_true",
        default=os.environ.get("BENCH_UVLOOP", "") not in ("", "0"),
        help="also run (a) on its first store with FAUST_LOOP=uvloop, for a/a-uvloop (or BENCH_UVLOOP=1)",
    )
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = [s for s in stores if s not in STORES]
    if unknown or not stores:
        parser.error(f"--stores takes {', '.join(STORES)}")
    contenders = {c.strip() for c in args.contenders.split(",") if c.strip()}
    if contenders - set(CONTENDERS):
        parser.error(f"--contenders takes {', '.join(CONTENDERS)}")
    run = Run(
        scale=args.scale,
        seed=args.seed,
        stores=stores,
        max_seconds=args.max_seconds or max(20.0, 60 * args.scale),
        partitions=args.partitions,
        profile_seconds=args.profile_seconds,
        keep_topics=args.keep_topics,
        contenders=contenders,
        uvloop=args.uvloop,
        command="python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    names = IN_ALL if args.benchmark == "all" else [args.benchmark]
    return asyncio.run(main_async(names, run))


if __name__ == "__main__":
    sys.exit(main())
