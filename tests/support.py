"""Helpers for integration tests: a real worker process and real Kafka clients."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamalert.auth import Principal, new_token, publish_token

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOPIC_PREFIXES: set[str] = set()
"""Topic prefixes and app ids this test run used; their topics are deleted when it ends."""


def topics_of_run(names: list[str], prefixes: set[str]) -> list[str]:
    """The topics among `names` that belong to one of `prefixes` (`<p>.x` or `<p>-x`)."""
    return sorted(n for n in names for p in prefixes if n == p or n.startswith((f"{p}.", f"{p}-")))


async def delete_run_topics(bootstrap: str, prefixes: set[str]) -> int:
    """Delete the topics of `prefixes`, so a dev broker does not pile up partitions (and open
    files) over many runs; returns how many were deleted."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = topics_of_run(await admin.list_topics(), prefixes)
        for start in range(0, len(doomed), 100):
            await admin.delete_topics(doomed[start : start + 100])
        return len(doomed)
    finally:
        await admin.close()


@dataclass
class WorkerProcess:
    """A `streamalert worker` subprocess with its own app id, topic prefix and data dir."""

    env: dict[str, str]
    log_path: Path
    prefix: str = ""
    process: subprocess.Popen[bytes] | None = None
    port: int = field(default_factory=free_port)
    module: str = "streamalert.cli"
    """The module run with `python -m`; its command line ends with `worker`."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        for name in ("STREAMALERT_TOPIC_PREFIX", "STREAMALERT_APP_ID"):
            if self.env.get(name):
                TOPIC_PREFIXES.add(self.env[name])

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        env = os.environ | self.env | {"STREAMALERT_WEB_PORT": str(self.port)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.log_path.parent,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.tail()}")
            # The API, and this worker's partitions: tests start counting right away.
            if (
                http_get(f"{self.url}/readyz")[0] == 200
                and http_get(f"{self.url}/readyz/partitions")[0] == 200
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready within {timeout} s:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def issue_token(env: dict[str, str], principal: Principal, expires_in: timedelta | None = None) -> str:
    """A new API token for `principal` on the tokens topic of the worker configured by `env`,
    written as `streamalert tokens create` does; every worker of that prefix accepts it."""
    token, stored = new_token(principal, datetime.now(UTC), expires_in)
    bootstrap = env["STREAMALERT_BROKER"].split("://", 1)[-1]
    topic = f"{env['STREAMALERT_TOPIC_PREFIX']}.tokens"
    # Callers may be inside an event loop (async tests): publish from a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run, publish_token({"bootstrap_servers": bootstrap}, topic, stored, stored.token_id)
        ).result()
    return token


def revoke_token(env: dict[str, str], token: str) -> None:
    """Revoke `token` as `streamalert tokens revoke` does."""
    token_id = token.split("_", 2)[1]  # sat_<id>_<secret>
    bootstrap = env["STREAMALERT_BROKER"].split("://", 1)[-1]
    topic = f"{env['STREAMALERT_TOPIC_PREFIX']}.tokens"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            asyncio.run, publish_token({"bootstrap_servers": bootstrap}, topic, None, token_id)
        ).result()


def http_get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, orjson.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, orjson.loads(body) if body else None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        batch = [await producer.send(topic, key=key, value=value) for key, value in records]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def consume(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Any]], bool],
    timeout: float = 30.0,
) -> list[Any]:
    """Read `topic` from the beginning until `until(records)` holds; records are ConsumerRecords."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while not until(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out on {topic}; got {len(records)} records: {records[-5:]}")
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        offsets = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


async def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


def http(
    method: str, url: str, token: str | None = None, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    """One HTTP request; returns (status, parsed JSON body or None)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            return response.status, orjson.loads(payload) if payload else None
    except urllib.error.HTTPError as error:
        payload = error.read()
        return error.code, orjson.loads(payload) if payload else None


@dataclass
class ApiUser:
    """A token holder talking to one worker's API."""

    base_url: str
    token: str
    workspace: str

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        return http(method, self.base_url + path.format(ws=self.workspace), self.token, body, raw)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        status, created = self.call("POST", "/v1/workspaces/{ws}/alerts", body)
        assert status == 201, created
        return dict(created)


async def wait_caught_up(bootstrap: str, group: str, topics: list[str], timeout: float = 60.0) -> None:
    """Wait until consumer group `group` has committed the end offset of every partition of `topics`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            ends: dict[tuple[str, int], int] = {}
            for topic in topics:
                ends |= {(topic, p): offset for p, offset in (await end_offsets(bootstrap, topic)).items()}
            committed = await admin.list_consumer_group_offsets(group)
            done = {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()}
            behind = {key: end for key, end in ends.items() if end > 0 and done.get(key, -1) < end}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"group {group} still behind on {behind} (committed {done})")
            await asyncio.sleep(0.3)
    finally:
        await admin.close()


def assert_matches_openapi(base_url: str, schema: str, body: Any) -> None:
    """`body` validates against `schema` of the worker's own /openapi.json."""
    from jsonschema import Draft202012Validator

    status, document = http_get(f"{base_url}/openapi.json")
    assert status == 200
    Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    ).validate(body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def raw(
    method: str, url: str, cookie: str | None = None, data: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed: (status, headers, body)."""
    if cookie is not None:
        headers["Cookie"] = f"streamalert_session={cookie}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sign_in_over_http(base_url: str, token: str, next_path: str = "/alerts/x") -> tuple[str, SimpleCookie]:
    form = urllib.parse.urlencode({"token": token, "next": next_path}).encode()
    status, headers, _ = raw(
        "POST", f"{base_url}/sign-in", data=form, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (status, headers["Location"]) == (303, next_path)
    jar: SimpleCookie = SimpleCookie()
    jar.load(headers["Set-Cookie"])
    return jar["streamalert_session"].value, jar
