"""What a worker does with the topics it finds at start, and with settings that are not its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.conftest import worker_env
from tests.support import WorkerProcess


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamalert.cli", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def describe(bootstrap: str, prefix: str) -> dict[str, list[dict[str, object]]]:
    """The partitions of every topic of this prefix (streamalert's and Faust's)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {
            t["topic"]: t["partitions"]
            for t in await admin.describe_topics(None)
            if t["topic"].startswith((f"{prefix}.", f"{prefix}-"))
        }
    finally:
        await admin.close()


async def create(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name, partitions in topics.items()])
    finally:
        await admin.close()


@pytest.mark.parametrize(
    ("existing", "hint"),
    [
        ({"pipeline-events": 2, "ticks": 2}, "set STREAMALERT_PARTITIONS=2 to match them"),
        ({"-counts-changelog": 8, "alert-configs": 1}, "set STREAMALERT_PARTITIONS=8"),
        ({"pipeline-events": 2, "alert-fired": 3}, "disagree among themselves"),
    ],
    ids=["inputs", "changelog", "disagreeing"],
)
async def test_a_worker_refuses_co_partitioned_topics_with_other_partition_counts(
    kafka_bootstrap: str, tmp_path: Path, unique: str, existing: dict[str, int], hint: str
) -> None:
    names = {
        (unique + name if name.startswith("-") else f"{unique}.{name}"): n for name, n in existing.items()
    }
    await create(kafka_bootstrap, names)
    started = time.monotonic()
    result = cli(worker_env(kafka_bootstrap, unique, tmp_path), "worker")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert time.monotonic() - started < 20
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "STREAMALERT_PARTITIONS=4" in lines[0] and hint in lines[0]
    for name, partitions in names.items():
        if name.endswith(".alert-configs"):  # read whole by every worker: its count does not matter
            assert name not in lines[0]
        elif partitions != 4:
            assert f"{name} has {partitions}" in lines[0]
    # Refused before creating anything: nothing to clean up, nothing counted.
    assert set(await describe(kafka_bootstrap, unique)) == set(names)


def test_a_replication_factor_the_cluster_cannot_meet_is_a_clear_error(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    env = worker_env(kafka_bootstrap, unique, tmp_path, STREAMALERT_REPLICATION_FACTOR="2")
    result = cli(env, "topics", "create")
    assert result.returncode == 1
    assert "STREAMALERT_REPLICATION_FACTOR=2" in result.stderr
    assert "InvalidReplicationFactor" in result.stderr
    assert "Traceback" not in result.stderr


async def test_fausts_own_environment_variables_change_nothing(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    faust_env = {
        "BROKER_URL": "kafka://nowhere:1",
        "BROKER": "kafka://nowhere:1",
        "STORE": "memory://",
        "TOPIC_PARTITIONS": "1",
        "TOPIC_REPLICATION_FACTOR": "3",
        "APP_DATADIR": str(tmp_path / "faust-datadir"),
        "APP_ENV_PREFIX": "",
    }
    env = worker_env(kafka_bootstrap, unique, tmp_path) | faust_env
    worker = WorkerProcess(env, tmp_path / "worker.log", unique)
    worker.start()  # with Faust's BROKER_URL it would never get ready
    try:
        topics = await describe(kafka_bootstrap, unique)
    finally:
        worker.stop()
    for table in ("counts", "alert_states"):
        partitions = topics[f"{unique}-{table}-changelog"]
        assert len(partitions) == 4  # STREAMALERT_PARTITIONS, not TOPIC_PARTITIONS
        assert all(len(p["replicas"]) == 1 for p in partitions)  # type: ignore[arg-type]
    assert len(topics[f"{unique}-__assignor-__leader"]) == 1
    # STREAMALERT_STORE (rocksdb) in STREAMALERT_DATA_DIR, not memory:// in APP_DATADIR.
    assert not (tmp_path / "faust-datadir").exists()
    assert list((tmp_path / "data").rglob("*.db")) or list((tmp_path / "data").rglob("CURRENT"))
