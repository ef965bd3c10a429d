"""`POST …/alerts/preview` on a real worker: the backtest decides each hour as the live evaluation.

The worker's own clock is off (an evaluation interval of weeks); the test sends the ticks, one
per hour boundary the preview could decide, to the subject's partition of `ticks`, in order:
the live evaluation then decides at exactly those hours, on the same counts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streamalert.auth import Principal
from streamalert.ingest.validation import home_partition
from streamalert.records.common import format_timestamp, parse_timestamp
from tests.conftest import worker_env
from tests.support import (
    ApiUser,
    WorkerProcess,
    assert_matches_openapi,
    consume,
    issue_token,
    produce,
    wait_caught_up,
)

HOUR = timedelta(hours=1)
PARTITIONS = 4
PREVIEW = "/v1/workspaces/{ws}/alerts/preview"


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("preview")
    prefix = f"p{time.time_ns() % 10**10}"
    # Ticks stay fresh for three intervals: weeks, so a tick for any hour of the span is decided.
    env = worker_env(kafka_bootstrap, prefix, folder, STREAMALERT_EVALUATION_INTERVAL="2000000")
    process = WorkerProcess(env, folder / "worker.log", prefix).start()
    try:
        yield process
    finally:
        process.stop()


def user_of(worker: WorkerProcess, workspace: str, role: str = "member") -> ApiUser:
    principal = Principal(workspace_id=workspace, user_id="eve", name="Eve", role=role)
    return ApiUser(worker.url, issue_token(worker.env, principal), workspace)


def hour_now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def on_partition(prefix: str, partition: int) -> str:
    """A subject id whose records live on `partition`."""
    return next(
        name
        for i in range(1000)
        if home_partition((name := f"{prefix}-{i}").encode(), PARTITIONS) == partition
    )


def source_events(workspace: str, source: str, hour: datetime) -> list[tuple[bytes, bytes]]:
    """Nine days of 100 events an hour, 400 in the hour 3 hours before `hour` and 40 in the one
    100 hours before."""
    records = []
    for back in range(1, 9 * 24):
        count = {3: 400, 100: 40}.get(back, 100)
        event = {
            "type": "source_events",
            "workspace_id": workspace,
            "source_id": source,
            "timestamp": format_timestamp(hour - back * HOUR + 30 * timedelta(minutes=1)),
            "count": count,
        }
        records.append((source.encode(), orjson.dumps(event)))
    return records


def delivery_results(workspace: str, destination: str, hour: datetime) -> list[tuple[bytes, bytes]]:
    """Nine days of 100 delivered an hour; 300 failed too in the hours 10 and 40 hours before."""
    records = []
    for back in range(1, 9 * 24):
        result = {
            "workspace_id": workspace,
            "kind": "destination",
            "destination_id": destination,
            "timestamp": format_timestamp(hour - back * HOUR + 30 * timedelta(minutes=1)),
            "delivered": 100,
            "failed": 300 if back in (10, 40) else 0,
        }
        records.append((destination.encode(), orjson.dumps(result)))
    return records


def audience_sizes(workspace: str, audience: str, hour: datetime) -> list[tuple[bytes, bytes]]:
    """Nine days of a size of 1,000 sampled each hour; 1,200 in the hours 5 to 3 hours before."""
    records = []
    for back in range(1, 9 * 24):
        sample = {
            "type": "audience_size",
            "workspace_id": workspace,
            "audience_id": audience,
            "timestamp": format_timestamp(hour - back * HOUR + 30 * timedelta(minutes=1)),
            "size": 1200 if 3 <= back <= 5 else 1000,
        }
        records.append((audience.encode(), orjson.dumps(sample)))
    return records


async def send_ticks(bootstrap: str, topic: str, partition: int, hours: list[datetime]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for hour in hours:
            await producer.send_and_wait(
                topic, orjson.dumps({"at": format_timestamp(hour)}), partition=partition
            )
    finally:
        await producer.stop()


async def history_at(user: ApiUser, alert_id: str, last: datetime) -> dict[str, Any]:
    """The alert's history once the live evaluation has decided at `last`."""
    deadline = time.monotonic() + 60
    while True:
        status, body = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/history")
        assert status == 200, body
        if body["evaluated_at"] is not None and parse_timestamp(body["evaluated_at"]) == last:
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.3)


def status_changes(evaluations: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """(hour, status, observed) of each hour whose status differs from the hour before's."""
    changes, last = [], None
    for evaluation in evaluations:
        if evaluation["state"] != last:
            changes.append((evaluation["at"], evaluation["state"], evaluation["observed"]))
            last = evaluation["state"]
    return changes


async def test_the_preview_decides_each_hour_as_the_live_evaluation(
    worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    # Every hour of the test must be the same hour as the preview's `to`.
    if datetime.now(UTC).minute >= 58:
        await asyncio.sleep(150)
    hour = hour_now()
    user = user_of(worker, unique)
    source = on_partition(f"{unique}-src", 1)
    destination = on_partition(f"{unique}-dst", 2)
    prefix = worker.prefix
    audience = on_partition(f"{unique}-aud", 3)
    await produce(
        kafka_bootstrap,
        f"{prefix}.pipeline-events",
        source_events(unique, source, hour) + audience_sizes(unique, audience, hour),
    )
    await produce(kafka_bootstrap, f"{prefix}.delivery-results", delivery_results(unique, destination, hour))
    await wait_caught_up(kafka_bootstrap, prefix, [f"{prefix}.pipeline-events", f"{prefix}.delivery-results"])

    cases = [
        ({"kind": "source_volume", "source_id": source, "threshold_pct": 10}, 1),
        ({"kind": "destination_delivery_rate", "destination_id": destination, "threshold_pct": 95}, 2),
        ({"kind": "audience_size", "audience_id": audience, "threshold_pct": 10}, 3),
    ]
    for body, partition in cases:
        status, preview = user.call("POST", PREVIEW + "?days=7", body)
        assert status == 200, preview
        assert_matches_openapi(worker.url, "Preview", preview)
        evaluations = preview["evaluations"]
        assert len(evaluations) == 168
        assert parse_timestamp(preview["to"]) == hour == parse_timestamp(evaluations[-1]["at"])
        assert parse_timestamp(preview["from"]) == hour - 167 * HOUR
        decided = [parse_timestamp(e["at"]) for e in evaluations if e["state"] != "insufficient_data"]
        # What the counts keep today decides the last hour of a change (it reads 48 hours back)
        # and the last 25 of a rate (24 hours back); a size 48 hours ago is unknown (older
        # records are dead letters), so 24 of audience size. More when counting keeps more.
        least = {"source_volume": 1, "destination_delivery_rate": 25, "audience_size": 24}[body["kind"]]
        assert len(decided) >= least, len(decided)
        assert decided[-1] == hour
        # Hours the counts cannot tell are the oldest ones: from the first decided hour on,
        # every hour is ticked, as the live clock would have.
        span = [e for e in evaluations if parse_timestamp(e["at"]) >= decided[0]]

        # The same alert, saved, decided live at the same hours.
        alert_id = user.create(body | {"channels": [{"type": "in_app"}]})["id"]
        await send_ticks(
            kafka_bootstrap, f"{prefix}.ticks", partition, [parse_timestamp(e["at"]) for e in span]
        )
        history = await history_at(user, alert_id, hour)
        # Each hour's status: the live history records every change, with what it observed.
        live = [(t["at"], t["status"], t["observed"]) for t in reversed(history["transitions"])]
        assert live == status_changes(span)
        assert history["status"] == span[-1]["state"] and history["observed"] == span[-1]["observed"]

        # And what it published: the same transitions at the same hours.
        expected = [(t["state"], t["at"], t["incident"], t["observed"]) for t in preview["transitions"]]
        assert preview["fired"] == sum(1 for t in expected if t[0] == "firing") >= 1
        if body["kind"] != "source_volume":
            # Two dips, or a rise and its return: within the 25 hours the counts decide today.
            shape = {
                "destination_delivery_rate": ["firing", "resolved", "firing"],
                "audience_size": ["firing", "resolved"],
            }
            assert [t[0] for t in expected] == shape[body["kind"]]

        count = len(expected)

        def ours(records: list[Any], alert_id: str = alert_id) -> list[dict[str, Any]]:
            return [orjson.loads(r.value) for r in records if r.key.decode() == alert_id]

        fired = ours(
            await consume(kafka_bootstrap, f"{prefix}.alert-fired", lambda r, n=count: len(ours(r)) >= n)
        )
        assert [(e["state"], e["occurred_at"], e["incident"], e["observed"]) for e in fired] == expected


def test_days_must_be_1_to_7(worker: WorkerProcess, unique: str) -> None:
    user = user_of(worker, unique)
    body = {"kind": "source_volume", "source_id": "web", "threshold_pct": 10}
    for days in ("0", "8", "-1", "seven", "1.5", ""):
        status, answer = user.call("POST", PREVIEW + f"?days={days}", body)
        assert status == 422, (days, answer)
        assert answer["error"]["details"][0]["field"] == "days", answer
    status, answer = user.call("POST", PREVIEW + "?days=1", body)
    assert status == 200 and len(answer["evaluations"]) == 24
    status, answer = user.call("POST", PREVIEW, body)  # 7 by default
    assert status == 200 and len(answer["evaluations"]) == 168
    # Nothing was saved.
    assert user.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "source_volume", "source_id": "web", "threshold_pct": "10"}, "threshold_pct"),
        ({"kind": "source_volume", "source_id": "web", "threshold_pct": 0}, "threshold_pct"),
        ({"kind": "source_volume", "threshold_pct": 10}, "source_id"),
        ({"kind": "destination_delivery_rate", "destination_id": "d", "threshold_pct": 101}, "threshold_pct"),
        ({"kind": "source_volume", "source_id": "web", "threshold_pct": 10, "colour": "red"}, "colour"),
        ({"kind": "nope", "source_id": "web", "threshold_pct": 10}, "kind"),
        (
            {"kind": "source_volume", "source_id": "web", "threshold_pct": 10, "channels": [{"type": "fax"}]},
            "channels.0.type",
        ),
    ],
)
def test_a_bad_field_is_a_422_naming_it_as_for_create(
    worker: WorkerProcess, unique: str, body: dict[str, Any], field: str
) -> None:
    user = user_of(worker, unique)
    status, answer = user.call("POST", PREVIEW, body)
    assert status == 422, answer
    assert field in [detail["field"] for detail in answer["error"]["details"]], answer
    # Create says the same of the same body.
    create = {"channels": [{"type": "in_app"}]} | body
    created_status, created = user.call("POST", "/v1/workspaces/{ws}/alerts", create)
    assert created_status == 422
    assert created["error"]["details"][0]["field"] == answer["error"]["details"][0]["field"]


def test_another_workspace_is_not_found(worker: WorkerProcess, unique: str) -> None:
    user = user_of(worker, unique)
    body = {"kind": "source_volume", "source_id": "web", "threshold_pct": 10}
    for path in (PREVIEW, "/v1/workspaces/{ws}/alerts"):
        status, answer = user.call("POST", path.replace("{ws}", "someone-else"), body)
        assert status == 404 and answer["error"]["code"] == "not_found", answer
    status, answer = ApiUser(worker.url, "sat_nope_nope", unique).call("POST", PREVIEW, body)
    assert status == 401, answer
