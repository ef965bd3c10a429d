"""Fixtures: the real Kafka broker for the run, unique ids per test, worker processes.

The broker is the project's own (deploy/kafka-local) unless STREAMALERT_TEST_BOOTSTRAP
names another, or STREAMALERT_TEST_KAFKA=testcontainers asks for Docker's. If it cannot
start, the tests that need it fail; nothing skips.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, TOPIC_PREFIXES, WorkerProcess, delete_run_topics


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`host:port` of a running Apache Kafka broker; the topics the run made are deleted at its end."""
    for bootstrap in _broker():
        yield bootstrap
        if TOPIC_PREFIXES:
            try:
                asyncio.run(asyncio.wait_for(delete_run_topics(bootstrap, TOPIC_PREFIXES), 120))
            except Exception as error:  # cleanup only: the run's results stand
                print(f"could not delete this run's topics: {type(error).__name__}: {error}")


def _broker() -> Iterator[str]:
    explicit = os.environ.get("STREAMALERT_TEST_BOOTSTRAP")
    if explicit:
        yield explicit
        return
    if os.environ.get("STREAMALERT_TEST_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    launcher = REPO / "deploy" / "kafka-local" / "kafka_local.py"
    result = subprocess.run([sys.executable, str(launcher), "start"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"the local Kafka broker could not start:\n{result.stdout}{result.stderr}", pytrace=False)
    yield "127.0.0.1:9092"


@pytest.fixture
def unique() -> str:
    """A fresh id for topic prefixes, app ids and workspaces, so tests never share data."""
    fresh = f"t{uuid.uuid4().hex[:10]}"
    TOPIC_PREFIXES.add(fresh)
    return fresh


def worker_env(bootstrap: str, prefix: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    return {
        "STREAMALERT_BROKER": f"kafka://{bootstrap}",
        "STREAMALERT_APP_ID": prefix,
        "STREAMALERT_TOPIC_PREFIX": prefix,
        "STREAMALERT_PARTITIONS": "4",
        "STREAMALERT_STORE": "rocksdb://",
        "STREAMALERT_DATA_DIR": str(data_dir / "data"),
        "STREAMALERT_EVALUATION_INTERVAL": "1",
        "STREAMALERT_WEBHOOK_ALLOW": "127.0.0.1",
        "STREAMALERT_SESSION_TIMEOUT": "6",
        **overrides,
    }


@pytest.fixture(scope="module")
def module_worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """One worker shared by a module's tests; each test uses its own workspace and subject ids."""
    folder = tmp_path_factory.mktemp("worker")
    prefix = f"m{uuid.uuid4().hex[:10]}"
    worker = WorkerProcess(worker_env(kafka_bootstrap, prefix, folder), folder / "worker.log", prefix)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
