"""Soak: minutes of mixed traffic against a real worker, one broker restart and one worker kill.

    .venv/bin/python -m bench.soak --minutes 30      # the full run (docs/soak.md)
    .venv/bin/python -m bench.soak --minutes 3       # a quick proof that it works

Not part of `make test`. It starts its own broker (deploy/kafka-local on spare ports, data
under .local/soak/<run>/, never the shared one), a local Slack webhook, and a
`streamalert worker`, then for the given minutes:

- publishes valid `source_events` records for a few "live" sources at `--rate` per second,
  and bad ones (not JSON, wrong key, count 0) beside them;
- drives "flap" alerts through firing and resolved over and over (each step publishes into
  the baseline or the current window once the previous transition is on `alert-fired`);
- calls the API (alerts, notifications, history, readiness) every second;
- restarts the broker at one third of the run and SIGKILLs and restarts the worker at two
  thirds.

It then reports records counted against records acknowledged by the broker, dead letters
against bad records, alert-fired events against the transitions expected (in order, none
twice), in-app and Slack deliveries, API answers by status and the worker's RSS over time;
and exits 1 on any loss (a record not counted, a transition or a delivery missing, an event
published twice, a 5xx other than 503).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiohttp import ClientSession, ClientTimeout, web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streamalert.auth import Principal, new_token, publish_token
from streamalert.counting.buckets import SubjectState
from streamalert.kinds import KINDS

REPO = Path(__file__).resolve().parent.parent
LAUNCHER = REPO / "deploy" / "kafka-local" / "kafka_local.py"
STARTED = time.monotonic()
THRESHOLD = 50  # flap alerts: a change beyond ±50 % fires


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f} s] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hour_offset(hours: float) -> str:
    """Half past the hour, `hours` before the current hour."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours) + timedelta(minutes=30)).isoformat()


# --- the broker and the worker ---------------------------------------------------------------


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        env = os.environ | {"KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m"}
        args = ["--data-dir", str(self.folder), "--port", str(self.port)]
        args += ["--controller-port", str(self.controller_port), "--timeout", "180"]
        subprocess.run([sys.executable, str(LAUNCHER), command, *args], check=True, env=env)


@dataclass
class Worker:
    env: dict[str, str]
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    rss: list[tuple[float, int]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamalert.cli", "worker"],
            env=os.environ | self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )

    async def wait_ready(self, session: ClientSession, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(Exception):
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"the worker was not ready within {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def sample_rss(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.rss.append((time.monotonic() - STARTED, int(line.split()[1]) * 1024))


# --- a Slack incoming webhook that counts what it receives ------------------------------------


class Slack:
    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.received[request.path] += 1
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- the run --------------------------------------------------------------------------------


@dataclass
class Flap:
    """An alert driven through firing and resolved: baseline b, current c, both counts."""

    workspace: str
    source: str
    token: str
    alert_id: str = ""
    webhook: str = ""
    baseline: int = 100
    current: int = 0
    steps: int = 0  # windows changed since the alert was created

    def expected(self) -> list[tuple[int, str]]:
        """The transitions expected after `steps` steps: (1, firing), (1, resolved), (2, firing) ..."""
        return [((n // 2) + 1, "firing" if n % 2 == 0 else "resolved") for n in range(self.steps + 1)]

    def next_step(self) -> tuple[str, int]:
        """(window, count) that moves the alert to its next state: equal windows resolve (0 %),
        a current window 60 % above the baseline fires (the threshold is 50 %)."""
        if self.steps % 2 == 0:  # firing now: bring the lower window level with the other
            if self.current < self.baseline:
                return ("current", self.baseline - self.current)
            return ("baseline", self.current - self.baseline)
        return ("current", max(1, 3 * self.current // 5))


@dataclass
class Soak:
    args: argparse.Namespace
    folder: Path
    broker: Broker
    worker: Worker
    prefix: str
    slack: Slack = field(default_factory=Slack)
    live: dict[str, int] = field(default_factory=dict)  # live source → records acknowledged
    bad_sent: int = 0
    unsent: int = 0
    flaps: list[Flap] = field(default_factory=list)
    fired: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    api: Counter[str] = field(default_factory=Counter)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    async def run(self) -> int:
        say(f"run {self.prefix}: broker on {self.broker.bootstrap}, worker on {self.worker.url}")
        self.broker.run("start")
        await self.slack.start()
        async with ClientSession(timeout=ClientTimeout(total=15)) as session:
            self.worker.start()
            await self.worker.wait_ready(session)
            say("worker ready")
            producer = AIOKafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", linger_ms=5)
            await producer.start()
            try:
                await self.create_alerts(session, producer)
                tasks = [
                    asyncio.create_task(self.traffic(producer)),
                    asyncio.create_task(self.drive_flaps(producer)),
                    asyncio.create_task(self.follow_alert_fired()),
                    asyncio.create_task(self.call_api(session)),
                    asyncio.create_task(self.sample_rss()),
                ]
                await self.faults(session)
                self.stopping.set()
                await asyncio.gather(*tasks[:2])
                say("traffic stopped; waiting for the worker to catch up")
                result = await self.settle_and_report(session, tasks[2:])
            finally:
                await producer.stop()
                self.worker.stop()
                await self.slack.stop()
                self.broker.run("stop")
        return result

    async def create_alerts(self, session: ClientSession, producer: AIOKafkaProducer) -> None:
        tokens = f"{self.prefix}.tokens"
        for n in range(self.args.flaps):
            workspace = f"{self.prefix}-ws{n}"
            principal = Principal(workspace_id=workspace, user_id="soak", name="Soak", role="owner")
            token, stored = new_token(principal, datetime.now(UTC))
            await publish_token({"bootstrap_servers": self.broker.bootstrap}, tokens, stored, stored.token_id)
            flap = Flap(workspace, f"flap{n}", token)
            flap.webhook = f"/services/T0SOAK/B0SOAK/{uuid.uuid4().hex}"
            await self.publish_window(producer, flap, "baseline", flap.baseline)
            body = {
                "kind": "source_volume",
                "source_id": flap.source,
                "threshold_pct": THRESHOLD,
                "channels": [
                    {"type": "in_app"},
                    {
                        "type": "slack",
                        "webhook_url": f"http://127.0.0.1:{self.slack.port}{flap.webhook}",
                        "channel": "#soak",
                    },
                ],
            }
            async with session.post(
                f"{self.worker.url}/v1/workspaces/{workspace}/alerts",
                json=body,
                headers={"Authorization": f"Bearer {flap.token}"},
            ) as response:
                created = await response.json()
                if response.status != 201:
                    raise RuntimeError(f"creating an alert answered {response.status}: {created}")
            flap.alert_id = created["id"]
            self.flaps.append(flap)
        self.live = {f"live{n}": 0 for n in range(self.args.live)}

    async def publish_window(self, producer: AIOKafkaProducer, flap: Flap, window: str, count: int) -> None:
        """`count` events of the flap source in its baseline (30 h ago) or current (5 h ago) window."""
        value = {
            "type": "source_events",
            "workspace_id": flap.workspace,
            "source_id": flap.source,
            "timestamp": hour_offset(30 if window == "baseline" else 5),
            "count": count,
        }
        await producer.send_and_wait(
            self.topic("pipeline-events"), orjson.dumps(value), key=flap.source.encode()
        )

    async def traffic(self, producer: AIOKafkaProducer) -> None:
        """Valid records of the live sources at --rate per second, and one bad record in 20."""
        topic = self.topic("pipeline-events")
        pending: set[asyncio.Task[None]] = set()
        n = 0

        async def send(key: bytes, value: bytes, source: str | None) -> None:
            try:
                await (await producer.send(topic, value, key=key))
            except Exception:
                self.unsent += 1
                return
            if source is None:
                self.bad_sent += 1
            else:
                self.live[source] += 1

        while not self.stopping.is_set():
            for _ in range(max(1, self.args.rate // 10)):
                n += 1
                source = f"live{n % self.args.live}"
                if n % 20 == 0:
                    key, value = self.bad_record(n, source)
                    task = asyncio.create_task(send(key, value, None))
                else:
                    record = {
                        "type": "source_events",
                        "workspace_id": f"{self.prefix}-live",
                        "source_id": source,
                        "timestamp": datetime.now(UTC).isoformat(),
                    }
                    task = asyncio.create_task(send(source.encode(), orjson.dumps(record), source))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.sleep(0.1)
        if pending:
            await asyncio.wait(pending)

    def bad_record(self, n: int, source: str) -> tuple[bytes, bytes]:
        kind = (n // 20) % 3
        if kind == 0:
            return source.encode(), b"{not json"
        record = {"type": "source_events", "workspace_id": f"{self.prefix}-live", "source_id": source}
        record["timestamp"] = datetime.now(UTC).isoformat()
        if kind == 1:
            return b"someone-else", orjson.dumps(record)  # keyed by another id
        return source.encode(), orjson.dumps(record | {"count": 0})

    async def drive_flaps(self, producer: AIOKafkaProducer) -> None:
        """Move each flap alert to its next state once its last transition is on alert-fired."""
        last_step: dict[str, float] = {}
        while not self.stopping.is_set():
            for flap in self.flaps:
                due = time.monotonic() - last_step.get(flap.source, 0.0) >= self.args.step_every
                if due and self.fired.get(flap.alert_id, []) == flap.expected():
                    window, count = flap.next_step()
                    try:
                        await asyncio.wait_for(self.publish_window(producer, flap, window, count), 30)
                    except Exception as error:
                        say(f"{flap.source}: step not published ({type(error).__name__}); trying again")
                        continue
                    if window == "baseline":
                        flap.baseline += count
                    else:
                        flap.current += count
                    flap.steps += 1
                    last_step[flap.source] = time.monotonic()
            await asyncio.sleep(1.0)

    async def follow_alert_fired(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic("alert-fired"),
            bootstrap_servers=self.broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=2000,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        event = orjson.loads(record.value)
                        self.fired[event["alert_id"]].append((int(event["incident"]), event["state"]))
        finally:
            await consumer.stop()

    async def call_api(self, session: ClientSession) -> None:
        paths = ["/readyz"]
        for flap in self.flaps:
            base = f"/v1/workspaces/{flap.workspace}"
            paths += [f"{base}/alerts", f"{base}/notifications", f"{base}/alerts/{flap.alert_id}/history"]
        headers = {flap.workspace: {"Authorization": f"Bearer {flap.token}"} for flap in self.flaps}
        while True:
            for path in paths:
                workspace = path.split("/")[3] if path.startswith("/v1/") else None
                try:
                    async with session.get(
                        self.worker.url + path, headers=headers.get(workspace or "")
                    ) as reply:
                        await reply.read()
                        self.api[str(reply.status)] += 1
                except Exception as error:
                    self.api[type(error).__name__] += 1
            await asyncio.sleep(1.0)

    async def sample_rss(self) -> None:
        while True:
            self.worker.sample_rss()
            await asyncio.sleep(5.0)

    async def faults(self, session: ClientSession) -> None:
        total = self.args.minutes * 60
        await asyncio.sleep(total / 3)
        say("broker restart: stopping it")
        await asyncio.to_thread(self.broker.run, "stop")
        await asyncio.sleep(5)
        await asyncio.to_thread(self.broker.run, "start")
        say("broker restarted")
        await asyncio.sleep(max(total * 2 / 3 - (time.monotonic() - STARTED), 0))
        say("worker kill: SIGKILL")
        self.worker.kill()
        self.worker.start()
        await self.worker.wait_ready(session)
        say("worker restarted and ready")
        await asyncio.sleep(max(total - (time.monotonic() - STARTED), 0))

    async def counted(self) -> dict[str, int]:
        """Events counted per live source: the latest state of each in the counts changelog."""
        topic = f"{self.prefix}-counts-changelog"
        consumer = AIOKafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False)
        await consumer.start()
        latest: dict[bytes, bytes] = {}
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        if record.key is not None and record.value is not None:
                            latest[record.key] = record.value
        finally:
            await consumer.stop()
        workspace = f"{self.prefix}-live"
        counts = {}
        for source in self.live:
            raw = latest.get(KINDS["source_volume"].key(workspace, source).encode())
            counts[source] = sum(SubjectState.from_bytes(raw).values) if raw is not None else 0
        return counts

    async def dead_letters(self) -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            topic = self.topic("dead-letter")
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            return sum(ends[tp] - starts[tp] for tp in partitions)
        finally:
            await consumer.stop()

    async def in_app(self, session: ClientSession, flap: Flap) -> int:
        url = f"{self.worker.url}/v1/workspaces/{flap.workspace}/notifications"
        async with session.get(url, headers={"Authorization": f"Bearer {flap.token}"}) as reply:
            return len((await reply.json())["notifications"]) if reply.status == 200 else -1

    async def flap_problems(self, session: ClientSession, flap: Flap) -> list[str]:
        problems: list[str] = []
        events = self.fired.get(flap.alert_id, [])
        if len(set(events)) != len(events):
            problems.append(f"{flap.source}: a transition published twice: {events}")
        if events != flap.expected():
            problems.append(f"{flap.source}: published {events[-3:]} …, expected {flap.expected()[-3:]} …")
        in_app = await self.in_app(session, flap)
        slack = self.slack.received[flap.webhook]
        say(f"  {flap.source}: {len(events)} transitions, {in_app} in-app, {slack} slack messages")
        if in_app < min(len(flap.expected()), 200):  # the list keeps the newest 200
            problems.append(
                f"{flap.source}: {in_app} in-app notifications for {len(flap.expected())} transitions"
            )
        if slack < len(flap.expected()):
            problems.append(f"{flap.source}: {slack} slack messages for {len(flap.expected())} transitions")
        elif slack > len(flap.expected()):
            say(
                f"  {flap.source}: {slack - len(flap.expected())} slack message(s) sent again (a kill between send and record)"
            )
        return problems

    async def settle_and_report(self, session: ClientSession, background: list[asyncio.Task[None]]) -> int:
        counts = await self.settle(session)
        for task in background:
            task.cancel()
        return await self.report(session, counts)

    async def settle(self, session: ClientSession) -> dict[str, int]:
        """Wait (at most 180 s) until every record is counted and every transition delivered."""
        deadline = time.monotonic() + 180
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            counts = await self.counted()
            flaps_done = all(self.fired.get(f.alert_id, []) == f.expected() for f in self.flaps)
            deliveries_done = True
            for f in self.flaps:
                wanted = len(f.expected())
                if self.slack.received[f.webhook] < wanted or await self.in_app(session, f) < min(
                    wanted, 200
                ):
                    deliveries_done = False
            if counts == self.live and flaps_done and deliveries_done:
                break
            await asyncio.sleep(3)
        return counts

    async def report(self, session: ClientSession, counts: dict[str, int]) -> int:
        dead = await self.dead_letters()
        problems: list[str] = []
        say("--- report ---")
        sent, got = sum(self.live.values()), sum(counts.values())
        say(
            f"records: {sent} acknowledged by the broker, {got} counted ({self.unsent} sends failed, not counted as sent)"
        )
        for source, number in sorted(self.live.items()):
            if counts.get(source, 0) != number:
                problems.append(f"{source}: {number} sent, {counts.get(source, 0)} counted")
        # Dead letters are at least once: records replayed after the kill are rejected again.
        say(f"bad records: {self.bad_sent} sent, {dead} dead letters (repeats after the kill are expected)")
        if dead < self.bad_sent:
            problems.append(f"{self.bad_sent - dead} bad records not dead-lettered")
        expected = sum(len(f.expected()) for f in self.flaps)
        fired = sum(len(self.fired.get(f.alert_id, [])) for f in self.flaps)
        say(f"alert transitions: {expected} expected, {fired} published")
        for flap in self.flaps:
            problems += await self.flap_problems(session, flap)
        say(f"API answers: {dict(sorted(self.api.items()))}")
        server_errors = {code: n for code, n in self.api.items() if code.startswith("5") and code != "503"}
        if server_errors:
            problems.append(f"API server errors: {server_errors}")
        if self.worker.rss:
            mb = [(at, rss / 2**20) for at, rss in self.worker.rss]
            say(
                f"worker RSS: first {mb[0][1]:.0f} MB, max {max(v for _, v in mb):.0f} MB, last {mb[-1][1]:.0f} MB"
            )
            step = max(1, len(mb) // 12)
            say("  RSS over time: " + ", ".join(f"{at:.0f}s {v:.0f}MB" for at, v in mb[::step]))
        for problem in problems:
            say(f"LOSS: {problem}")
        say("result: " + ("FAILED" if problems else "no loss"))
        return 1 if problems else 0


def main() -> None:
    import logging

    # aiokafka reports every failed reconnect while the broker restarts; the report says what matters.
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=200, help="valid records per second")
    parser.add_argument("--live", type=int, default=8, help="live sources (counted)")
    parser.add_argument("--flaps", type=int, default=3, help="alerts driven through firing and resolved")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--step-every", type=float, default=15.0, help="seconds between a flap's steps at least"
    )
    args = parser.parse_args()
    run = f"soak{uuid.uuid4().hex[:8]}"
    folder = REPO / ".local" / "soak" / run
    folder.mkdir(parents=True)
    port = free_port()
    env = {
        "STREAMALERT_APP_ID": run,
        "STREAMALERT_TOPIC_PREFIX": run,
        "STREAMALERT_PARTITIONS": str(args.partitions),
        "STREAMALERT_STORE": "rocksdb://",
        "STREAMALERT_DATA_DIR": str(folder / "data"),
        "STREAMALERT_WEB_PORT": str(port),
        "STREAMALERT_WEB_BIND": "127.0.0.1",
        "STREAMALERT_EVALUATION_INTERVAL": "2",
        "STREAMALERT_WEBHOOK_ALLOW": "127.0.0.1",
        "STREAMALERT_SESSION_TIMEOUT": "10",
    }
    broker = Broker(folder / "kafka")
    env["STREAMALERT_BROKER"] = f"kafka://{broker.bootstrap}"
    worker = Worker(env, folder / "worker.log", port)
    soak = Soak(args, folder, broker, worker, run)
    try:
        code = asyncio.run(soak.run())
    except BaseException:
        worker.kill()
        with contextlib.suppress(Exception):
            broker.run("stop")
        raise
    say(f"logs and data: {folder}")
    sys.exit(code)


if __name__ == "__main__":
    main()
