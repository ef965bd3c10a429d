"""Records that once stopped counting for good: oversized values and integer overflow.

Each of these used to crash an agent that then never consumed again:
a ~170 KB value of control bytes or a ~1 MB value made a dead letter too large to produce;
two `count = 2**63` records overflowed the stored state; huge counts in two hours of one source
overflowed the alert-fired event. The worker runs with one partition, so a stopped agent stops
every subject, and a control source shows whether counting and evaluation went on.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from streamalert.counting.buckets import SubjectState
from streamalert.kinds import KINDS
from streamalert.records.common import MAX_SAFE_INTEGER
from tests.conftest import worker_env
from tests.integration.test_evaluation import Scenario, api_user, histories
from tests.support import WorkerProcess, consume, end_offsets, wait_caught_up


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


def events(workspace: str, source: str, hours: float, count: int = 1) -> tuple[bytes, bytes]:
    record = {
        "type": "source_events",
        "workspace_id": workspace,
        "source_id": source,
        "timestamp": at(hours),
        "count": count,
    }
    return source.encode(), orjson.dumps(record)


async def send(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    # Large enough for the ~1 MB record; the broker accepts up to its message.max.bytes.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=1_048_000, linger_ms=5)
    await producer.start()
    try:
        for key, value in records:
            await (await producer.send(topic, key=key, value=value))
    finally:
        await producer.stop()


async def latest_states(bootstrap: str, app_id: str) -> dict[bytes, bytes]:
    changelog = f"{app_id}-counts-changelog"
    total = sum((await end_offsets(bootstrap, changelog)).values())
    latest: dict[bytes, bytes] = {}
    for record in await consume(bootstrap, changelog, lambda found: len(found) >= total, timeout=60):
        latest[record.key] = record.value
    return latest


async def test_poison_records_are_dead_lettered_and_counting_goes_on(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    env = worker_env(kafka_bootstrap, unique, tmp_path, STREAMALERT_PARTITIONS="1")
    worker = WorkerProcess(env, tmp_path / "worker.log", unique).start()
    topic = f"{unique}.pipeline-events"
    try:
        user = api_user(worker, unique)
        control = user.create(
            {
                "kind": "source_volume",
                "source_id": "ctl",
                "threshold_pct": 50,
                "channels": [{"type": "in_app"}],
            }
        )
        big = user.create(
            {
                "kind": "source_volume",
                "source_id": "big",
                "threshold_pct": 50,
                "channels": [{"type": "in_app"}],
            }
        )
        await send(
            kafka_bootstrap,
            topic,
            [events(unique, "ctl", 30, 100), events(unique, "ctl", 3, 100)],
        )
        await histories(user, [Scenario("ctl", {}, expect="ok", alert_id=control["id"])])

        control_bytes = b"\x01" * 170_000
        huge_source = b'{"type":"source_events","workspace_id":"' + unique.encode() + b'","source_id":"'
        huge_source += b"x" * 1_000_000 + b'","timestamp":"' + at(3).encode() + b'"}'
        poison: list[tuple[bytes, bytes]] = [
            (b"ctl", control_bytes),
            (b"ctl", huge_source),
            # 2**63 does not fit the stored format; 2**53 - 1 is the largest count accepted.
            events(unique, "ctl", 3, 2**63),
            events(unique, "ctl", 3, 2**63),
            events(unique, "ctl", 3, MAX_SAFE_INTEGER + 1),
        ]
        # Counts at the limit, many of them in two hours of one source: the hourly buckets
        # saturate instead of overflowing, and the alert on it is still evaluated.
        poison += [events(unique, "big", hours, MAX_SAFE_INTEGER) for hours in (3, 4) for _ in range(1100)]
        poison += [events(unique, "big", 30, MAX_SAFE_INTEGER)]
        await send(kafka_bootstrap, topic, poison)
        # The control source doubles: its alert fires only if counting and evaluation went on.
        await send(kafka_bootstrap, topic, [events(unique, "ctl", 2, 100)])
        await wait_caught_up(kafka_bootstrap, unique, [topic], timeout=60)
        found = await histories(
            user,
            [
                Scenario("ctl", {}, expect="firing", alert_id=control["id"]),
                Scenario("big", {}, expect="firing", alert_id=big["id"]),
            ],
        )
        assert found["ctl"]["observed"] == {"current": 200, "baseline": 100, "change_pct": 100}
        saturated: dict[str, Any] = found["big"]["observed"]
        assert saturated["baseline"] == MAX_SAFE_INTEGER
        assert saturated["current"] == 2 * MAX_SAFE_INTEGER

        letters = await consume(
            kafka_bootstrap, f"{unique}.dead-letter", lambda found: len(found) >= 5, timeout=30
        )
        bodies = [orjson.loads(letter.value) for letter in letters]
        assert all(len(letter.value) < 64 * 1024 for letter in letters)
        oversized = {body["raw_size"]: body for body in bodies if body.get("raw_truncated")}
        assert set(oversized) == {len(control_bytes), len(huge_source)}
        assert oversized[len(control_bytes)]["raw_sha256"] == hashlib.sha256(control_bytes).hexdigest()
        assert oversized[len(huge_source)]["raw_sha256"] == hashlib.sha256(huge_source).hexdigest()
        limits = [body["reason"] for body in bodies if "count" in body["reason"]]
        assert len(limits) == 3 and all(str(MAX_SAFE_INTEGER) in reason for reason in limits), limits

        # After a restart the same records do not block anything either.
        worker.stop()
        await asyncio.to_thread(worker.start)
        await send(kafka_bootstrap, topic, [events(unique, "ctl", 1, 1)])
        await wait_caught_up(kafka_bootstrap, unique, [topic], timeout=60)
    finally:
        worker.stop()
    states = await latest_states(kafka_bootstrap, unique)
    counted = SubjectState.from_bytes(states[KINDS["source_volume"].key(unique, "ctl").encode()])
    assert sum(counted.values) == 301
