"""What every benchmark shares: Kafka helpers, worker processes, the machine, progress lines.

Benchmarks report; they never pass or fail on time. Every run uses its own topic prefix and
app ids (derived from the run id), so runs never read each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BOOTSTRAP = os.environ.get("STREAMALERT_BENCH_BOOTSTRAP", "127.0.0.1:9092")
STARTED = time.monotonic()


def say(section: str, message: str) -> None:
    """One progress line, with the seconds since the run started."""
    print(f"[{time.monotonic() - STARTED:7.1f}s] {section:<10} {message}", flush=True)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives `key`: what any producer does."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# -- the machine ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "other_python_processes_busy": busy_neighbours(),
    }


def busy_neighbours() -> list[str]:
    """Processes not started by this run using CPU right now: a busy machine skews every number."""
    mine = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    procs = [p for p in psutil.process_iter(["pid", "name", "cmdline"]) if p.pid not in mine]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
    time.sleep(1.0)
    busy = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            share = proc.cpu_percent(None)
            if share >= 20:
                command = " ".join(proc.info["cmdline"] or [proc.info["name"] or "?"])[:100]
                busy.append(f"{share:.0f}% {command}")
    return busy


# -- Kafka --------------------------------------------------------------------------------------------


async def create_topic(name: str, partitions: int, config: dict[str, str] | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config or {})])
    finally:
        await admin.close()


async def produce_partitioned(topic: str, records: Iterable[tuple[int, bytes, bytes]]) -> int:
    """Send (partition, key, value) records in large batches; return how many were sent."""
    producer = AIOKafkaProducer(
        bootstrap_servers=BOOTSTRAP, max_batch_size=1_000_000, linger_ms=20, acks=1, compression_type=None
    )
    await producer.start()
    sent = 0
    try:
        builders: dict[int, Any] = {}
        pending: list[asyncio.Future[Any]] = []
        for partition, key, value in records:
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = producer.create_batch()
            if builder.append(key=key, value=value, timestamp=None) is None:
                pending.append(await producer.send_batch(builder, topic, partition=partition))
                builder = builders[partition] = producer.create_batch()
                builder.append(key=key, value=value, timestamp=None)
            sent += 1
            if len(pending) >= 64:
                await asyncio.gather(*pending)
                pending.clear()
        for partition, builder in builders.items():
            if builder.record_count():
                pending.append(await producer.send_batch(builder, topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def end_offsets(topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        for _ in range(50):
            partitions = consumer.partitions_for_topic(topic)
            if partitions:
                break
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"topic {topic} has no partitions")
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


class GroupWatch:
    """Polls a consumer group: is it Stable, and how far have its commits on one topic got."""

    def __init__(self, group: str, topic: str) -> None:
        self.group, self.topic = group, topic
        self.admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)

    async def __aenter__(self) -> GroupWatch:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def stable(self) -> bool:
        try:
            [response] = await self.admin.describe_consumer_groups([self.group])
        except Exception:
            return False
        # Each group: (error_code, group_id, state, protocol_type, protocol, members, ...).
        return any(g[1] == self.group and g[2] == "Stable" and g[5] for g in response.groups)

    async def committed(self) -> int:
        """Records of `topic` committed by the group, summed over its partitions."""
        offsets = await self.admin.list_consumer_group_offsets(self.group)
        return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == self.topic)


# -- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0


@dataclass
class Proc:
    """A benchmark subprocess (a streamalert worker or a contender), logging to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    port: int = field(default_factory=free_port)

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.argv,
            env=os.environ | self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.process.returncode if self.process is not None else None
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.tail()}")

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def uss(self) -> int:
        return int(psutil.Process(self.pid).memory_full_info().uss)

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM, wait; SIGKILL if it hangs. Returns the seconds it took to exit."""
        if not self.alive():
            return 0.0
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - began

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


QUIX_VENV = REPO / ".venv-quix"
QUIX_REQUIREMENTS = REPO / "bench" / "requirements-quix.txt"


def quix_python(section: str = "setup") -> Path:
    """The Python of `.venv-quix`, the venv of contender (e) alone (Quix Streams, confluent-kafka):
    created with `python3 -m venv` if missing, and `pip install -r bench/requirements-quix.txt`
    whenever that file is newer than the last install. Kept apart so its pins never touch .venv."""
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    if not python.exists():
        say(section, f"creating {QUIX_VENV.relative_to(REPO)} for the Quix Streams contender")
        base = os.environ.get("PYTHON", "python3")
        subprocess.run([base, "-m", "venv", str(QUIX_VENV)], check=True)
        stamp.unlink(missing_ok=True)
    if not stamp.exists() or stamp.stat().st_mtime < QUIX_REQUIREMENTS.stat().st_mtime:
        say(section, f"installing {QUIX_REQUIREMENTS.relative_to(REPO)} into {QUIX_VENV.relative_to(REPO)}")
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(QUIX_REQUIREMENTS)], check=True)
        stamp.touch()
    return python


def worker_env(
    app_id: str, prefix: str, partitions: int, store: str, data_dir: Path, port: int
) -> dict[str, str]:
    """Environment of a real `streamalert worker` for a benchmark."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "STREAMALERT_BROKER": f"kafka://{BOOTSTRAP}",
        "STREAMALERT_APP_ID": app_id,
        "STREAMALERT_TOPIC_PREFIX": prefix,
        "STREAMALERT_PARTITIONS": str(partitions),
        "STREAMALERT_STORE": store,
        "STREAMALERT_DATA_DIR": str(data_dir / "data"),
        "STREAMALERT_WEB_PORT": str(port),
        "STREAMALERT_WEB_BIND": "127.0.0.1",
        "STREAMALERT_LOG_LEVEL": "info",  # the default (bench/run.py variants measures warn)
        "STREAMALERT_SESSION_TIMEOUT": "10",
    }


def streamalert_worker(
    name: str, app_id: str, prefix: str, partitions: int, store: str, data_dir: Path, log_dir: Path
) -> Proc:
    port = free_port()
    return Proc(
        name,
        [sys.executable, "-m", "streamalert.cli", "worker"],
        worker_env(app_id, prefix, partitions, store, data_dir, port),
        log_dir / "logs" / f"{app_id}.log",
        port=port,
    )


async def wait_ready(proc: Proc, timeout: float, section: str) -> float:
    """Poll /readyz/partitions (tables recovered) until 200; return seconds since the process started."""
    deadline = time.monotonic() + timeout
    last_said = time.monotonic()
    url = f"http://127.0.0.1:{proc.port}/readyz/partitions"
    while time.monotonic() < deadline:
        proc.check_alive()
        if await asyncio.to_thread(http_status, url) == 200:
            return time.monotonic() - proc.started_at
        if time.monotonic() - last_said > 10:
            say(
                section,
                f"{proc.name}: waiting for /readyz/partitions ({time.monotonic() - proc.started_at:.0f} s)",
            )
            last_said = time.monotonic()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{proc.name} not ready within {timeout} s:\n{proc.tail()}")


# -- results -----------------------------------------------------------------------------------------


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def scale_suffix(scale: float) -> str:
    """`-scale0.1` for a scaled-down run: a quick run never overwrites a full run's results."""
    return "" if scale == 1 else f"-scale{scale:g}"


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{today()}-{name}{scale_suffix(result.get('scale', 1))}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0
