"""An agent that fails is visible: a stuck or crashed agent turns /readyz red and moves metrics.

The worker is the real one (`streamalert.app.build`) with two probe agents on their own
topics (tests/integration/probe_worker.py), on the real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import worker_env
from tests.integration.test_notifications import eventually, scrape
from tests.support import REPO, WorkerProcess, http_get, produce


@pytest.fixture
def probe_worker(kafka_bootstrap: str, tmp_path: Path, unique: str) -> Iterator[WorkerProcess]:
    env = worker_env(kafka_bootstrap, unique, tmp_path) | {
        "STREAMALERT_AGENT_STUCK_AFTER": "10",
        "PYTHONPATH": str(REPO),
    }
    worker = WorkerProcess(env, tmp_path / "worker.log", unique, module="tests.integration.probe_worker")
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def up(worker: WorkerProcess, agent: str) -> float:
    return scrape(worker)[f'streamalert_agent_up{{agent="{agent}"}}']


def crashes(worker: WorkerProcess, agent: str) -> float:
    return scrape(worker)[f'streamalert_agent_crashes_total{{agent="{agent}"}}']


async def test_a_stuck_and_a_crashed_agent_turn_readiness_red(
    probe_worker: WorkerProcess, kafka_bootstrap: str
) -> None:
    prefix = probe_worker.prefix
    # Both probes consume ordinary records; every agent is up and the worker ready.
    await produce(kafka_bootstrap, f"{prefix}.probe-crash", [(b"k", b"fine")])
    await produce(kafka_bootstrap, f"{prefix}.probe-hang", [(b"k", b"fine")])
    await asyncio.sleep(11)  # longer than the stuck limit: consuming agents are not stuck
    status, body = http_get(f"{probe_worker.url}/readyz")
    assert (status, body["checks"]["agents_running"]) == (200, True), body
    for agent in ("test.crash", "test.hang", "streamalert.notify", "streamalert.count_pipeline_events"):
        assert up(probe_worker, agent) == 1, agent
    assert crashes(probe_worker, "test.crash") == 0

    # Stuck: the hang probe holds a record past the limit while its offset stands still.
    await produce(kafka_bootstrap, f"{prefix}.probe-hang", [(b"k", b"hang")])
    await eventually(lambda: up(probe_worker, "test.hang") == 0, 30, "the hang probe reported stuck")
    status, body = http_get(f"{probe_worker.url}/readyz")
    assert status == 503 and body["checks"]["agents_running"] is False, body
    assert set(name for name, ok in body["checks"].items() if not ok) == {"agents_running"}
    assert http_get(f"{probe_worker.url}/readyz/partitions")[0] == 200
    assert up(probe_worker, "test.crash") == 1

    # Crashed: the crash probe's body raises; Faust's restart does not hide it.
    await produce(kafka_bootstrap, f"{prefix}.probe-crash", [(b"k", b"crash")])
    await eventually(lambda: crashes(probe_worker, "test.crash") == 1, 30, "the crash counted")
    assert up(probe_worker, "test.crash") == 0
    await asyncio.sleep(2)  # a crash stays visible after Faust "restarted" the agent
    assert up(probe_worker, "test.crash") == 0
    assert http_get(f"{probe_worker.url}/readyz")[0] == 503
    assert up(probe_worker, "streamalert.count_pipeline_events") == 1
    log = probe_worker.log_path.read_text()
    assert "agent test.crash crashed (RuntimeError)" in log
    assert "agent test.hang is stuck" in log
