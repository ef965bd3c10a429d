"""A preview asked of any worker is answered from the counts of the worker holding the subject."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from streamalert.auth import Principal
from streamalert.ingest.validation import home_partition
from streamalert.web.ui.session import csrf_token
from tests.conftest import worker_env
from tests.support import WorkerProcess, issue_token, produce, raw, sign_in_over_http, wait_caught_up

SOURCES = [f"src-{i}" for i in range(12)]  # enough keys to land on every one of 4 partitions
PATH = "/v1/workspaces/{ws}/alerts/preview?days=2"


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


def events(workspace: str) -> list[tuple[bytes, bytes]]:
    # Source i: 100 + i events 30 hours ago (baseline window), 50 + i events 5 hours ago (current).
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


def preview(url: str, token: str, workspace: str, source: str) -> tuple[int, str | None, Any]:
    import urllib.error
    import urllib.request

    body = orjson.dumps({"kind": "source_volume", "source_id": source, "threshold_pct": 10})
    request = urllib.request.Request(
        url + PATH.format(ws=workspace),
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                response.headers.get("X-StreamAlert-Answered-By"),
                orjson.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-StreamAlert-Answered-By"), orjson.loads(error.read())


def answers(worker: WorkerProcess, token: str, workspace: str) -> dict[str, tuple[str | None, Any]]:
    found = {}
    for source in SOURCES:
        status, answered_by, body = preview(worker.url, token, workspace, source)
        assert status == 200, (source, body)
        found[source] = (answered_by, body)
    return found


def wait_answering(workers: list[WorkerProcess], token: str, workspace: str) -> None:
    """Until every worker answers for every subject (the group has settled after a rebalance)."""
    deadline = time.monotonic() + 60
    while True:
        statuses = [preview(w.url, token, workspace, s)[0] for w in workers for s in SOURCES]
        if all(status == 200 for status in statuses):
            return
        assert time.monotonic() < deadline, statuses
        time.sleep(0.5)


async def test_a_worker_not_holding_the_subject_answers_as_its_owner(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    env = worker_env(kafka_bootstrap, unique, tmp_path / "a")
    first = WorkerProcess(env, tmp_path / "a.log", unique)
    second = WorkerProcess(
        env | {"STREAMALERT_DATA_DIR": str(tmp_path / "b" / "data")}, tmp_path / "b.log", unique
    )
    for worker in (first, second):
        worker.env = worker.env | {"STREAMALERT_ADVERTISED_URL": worker.url}
    first.start()
    second.start()
    try:
        token = issue_token(env, Principal(workspace_id=unique, user_id="u", name="U", role="member"))
        await produce(kafka_bootstrap, f"{unique}.pipeline-events", events(unique))
        await wait_caught_up(kafka_bootstrap, unique, [f"{unique}.pipeline-events"])
        wait_answering([first, second], token, unique)
        by_first, by_second = answers(first, token, unique), answers(second, token, unique)

        owners = {}
        for i, source in enumerate(SOURCES):
            (owner, body), (owner_too, body_too) = by_first[source], by_second[source]
            # One owner per subject, whoever was asked, and the same answer.
            assert owner == owner_too and owner in (first.url, second.url), (owner, owner_too)
            assert body == body_too
            owners[source] = owner
            last = body["evaluations"][-1]
            assert last["state"] == "firing"
            assert (last["observed"]["current"], last["observed"]["baseline"]) == (50 + i, 100 + i)
        # Both workers own subjects, so each answered some previews by forwarding them.
        assert set(owners.values()) == {first.url, second.url}
        # All subjects of a partition have the same owner.
        by_partition: dict[int, set[str]] = {}
        for source, owner in owners.items():
            by_partition.setdefault(home_partition(source.encode(), 4), set()).add(owner)
        assert all(len(found) == 1 for found in by_partition.values()), by_partition

        # A browser session is forwarded too (cookie and CSRF header); the owner checks it with
        # its own key, so workers with keys of their own refuse each other's sessions: a 503
        # that says why, not a 401 that would sign the browser out.
        cookie, _ = sign_in_over_http(first.url, token)
        key = (tmp_path / "a" / "data" / "session.key").read_bytes().strip()
        for source, owner in owners.items():
            status, _, answer = raw(
                "POST",
                first.url + PATH.format(ws=unique),
                cookie,
                orjson.dumps({"kind": "source_volume", "source_id": source, "threshold_pct": 10}),
                **{"Content-Type": "application/json", "X-CSRF-Token": csrf_token(key, cookie)},
            )
            if owner == first.url:
                assert status == 200 and orjson.loads(answer) == by_first[source][1]
            else:
                assert status == 503, answer
                assert "STREAMALERT_SESSION_SECRET" in orjson.loads(answer)["error"]["message"]

        # The owner of some subjects dies: until the group notices, the other cannot reach it.
        second.kill()
        lost = [s for s, owner in owners.items() if owner == second.url]
        started = time.monotonic()
        status, _, body = preview(first.url, token, unique, lost[0])
        assert status == 503 and body["error"]["code"] == "unavailable", body
        assert "did not answer" in body["error"]["message"]
        assert time.monotonic() - started < 12
        # Once it has taken the partitions over, the survivor answers for all, as before.
        wait_answering([first], token, unique)
        after = answers(first, token, unique)
        assert {source: body for source, (_, body) in after.items()} == {
            source: body for source, (_, body) in by_first.items()
        }
        assert {owner for owner, _ in after.values()} == {first.url}
    finally:
        first.stop()
        second.stop()
