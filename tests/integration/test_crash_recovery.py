"""Exact counts and exactly-once alert-fired events across SIGKILLs of the worker."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from streamalert.auth import Principal
from streamalert.counting.buckets import SubjectState
from streamalert.kinds import KINDS
from tests.conftest import worker_env
from tests.support import ApiUser, WorkerProcess, consume, end_offsets, issue_token, wait_caught_up

SUBJECTS = 1000
RECORDS_PER_SUBJECT = 100
ALERTED = 30  # subjects that also carry an alert
KILLS = 3


def hour_ago(hours: int) -> str:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (now - timedelta(hours=hours, minutes=-30)).isoformat()


async def produce_paced(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], chunks: int) -> None:
    """Spread the records over time so that kills land in the middle of ingestion."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        size = len(records) // chunks + 1
        for start in range(0, len(records), size):
            sent = [await producer.send(topic, key=k, value=v) for k, v in records[start : start + size]]
            await asyncio.gather(*sent)
            await asyncio.sleep(0.5)
    finally:
        await producer.stop()


async def test_sigkilled_worker_ends_with_exact_counts_and_one_event_per_transition(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    seed = int(os.environ.get("STREAMALERT_TEST_SEED", time.time()))
    rng = random.Random(seed)
    print(f"seed {seed}")
    worker = WorkerProcess(
        worker_env(kafka_bootstrap, unique, tmp_path), tmp_path / "worker.log", unique
    ).start()
    user = ApiUser(
        worker.url,
        issue_token(worker.env, Principal(workspace_id=unique, user_id="u", name="U", role="owner")),
        unique,
    )

    # Alerted subjects: the current window first (200 events), then the baseline trickles in one
    # event at a time. The change falls from +19,900 % towards +100 %, always beyond 50 %: once
    # the first baseline event is counted the alert fires, and it never resolves.
    alert_ids = {}
    for i in range(ALERTED):
        source = f"alerted-{i}"
        alert_ids[source] = user.create(
            {
                "kind": "source_volume",
                "source_id": source,
                "threshold_pct": 50,
                "channels": [{"type": "in_app"}],
            }
        )["id"]

    def event(source: str, hours: int, count: int = 1) -> tuple[bytes, bytes]:
        record = {
            "type": "source_events",
            "workspace_id": unique,
            "source_id": source,
            "timestamp": hour_ago(hours),
            "count": count,
        }
        return source.encode(), orjson.dumps(record)

    expected: dict[str, int] = {}
    records: list[tuple[bytes, bytes]] = []
    for i in range(ALERTED):
        source = f"alerted-{i}"
        records.append(event(source, 3, count=200))
        expected[source] = 200
    for i in range(SUBJECTS):
        source = f"s{i}"
        for _ in range(RECORDS_PER_SUBJECT):
            records.append(event(source, rng.choice([2, 5, 9, 14, 20, 27, 33, 40, 45])))
        expected[source] = RECORDS_PER_SUBJECT
    rng.shuffle(records)
    # The baseline of the alerted subjects comes after their current window.
    for i in range(ALERTED):
        source = f"alerted-{i}"
        records.extend(event(source, 30) for _ in range(100))
        expected[source] += 100
    assert len(records) >= 100_000

    topic = f"{unique}.pipeline-events"
    producing = asyncio.create_task(produce_paced(kafka_bootstrap, topic, records, chunks=20))
    try:
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            assert worker.process is not None
            worker.process.send_signal(signal.SIGKILL)
            worker.process.wait()
            print(f"kill {kill + 1} at {datetime.now(UTC).isoformat()}")
            await asyncio.to_thread(worker.start)
        await producing
    finally:
        if not producing.done():
            producing.cancel()

    await wait_caught_up(kafka_bootstrap, unique, [topic], timeout=180)
    deadline = time.monotonic() + 60
    while True:
        statuses = {
            source: user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/history")[1]["status"]
            for source, alert_id in alert_ids.items()
        }
        if set(statuses.values()) == {"firing"} or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert set(statuses.values()) == {"firing"}, statuses
    await asyncio.sleep(2)  # a few more ticks: nothing new may be published
    worker.stop()

    # Every subject's state, as the table's changelog holds it (the latest record per key).
    changelog = f"{unique}-counts-changelog"
    ends = await end_offsets(kafka_bootstrap, changelog)
    total_records = sum(ends.values())
    latest: dict[bytes, bytes] = {}
    for record in await consume(
        kafka_bootstrap, changelog, lambda found: len(found) >= total_records, timeout=120
    ):
        latest[record.key] = record.value
    counted = {}
    for source in expected:
        state = SubjectState.from_bytes(latest[KINDS["source_volume"].key(unique, source).encode()])
        counted[source] = sum(state.values)
    assert counted == expected

    fired_topic = f"{unique}.alert-fired"
    published = sum((await end_offsets(kafka_bootstrap, fired_topic)).values())
    fired_records = await consume(
        kafka_bootstrap, fired_topic, lambda found: len(found) >= published, timeout=30
    )
    events = [orjson.loads(r.value) for r in fired_records]
    assert sorted((e["alert_id"], e["state"], e["incident"]) for e in events) == sorted(
        (alert_id, "firing", 1) for alert_id in alert_ids.values()
    )
    assert len({e["event_id"] for e in events}) == ALERTED
