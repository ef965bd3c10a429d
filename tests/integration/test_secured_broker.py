"""streamalert against a secured broker: the project's launcher with a SASL_SSL listener (TLS
with a CA made for this run, SCRAM or PLAIN credentials) and a mutual-TLS listener, on spare
ports beside the shared broker.

The worker, `topics create`, `topics tail`, `tokens`, `alerts create` and `simulate` all run as
real processes against it; records are produced with the same client options the worker uses.
"""

from __future__ import annotations

import asyncio
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamalert.kafka_config import client_options
from streamalert.settings import Settings
from tests.conftest import worker_env
from tests.support import REPO, ApiUser, WorkerProcess, free_port

pytestmark = pytest.mark.kafka

LAUNCHER = REPO / "deploy" / "kafka-local" / "kafka_local.py"
USER = "streamalert"


@dataclass
class SecuredBroker:
    address: str  # the SASL_SSL listener
    mtls_address: str  # the listener that wants a client certificate
    plaintext: str  # the broker's PLAINTEXT listener (readiness; never used by streamalert here)
    tls_dir: Path
    password: str

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    def mtls_env(self, certificate: bool = True) -> dict[str, str]:
        env = {
            "STREAMALERT_BROKER": f"kafka://{self.mtls_address}",
            "STREAMALERT_SECURITY_PROTOCOL": "SSL",
            "STREAMALERT_SSL_CAFILE": str(self.ca_file),
        }
        if certificate:
            env["STREAMALERT_SSL_CERTFILE"] = str(self.tls_dir / "client.pem")
            env["STREAMALERT_SSL_KEYFILE"] = str(self.tls_dir / "client.key")
        return env

    def env(self, mechanism: str = "SCRAM-SHA-512", password: str | None = None) -> dict[str, str]:
        return {
            "STREAMALERT_BROKER": f"kafka://{self.address}",
            "STREAMALERT_SECURITY_PROTOCOL": "SASL_SSL",
            "STREAMALERT_SASL_MECHANISM": mechanism,
            "STREAMALERT_SASL_USERNAME": USER,
            "STREAMALERT_SASL_PASSWORD": self.password if password is None else password,
            "STREAMALERT_SSL_CAFILE": str(self.ca_file),
        }


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    data_dir = tmp_path_factory.mktemp("secured-kafka")
    port, controller_port, sasl_port, mtls_port = free_port(), free_port(), free_port(), free_port()
    password = secrets.token_urlsafe(12)
    args = [sys.executable, str(LAUNCHER), "--data-dir", str(data_dir), "--port", str(port)]
    args += ["--controller-port", str(controller_port)]
    secured = ["--sasl-ssl-port", str(sasl_port), "--sasl-user", f"{USER}:{password}"]
    secured += ["--ssl-port", str(mtls_port)]
    started = subprocess.run(
        [*args[:2], "start", *args[2:], *secured], capture_output=True, text=True, timeout=180
    )
    if started.returncode != 0:
        pytest.fail(f"the SASL_SSL broker could not start:\n{started.stderr}", pytrace=False)
    try:
        yield SecuredBroker(
            f"127.0.0.1:{sasl_port}",
            f"127.0.0.1:{mtls_port}",
            f"127.0.0.1:{port}",
            data_dir / "tls",
            password,
        )
    finally:
        subprocess.run([*args[:2], "stop", *args[2:]], capture_output=True, text=True, timeout=60)


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamalert.cli", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


async def produce_history(settings: Settings, topic: str, workspace: str, source: str) -> None:
    """24 h ago 100 events, in the current window 50: a -50 % change."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for hours, count in ((30, 100), (5, 50)):
            value = {"type": "source_events", "workspace_id": workspace, "source_id": source}
            value |= {"timestamp": at(hours), "count": count}
            await producer.send_and_wait(topic, key=source.encode(), value=orjson.dumps(value))
    finally:
        await producer.stop()


def test_worker_and_cli_run_end_to_end_over_sasl_ssl(
    secured_broker: SecuredBroker, tmp_path: Path, unique: str
) -> None:
    env = worker_env(secured_broker.address, unique, tmp_path) | secured_broker.env()

    created = cli(env, "topics", "create")
    assert created.returncode == 0, created.stderr
    assert f"{unique}.pipeline-events" in created.stdout and "created" in created.stdout

    worker = WorkerProcess(env, tmp_path / "worker.log", unique)
    worker.start()
    try:
        token = cli(env, "tokens", "create", "--workspace", unique, "--user-id", "ada", "--name", "Ada")
        assert token.returncode == 0, token.stderr
        api = {"STREAMALERT_TOKEN": token.stdout.strip().splitlines()[-1], "STREAMALERT_API_URL": worker.url}
        made = cli(
            env | api,
            "alerts",
            "create",
            "--kind",
            "source_volume",
            "--source-id",
            "web",
            "--threshold",
            "4",
            "--channel",
            "in_app",
        )
        assert made.returncode == 0, made.stderr
        alert_id = orjson.loads(made.stdout)["id"]

        tail = subprocess.Popen(
            [sys.executable, "-m", "streamalert.cli", "topics", "tail", "alert-fired", "--from-beginning"],
            env=os.environ | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in tail.stdout or ()], daemon=True).start()
        try:
            settings = Settings(
                **{k.removeprefix("STREAMALERT_").lower(): v for k, v in secured_broker.env().items()}
            )
            asyncio.run(produce_history(settings, f"{unique}.pipeline-events", unique, "web"))

            user = ApiUser(worker.url, api["STREAMALERT_TOKEN"], unique)
            deadline = time.monotonic() + 60
            notifications: list[dict[str, object]] = []
            while not notifications and time.monotonic() < deadline:
                status, body = user.call("GET", "/v1/workspaces/{ws}/notifications")
                assert status == 200, body
                notifications = body["notifications"]
                time.sleep(0.3)
            assert [n["alert_id"] for n in notifications] == [alert_id], worker.tail()
            assert notifications[0]["state"] == "firing"

            # The CLI's own consumer read the same event over SASL_SSL.
            line = lines.get(timeout=30)
            event = orjson.loads(line.split(" ", 2)[2])
            assert (event["alert_id"], event["state"]) == (alert_id, "firing")
        finally:
            tail.terminate()
            tail.wait(10)

        simulated = cli(
            env,
            "simulate",
            "--workspace",
            f"{unique}-sim",
            "--sources",
            "1",
            "--events-per-hour",
            "20",
            "--backfill-hours",
            "2",
            timeout=120,
        )
        assert simulated.returncode == 0, simulated.stderr + simulated.stdout
        assert "backfill:" in simulated.stdout
    finally:
        worker.stop()
    log = worker.log_path.read_text()
    assert secured_broker.password not in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"STREAMALERT_SASL_PASSWORD": "not-the-password"},
            "Kafka authentication failed for user streamalert",
        ),
        (
            {"STREAMALERT_SASL_MECHANISM": "PLAIN", "STREAMALERT_SASL_PASSWORD": "not-the-password"},
            "Kafka authentication failed for user streamalert",
        ),
        ({"STREAMALERT_SSL_CAFILE": ""}, "is not trusted (STREAMALERT_SSL_CAFILE=system CAs"),
    ],
    ids=["scram-password", "plain-password", "untrusted-ca"],
)
def test_a_worker_that_cannot_authenticate_exits_at_once_with_one_line(
    secured_broker: SecuredBroker, tmp_path: Path, unique: str, change: dict[str, str], expected: str
) -> None:
    env = worker_env(secured_broker.address, unique, tmp_path) | secured_broker.env() | change
    env = {key: value for key, value in env.items() if value}  # "" unsets
    started = time.monotonic()
    result = cli(env, "worker", timeout=60)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert elapsed < 20, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], output
    assert "not-the-password" not in output and secured_broker.password not in output


def test_mutual_tls_worker_and_cli(secured_broker: SecuredBroker, tmp_path: Path, unique: str) -> None:
    env = worker_env(secured_broker.mtls_address, unique, tmp_path) | secured_broker.mtls_env()
    created = cli(env, "topics", "create")
    assert created.returncode == 0, created.stderr
    assert f"{unique}.alert-configs" in created.stdout
    worker = WorkerProcess(env, tmp_path / "worker.log", unique)
    worker.start()  # ready: Faust's clients and the views all passed the client-certificate check
    worker.stop()

    without = worker_env(secured_broker.mtls_address, unique, tmp_path) | secured_broker.mtls_env(False)
    started = time.monotonic()
    refused = cli(without, "worker")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1 and time.monotonic() - started < 20, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and "STREAMALERT_SSL_CERTFILE (not set)" in lines[0], output
