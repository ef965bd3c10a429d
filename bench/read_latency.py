"""Read latency of the API on an idle worker holding many alerts (`python -m bench.run reads`).

Every read first syncs the worker's views with the topics (read-your-writes across workers),
so its latency is that of asking the broker for the end offsets plus the handler. The alerts
are written to `alert-configs` before the worker starts (spread over workspaces of 100), then
each endpoint is read many times, one request at a time and from 8 clients at once, over
keep-alive connections. Target: p99 of `GET /alerts/{id}` under 50 ms with 5,000 alerts.
"""

from __future__ import annotations

import asyncio
import http.client
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from bench.common import BOOTSTRAP, partition_of, produce_partitioned, say, streamalert_worker, wait_ready
from streamalert.auth import Principal, new_token, publish_token
from streamalert.records.alerts import AlertConfig
from streamalert.settings import Settings
from streamalert.topics import ensure_topics

if TYPE_CHECKING:
    from bench.run import Run

PER_WORKSPACE = 100
CLIENTS = 8


def percentiles_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))], 2)

    return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(1000 * ordered[-1], 2)}


def alert_record(index: int, now: datetime) -> AlertConfig:
    return AlertConfig(
        id=f"al-bench-{index:06d}",
        workspace_id=f"ws-reads-{index // PER_WORKSPACE:04d}",
        kind="source_volume",
        source_id=f"src-{index:06d}",
        name=f"Bench alert {index}",
        threshold_pct=5,
        channels=[{"type": "in_app"}],
        created_by={"user_id": "bench", "name": "Bench"},
        created_at=now,
        updated_at=now,
    )


class Client:
    """One keep-alive HTTP connection to the worker, timing each request."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> float:
        started = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        took = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        return took


async def read_latency(run: Run) -> dict[str, Any]:
    section = "reads"
    result = run.header("reads")
    alerts = run.scaled(5000, 200)
    requests = run.scaled(2000, 200)
    workspaces = (alerts + PER_WORKSPACE - 1) // PER_WORKSPACE
    result["data"] = {"alerts": alerts, "workspaces": workspaces, "requests_per_endpoint": requests}
    prefix = run.prefix("reads")
    folder = run.work / prefix
    await ensure_topics(
        Settings(broker=f"kafka://{BOOTSTRAP}", topic_prefix=prefix, partitions=run.partitions)
    )
    now = datetime.now(UTC)
    say(section, f"writing {alerts} alerts in {workspaces} workspaces to {prefix}.alert-configs")

    def records() -> Any:
        for index in range(alerts):
            alert = alert_record(index, now)
            key = alert.id.encode()
            yield partition_of(key, run.partitions), key, orjson.dumps(alert.model_dump(mode="json"))

    await produce_partitioned(f"{prefix}.alert-configs", records())
    proc = streamalert_worker("reads-worker", prefix, prefix, run.partitions, "memory://", folder, run.work)
    # One owner token per workspace, published to the `tokens` topic the worker follows.
    issued = [
        new_token(
            Principal(workspace_id=f"ws-reads-{w:04d}", user_id="bench", name="Bench", role="owner"), now
        )
        for w in range(workspaces)
    ]
    kafka = {"bootstrap_servers": BOOTSTRAP}
    await asyncio.gather(*(publish_token(kafka, f"{prefix}.tokens", s, s.token_id) for _, s in issued))
    tokens = [token for token, _ in issued]
    rng = random.Random(run.seed)
    try:
        proc.start()
        await wait_ready(proc, 180, section)
        await asyncio.sleep(2)  # past start-up: an idle worker

        def one_alert() -> tuple[int, str]:
            index = rng.randrange(alerts)
            workspace = index // PER_WORKSPACE
            return workspace, f"/v1/workspaces/ws-reads-{workspace:04d}/alerts/al-bench-{index:06d}"

        def sequential(make_path: Any) -> list[float]:
            clients: dict[int, Client] = {}
            timings = []
            for _ in range(requests):
                workspace, path = make_path()
                client = clients.setdefault(workspace, Client(proc.port, tokens[workspace]))
                timings.append(client.get(path))
            return timings

        endpoints = {
            "GET /v1/me (no sync)": lambda: (0, "/v1/me"),
            "GET /alerts/{id}": one_alert,
            "GET /alerts/{id}/history": lambda: (lambda w, p: (w, p + "/history"))(*one_alert()),
            f"GET /alerts ({PER_WORKSPACE} rows)": lambda: (
                (w := rng.randrange(workspaces)),
                f"/v1/workspaces/ws-reads-{w:04d}/alerts",
            ),
        }
        measured: dict[str, Any] = {}
        for name, make_path in endpoints.items():
            timings = await asyncio.to_thread(sequential, make_path)
            measured[name] = percentiles_ms(timings)
            say(section, f"{name}: {measured[name]}")

        def concurrent_reads() -> list[float]:
            def client_run(seed: int) -> list[float]:
                local = random.Random(seed)
                clients: dict[int, Client] = {}
                timings = []
                for _ in range(requests // CLIENTS):
                    index = local.randrange(alerts)
                    workspace = index // PER_WORKSPACE
                    client = clients.setdefault(workspace, Client(proc.port, tokens[workspace]))
                    path = f"/v1/workspaces/ws-reads-{workspace:04d}/alerts/al-bench-{index:06d}"
                    timings.append(client.get(path))
                return timings

            with ThreadPoolExecutor(CLIENTS) as pool:
                return [t for part in pool.map(client_run, range(CLIENTS)) for t in part]

        name = f"GET /alerts/{{id}}, {CLIENTS} clients at once"
        measured[name] = percentiles_ms(await asyncio.to_thread(concurrent_reads))
        say(section, f"{name}: {measured[name]}")
    finally:
        proc.stop()
    result["measured"] = measured
    result["target_p99_under_50ms"] = measured["GET /alerts/{id}"]["p99_ms"] < 50
    return result


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        f"### Read latency ({result['data']['alerts']:,} alerts, idle worker, "
        f"{result['data']['requests_per_endpoint']:,} requests each)",
        "",
        "| request | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|",
    ]
    for name, m in result["measured"].items():
        lines.append(f"| {name} | {m['p50_ms']} | {m['p99_ms']} | {m['max_ms']} |")
    met = "met" if result["target_p99_under_50ms"] else "NOT met"
    return [*lines, "", f"p99 of GET /alerts/{{id}} < 50 ms: {met}.", ""]
