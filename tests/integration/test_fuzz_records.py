"""A few thousand random records, valid and not, through a real worker: every valid one is
counted exactly, every other one is dead-lettered, and the worker still evaluates."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from streamalert.counting.buckets import SubjectState
from streamalert.kinds import KINDS
from streamalert.records.common import MAX_SAFE_INTEGER
from tests.conftest import worker_env
from tests.integration.test_evaluation import api_user
from tests.integration.test_poison_records import latest_states, send
from tests.support import WorkerProcess, consume, wait_caught_up

RECORDS = 3000


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


class Fuzz:
    """Random records for one workspace, with what counting them must give."""

    def __init__(self, workspace: str, rng: random.Random) -> None:
        self.ws, self.rng = workspace, rng
        self.events: dict[str, int] = defaultdict(int)
        self.outcomes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.invalid = 0

    def valid_event(self) -> tuple[bytes, bytes]:
        source = f"src-{self.rng.randrange(40)}"
        count = self.rng.choice([1, 1, 1, self.rng.randrange(1, 10**6), 10**12])
        self.events[source] += count
        record = {"type": "source_events", "workspace_id": self.ws, "source_id": source}
        record |= {"timestamp": at(self.rng.uniform(2, 44)), "count": count}
        if self.rng.random() < 0.2:
            record["extra"] = {"producers": ["may", "add"], "fields": 1}  # ignored
        if self.rng.random() < 0.1:
            record["count"] = float(count)  # a whole number written as a float is that integer
        return source.encode(), orjson.dumps(record)

    def valid_result(self) -> tuple[bytes, bytes]:
        destination = f"dst-{self.rng.randrange(20)}"
        delivered, failed = self.rng.randrange(0, 1000), self.rng.randrange(1, 50)
        self.outcomes[destination][0] += delivered
        self.outcomes[destination][1] += failed
        record = {"workspace_id": self.ws, "kind": "destination", "destination_id": destination}
        record |= {"timestamp": at(self.rng.uniform(2, 44)), "delivered": delivered, "failed": failed}
        return destination.encode(), orjson.dumps(record)

    def invalid_event(self) -> tuple[bytes | None, bytes | None]:
        self.invalid += 1
        source = f"src-{self.rng.randrange(40)}"
        good = {
            "type": "source_events",
            "workspace_id": self.ws,
            "source_id": source,
            "timestamp": at(5),
            "count": 3,
        }
        variant = self.rng.randrange(12)
        if variant == 0:
            return source.encode(), self.rng.randbytes(self.rng.randrange(1, 3000))
        if variant == 1:
            return source.encode(), bytes([self.rng.randrange(32)]) * self.rng.randrange(1, 200_000)
        if variant == 2:
            return source.encode(), json.dumps(
                good | {"count": self.rng.choice([2**63, 2**80, -(2**70)])}
            ).encode()
        if variant == 3:
            return source.encode(), orjson.dumps(
                good | {"count": self.rng.choice([MAX_SAFE_INTEGER + 1, 0, -1, 5.5, "5", True, None])}
            )
        if variant == 4:
            return b"someone-else", orjson.dumps(good)
        if variant == 5:
            return None, orjson.dumps(good)
        if variant == 6:  # older than the 15 days a subject keeps, ahead of now, or no time at all
            return source.encode(), orjson.dumps(
                good | {"timestamp": self.rng.choice([at(361), at(-2), "yesterday", 1.5, 10**18])}
            )
        if variant == 7:
            return source.encode(), b"[" * 5000 + b"]" * 5000
        if variant == 8:
            return source.encode(), None  # a tombstone
        if variant == 9:
            return source.encode(), orjson.dumps(good | {"source_id": "x" * 100_000})
        if variant == 10:
            return source.encode(), orjson.dumps([good])
        return source.encode(), orjson.dumps(good | {"type": "clicks"})


async def test_random_records_are_counted_exactly_or_dead_lettered(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    seed = int(os.environ.get("STREAMALERT_TEST_SEED", time.time()))
    print(f"seed {seed}")
    fuzz = Fuzz(unique, random.Random(seed))
    worker = WorkerProcess(
        worker_env(kafka_bootstrap, unique, tmp_path), tmp_path / "worker.log", unique
    ).start()
    try:
        pipeline: list[tuple[bytes | None, bytes | None]] = []
        results: list[tuple[bytes | None, bytes | None]] = []
        for _ in range(RECORDS):
            roll = fuzz.rng.random()
            if roll < 0.45:
                pipeline.append(fuzz.valid_event())
            elif roll < 0.6:
                results.append(fuzz.valid_result())
            else:
                pipeline.append(fuzz.invalid_event())
        await send(kafka_bootstrap, f"{unique}.pipeline-events", pipeline)  # type: ignore[arg-type]
        await send(kafka_bootstrap, f"{unique}.delivery-results", results)  # type: ignore[arg-type]
        topics = [f"{unique}.pipeline-events", f"{unique}.delivery-results"]
        await wait_caught_up(kafka_bootstrap, unique, topics, timeout=120)

        # The worker still evaluates: an alert on a fuzzed source decides at once.
        user = api_user(worker, unique)
        source = max(fuzz.events, key=lambda name: fuzz.events[name])
        alert = user.create(
            {
                "kind": "source_volume",
                "source_id": source,
                "threshold_pct": 1,
                "channels": [{"type": "in_app"}],
            }
        )
        deadline = time.monotonic() + 30
        while True:
            _, history = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/history")
            if history["evaluated_at"] is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert history["evaluated_at"] is not None, history
        assert history["status"] in ("ok", "firing", "insufficient_data")
    finally:
        worker.stop()

    letters = await consume(
        kafka_bootstrap, f"{unique}.dead-letter", lambda found: len(found) >= fuzz.invalid, timeout=60
    )
    assert len(letters) == fuzz.invalid
    assert all(len(letter.value) < 64 * 1024 for letter in letters)
    states = await latest_states(kafka_bootstrap, unique)
    counted = {
        name: sum(SubjectState.from_bytes(states[KINDS["source_volume"].key(unique, name).encode()]).values)
        for name in fuzz.events
    }
    assert counted == dict(fuzz.events)
    outcomes = {}
    for name in fuzz.outcomes:
        state = SubjectState.from_bytes(states[KINDS["destination_delivery_rate"].key(unique, name).encode()])
        outcomes[name] = [sum(state.values), sum(state.failed)]
    assert outcomes == dict(fuzz.outcomes)
