"""Two workers share the partitions; when one is SIGKILLed the other takes over its alerts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from streamalert.auth import Principal
from tests.conftest import worker_env
from tests.support import ApiUser, WorkerProcess, http_get, issue_token, produce, wait_caught_up

SOURCES = [f"src-{i}" for i in range(12)]  # enough keys to land on every one of 4 partitions


def at(hours_before: float) -> str:
    from datetime import UTC, datetime, timedelta

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


@pytest.mark.parametrize("committed", [True, False], ids=["after-commit", "before-first-commit"])
async def test_a_surviving_worker_keeps_alerts_firing_and_delivering(
    kafka_bootstrap: str, tmp_path: Path, unique: str, committed: bool
) -> None:
    # A short stuck limit: a partition the survivor is assigned but never reads is read again
    # from its start after it (see below).
    env = worker_env(kafka_bootstrap, unique, tmp_path / "a", STREAMALERT_AGENT_STUCK_AFTER="15")
    first = WorkerProcess(env, tmp_path / "a.log", unique).start()
    second = WorkerProcess(
        env | {"STREAMALERT_DATA_DIR": str(tmp_path / "b" / "data")}, tmp_path / "b.log", unique
    ).start()
    try:
        user = ApiUser(
            second.url,
            issue_token(env, Principal(workspace_id=unique, user_id="u", name="U", role="owner")),
            unique,
        )

        def events(hours: float, count: int) -> list[tuple[bytes, bytes]]:
            return [
                (
                    s.encode(),
                    orjson.dumps(
                        {
                            "type": "source_events",
                            "workspace_id": unique,
                            "source_id": s,
                            "timestamp": at(hours),
                            "count": count,
                        }
                    ),
                )
                for s in SOURCES
            ]

        # Both windows at 100: every alert is ok, spread over both workers' partitions.
        await produce(kafka_bootstrap, f"{unique}.pipeline-events", events(30, 100) + events(5, 100))
        alert_ids = [
            user.create(
                {
                    "kind": "source_volume",
                    "source_id": s,
                    "threshold_pct": 10,
                    "channels": [{"type": "in_app"}],
                }
            )["id"]
            for s in SOURCES
        ]

        def statuses() -> set[str]:
            return {
                user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{a}/history")[1]["status"] for a in alert_ids
            }

        deadline = time.monotonic() + 30
        while statuses() != {"ok"}:
            assert time.monotonic() < deadline, statuses()
            await asyncio.sleep(0.3)
        if committed:
            await wait_caught_up(kafka_bootstrap, unique, [f"{unique}.pipeline-events"])
        # Else the first worker dies before it ever committed its pipeline-events partitions.
        # Faust then sometimes leaves them unread on the survivor for good (more often on a
        # loaded machine); the agent watch reads such a partition again from its start.
        assert first.process is not None
        first.process.kill()
        first.process.wait()
        # The current window jumps by 50 %: every alert fires, whichever worker owned it.
        await produce(kafka_bootstrap, f"{unique}.pipeline-events", events(4, 50))
        deadline = time.monotonic() + 90
        while True:
            notifications = user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]
            fired = {n["alert_id"] for n in notifications if n["state"] == "firing"}
            if fired == set(alert_ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        missing = {a: s for a, s in zip(alert_ids, SOURCES, strict=True) if a not in fired}
        if missing:
            details = {
                source: user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{a}/history")[1]
                for a, source in missing.items()
            }
            log = second.log_path.read_text(errors="replace").splitlines()
            related = [line for line in log if any(a in line or f"{s} " in line for a, s in missing.items())]
            raise AssertionError(f"not fired after failover: {details}\nsurvivor log lines: {related[-20:]}")
        assert statuses() == {"firing"}
        assert http_get(f"{second.url}/readyz")[0] == 200
    finally:
        first.kill()
        second.stop()
