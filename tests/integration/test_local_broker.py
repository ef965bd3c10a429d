"""The project's own broker launcher: a second instance on spare ports, restarted in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, consume, create_topic, free_port, produce

LAUNCHER = REPO / "deploy" / "kafka-local" / "kafka_local.py"


def launcher(
    command: str, data_dir: Path, port: int, controller_port: int
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(LAUNCHER), command, "--data-dir", str(data_dir), "--port", str(port)]
    args += ["--controller-port", str(controller_port)]
    return subprocess.run(args, capture_output=True, text=True, timeout=180)


@pytest.mark.kafka
async def test_a_restarted_broker_keeps_its_topics_and_records(tmp_path: Path) -> None:
    port, controller_port = free_port(), free_port()
    data_dir = tmp_path / "kafka"
    started = launcher("start", data_dir, port, controller_port)
    assert started.returncode == 0, started.stderr
    try:
        again = launcher("start", data_dir, port, controller_port)
        assert again.returncode == 0 and "already running" in again.stderr  # idempotent
        bootstrap = f"127.0.0.1:{port}"
        await create_topic(bootstrap, "restart-check", partitions=2)
        sent = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)]
        await produce(bootstrap, "restart-check", sent)

        stopped = launcher("stop", data_dir, port, controller_port)
        assert stopped.returncode == 0, stopped.stderr
        assert launcher("status", data_dir, port, controller_port).returncode == 1
        restarted = launcher("start", data_dir, port, controller_port)
        assert restarted.returncode == 0, restarted.stderr
        assert "formatting" not in restarted.stderr  # the log dir is formatted once

        records = await consume(bootstrap, "restart-check", lambda found: len(found) >= len(sent), timeout=60)
        assert sorted((r.key, r.value) for r in records) == sorted(sent)
    finally:
        launcher("stop", data_dir, port, controller_port)
