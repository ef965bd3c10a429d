"""`GET …/alerts/{id}/series` from two workers: each answers for every alert, whoever owns it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from streamalert.auth import Principal
from tests.conftest import worker_env
from tests.support import (
    ApiUser,
    WorkerProcess,
    assert_matches_openapi,
    issue_token,
    produce,
    raw,
    sign_in_over_http,
)

SOURCES = [f"src-{i}" for i in range(12)]  # enough keys to land on every one of 4 partitions


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


def events(workspace: str) -> list[tuple[bytes, bytes]]:
    # Source i: 100 + i events 30 hours ago (baseline), 50 + i events 5 hours ago (current).
    return [
        (
            source.encode(),
            orjson.dumps(
                {
                    "type": "source_events",
                    "workspace_id": workspace,
                    "source_id": source,
                    "timestamp": at(hours),
                    "count": count + i,
                }
            ),
        )
        for i, source in enumerate(SOURCES)
        for hours, count in ((30, 100), (5, 50))
    ]


async def test_any_worker_answers_the_series_of_any_alert(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    # The same session secret on both: a web session from one works on the other.
    env = worker_env(kafka_bootstrap, unique, tmp_path / "a", STREAMALERT_SESSION_SECRET="shared-secret")
    first = WorkerProcess(env, tmp_path / "a.log", unique).start()
    second = WorkerProcess(
        env | {"STREAMALERT_DATA_DIR": str(tmp_path / "b" / "data")}, tmp_path / "b.log", unique
    ).start()
    try:
        token = issue_token(env, Principal(workspace_id=unique, user_id="u", name="U", role="owner"))
        users = [ApiUser(worker.url, token, unique) for worker in (first, second)]
        await produce(kafka_bootstrap, f"{unique}.pipeline-events", events(unique))
        alert_ids = [
            users[0].create(
                {
                    "kind": "source_volume",
                    "source_id": s,
                    "threshold_pct": 10,
                    "channels": [{"type": "in_app"}],
                }
            )["id"]
            for s in SOURCES
        ]

        def series(user: ApiUser, alert_id: str) -> dict[str, Any]:
            status, body = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/series")
            assert status == 200, body
            return dict(body)

        deadline = time.monotonic() + 45
        while True:
            answers = {(u.base_url, a): series(u, a) for u in users for a in alert_ids}
            if all(len(body["points"]) == 48 for body in answers.values()):
                break
            assert time.monotonic() < deadline, {k: len(v["points"]) for k, v in answers.items()}
            await asyncio.sleep(0.5)

        for i, alert_id in enumerate(alert_ids):
            mine = [answers[(u.base_url, alert_id)] for u in users]
            points = mine[0]["points"]
            baseline = sum(p["value"] for p in points if p["window"] == "baseline")
            current = sum(p["value"] for p in points if p["window"] == "current")
            assert (baseline, current) == (100 + i, 50 + i)
            # The same answer from both workers, though only one owns the subject's partition.
            assert [p["value"] for p in mine[1]["points"]] == [p["value"] for p in points]
        assert_matches_openapi(first.url, "Series", answers[(first.url, alert_ids[0])])

        # Workers sharing the session secret: a session from one works on the other.
        cookie, _ = sign_in_over_http(first.url, token)
        status, _, me = raw("GET", f"{second.url}/v1/me", cookie)
        assert status == 200 and orjson.loads(me)["workspace_id"] == unique
    finally:
        first.stop()
        second.stop()
