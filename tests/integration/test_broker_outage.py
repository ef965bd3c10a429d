"""A worker whose broker goes away: reads answer 503 quickly and readiness says why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import worker_env
from tests.integration.test_alerts_api import source_alert, user
from tests.integration.test_local_broker import launcher
from tests.support import WorkerProcess, free_port, http_get


@pytest.mark.kafka
def test_reads_answer_503_within_seconds_and_readiness_names_the_broker(tmp_path: Path, unique: str) -> None:
    port, controller_port = free_port(), free_port()
    data_dir = tmp_path / "kafka"
    started = launcher("start", data_dir, port, controller_port)
    assert started.returncode == 0, started.stderr
    worker = WorkerProcess(worker_env(f"127.0.0.1:{port}", unique, tmp_path), tmp_path / "worker.log", unique)
    try:
        worker.start(timeout=120)
        alice = user(worker, unique, "alice")
        created = alice.create(source_alert())
        path = f"/v1/workspaces/{{ws}}/alerts/{created['id']}"
        assert alice.call("GET", path) == (200, created)
        assert http_get(f"{worker.url}/readyz")[1]["checks"]["kafka_broker_reachable"] is True

        assert launcher("stop", data_dir, port, controller_port).returncode == 0
        for read in (path, "/v1/workspaces/{ws}/alerts", f"{path}/history"):
            began = time.monotonic()
            status, body = alice.call("GET", read)
            took = time.monotonic() - began
            assert status == 503, (read, body)
            assert body["error"]["code"] == "unavailable" and "broker" in body["error"]["message"]
            assert took < 8, (read, took)
        deadline = time.monotonic() + 15
        while http_get(f"{worker.url}/readyz")[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.5)
        status, ready = http_get(f"{worker.url}/readyz")
        assert status == 503 and ready["checks"]["kafka_broker_reachable"] is False, ready

        # Back again: so is the API, without a restart.
        assert launcher("start", data_dir, port, controller_port).returncode == 0
        deadline = time.monotonic() + 60
        while alice.call("GET", path)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert alice.call("GET", path) == (200, created)
        worker.wait_ready(60)
    finally:
        worker.stop()
        launcher("stop", data_dir, port, controller_port)
