"""The API against what an attacker or a careless client sends."""

from __future__ import annotations

import asyncio
import http.client
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from tests.conftest import worker_env
from tests.integration.test_alerts_api import source_alert, user
from tests.support import ApiUser, WorkerProcess, consume

# Two Slack webhooks whose masks are identical: same host, same last four characters.
URL_ONE = "https://hooks.slack.com/services/T0001/B0001/FirstChannelSecretSAME"
URL_TWO = "https://hooks.slack.com/services/T0001/B0002/SecondChannelSecretSAME"


def raw_request(
    worker: WorkerProcess, method: str, path: str, headers: dict[str, str | bytes]
) -> tuple[int, dict[str, str], bytes]:
    """A request with headers exactly as given (bytes values go out unencoded)."""
    connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


async def test_patching_the_masked_echo_keeps_each_slack_channel_its_own_url(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    alice = user(module_worker, unique, "alice")
    channels = [
        {"type": "slack", "webhook_url": URL_ONE, "channel": "#one"},
        {"type": "slack", "webhook_url": URL_TWO, "channel": "#two"},
    ]
    created = alice.create(source_alert(channels=channels))
    path = f"/v1/workspaces/{{ws}}/alerts/{created['id']}"
    status, got = alice.call("GET", path)
    assert status == 200
    assert [c["webhook_url"] for c in got["channels"]] == ["https://hooks.slack.com/****SAME"] * 2

    status, patched = alice.call("PATCH", path, {"channels": got["channels"], "threshold_pct": 6})
    assert status == 200, patched
    # Only the second channel kept, masked: still unambiguous by its channel name.
    status, patched = alice.call("PATCH", path, {"channels": got["channels"][1:]})
    assert status == 200, patched

    records = await consume(
        kafka_bootstrap,
        f"{module_worker.prefix}.alert-configs",
        lambda found: any(r.key == created["id"].encode() and b'"version":3' in r.value for r in found),
    )
    stored = {
        orjson.loads(r.value)["version"]: orjson.loads(r.value)["channels"]
        for r in records
        if r.key == created["id"].encode()
    }
    assert [c["webhook_url"] for c in stored[2]] == [URL_ONE, URL_TWO]
    assert [c["webhook_url"] for c in stored[3]] == [URL_TWO]

    # Two identical masks and names, one dropped: which secret is meant cannot be told. Ask.
    twins = alice.create(source_alert(channels=[c | {"channel": "#same"} for c in channels]))
    twins_path = f"/v1/workspaces/{{ws}}/alerts/{twins['id']}"
    status, body = alice.call(
        "PATCH", twins_path, {"channels": alice.call("GET", twins_path)[1]["channels"][1:]}
    )
    assert status == 422, body
    assert body["error"]["details"][0]["field"] == "channels.0.webhook_url"
    assert "Secret" not in orjson.dumps(body).decode()


def test_a_non_utf8_authorization_header_is_401(module_worker: WorkerProcess, unique: str) -> None:
    for value in (b"Bearer \xff\xfe\xfd", b"Bearer sat_\xc3\x28", b"\xff"):
        status, headers, body = raw_request(
            module_worker, "GET", f"/v1/workspaces/{unique}/alerts", {"Authorization": value}
        )
        assert status == 401, body
        assert headers["Content-Type"].startswith("application/json")
        assert orjson.loads(body)["error"]["code"] == "unauthenticated"
    assert "Traceback" not in module_worker.log_path.read_text(errors="replace")


def test_an_oversized_authorization_header_is_refused_without_echo_or_log(
    module_worker: WorkerProcess, unique: str
) -> None:
    token = "sat_" + "TOKENSECRET" * 818  # 9,002 characters: over aiohttp's 8190-byte field limit
    status, headers, body = raw_request(
        module_worker, "GET", f"/v1/workspaces/{unique}/alerts", {"Authorization": f"Bearer {token}"}
    )
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert orjson.loads(body)["error"]["code"] == "bad_request"
    assert b"TOKENSECRET" not in body
    time.sleep(0.2)
    assert "TOKENSECRET" not in module_worker.log_path.read_text(errors="replace")
    # The server still answers afterwards.
    assert raw_request(module_worker, "GET", "/healthz", {})[0] == 200


def test_log_lines_cannot_be_forged_through_an_alert_name(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    created = alice.create(source_alert(name="x\n2026-01-01 FAKE LINE\x1b[31m"))
    assert created["name"] == "x\n2026-01-01 FAKE LINE\x1b[31m"  # stored as given
    deadline = time.monotonic() + 5
    while created["id"] not in module_worker.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = module_worker.log_path.read_text(errors="replace")
    line = next(line for line in text.splitlines() if created["id"] in line and "created" in line)
    assert line.rstrip().endswith("x\\n2026-01-01 FAKE LINE\\x1b[31m")
    assert not any(row.startswith("2026-01-01 FAKE LINE") for row in text.splitlines())
    assert "\x1b[31m" not in text


def test_405_names_the_allowed_methods(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    status, headers, body = raw_request(
        module_worker, "PUT", f"/v1/workspaces/{unique}/alerts", {"Authorization": f"Bearer {alice.token}"}
    )
    assert status == 405
    assert set(headers["Allow"].split(",")) >= {"GET", "POST"}
    assert orjson.loads(body)["error"]["code"] == "method_not_allowed"


def test_request_fields_take_strict_json_types_and_echo_nothing(
    module_worker: WorkerProcess, unique: str
) -> None:
    alice = user(module_worker, unique, "alice")
    created = alice.create(source_alert(threshold_pct=4.25))
    assert created["threshold_pct"] == 4.25
    path = f"/v1/workspaces/{{ws}}/alerts/{created['id']}"
    for body, field in [
        ({"enabled": 0.0}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"threshold_pct": "5"}, "threshold_pct"),
        ({"version": "1"}, "version"),
    ]:
        status, answer = alice.call("PATCH", path, body)
        assert status == 422, (body, answer)
        assert answer["error"]["details"][0]["field"] == field
    status, answer = alice.call(
        "POST", "/v1/workspaces/{ws}/alerts", source_alert(channels=[{"type": "pigeon_SeCrEt"}])
    )
    assert status == 422 and answer["error"]["details"][0]["field"] == "channels.0.type"
    assert "pigeon" not in orjson.dumps(answer).decode()
    assert alice.call("GET", path) == (200, created)  # nothing was written


def test_an_idle_read_answers_in_milliseconds(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    created = alice.create(source_alert())
    timings: dict[str, list[float]] = {"alert": [], "history": []}
    for _ in range(20):
        for name, path in (("alert", ""), ("history", "/history")):
            started = time.perf_counter()
            status, _ = alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{created['id']}{path}")
            timings[name].append(time.perf_counter() - started)
            assert status == 200
    # The views' long poll is 0.5 s; an idle read must not wait for it.
    assert statistics.median(timings["alert"]) < 0.15, timings
    assert statistics.median(timings["history"]) < 0.15, timings


async def test_compare_and_set_holds_across_workers(
    module_worker: WorkerProcess, kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    second = WorkerProcess(
        worker_env(kafka_bootstrap, module_worker.prefix, tmp_path),
        tmp_path / "second.log",
        module_worker.prefix,
    ).start()
    try:
        on_first = user(module_worker, unique, "alice")
        on_second = ApiUser(second.url, on_first.token, unique)
        created = on_first.create(source_alert())
        path = f"/v1/workspaces/{{ws}}/alerts/{created['id']}"
        barrier = threading.Barrier(2)

        def patch(api: ApiUser, body: dict[str, object]) -> tuple[int, Any]:
            barrier.wait()
            return api.call("PATCH", path, body)

        winners = []
        with ThreadPoolExecutor(2) as pool:
            for version in range(1, 16):
                answers = list(
                    pool.map(
                        patch,
                        [on_first, on_second],
                        [
                            {"threshold_pct": 100 + version, "version": version},
                            {"threshold_pct": 200 + version, "version": version},
                        ],
                    )
                )
                statuses = sorted(status for status, _ in answers)
                assert statuses == [200, 409], (version, answers)
                winner = next(body for status, body in answers if status == 200)
                assert winner["version"] == version + 1
                # Both workers hold the winner, whoever wrote it.
                assert on_first.call("GET", path) == (200, winner)
                assert on_second.call("GET", path) == (200, winner)
                winners.append(winner)
            # Without a version both edits apply, one after the other.
            answers = list(pool.map(patch, [on_first, on_second], [{"enabled": False}, {"name": "raced"}]))
            assert [status for status, _ in answers] == [200, 200], answers
            final = on_first.call("GET", path)[1]
            assert (final["enabled"], final["name"], final["version"]) == (False, "raced", 18)
            assert on_second.call("GET", path) == (200, final)

        # The latest record of the alert is the accepted one, so compaction keeps the winner
        # and a worker rebuilding from an empty disk reaches the same state.
        topic = f"{module_worker.prefix}.alert-configs"
        records = await consume(
            kafka_bootstrap,
            topic,
            lambda found: any(r.key == created["id"].encode() and b'"version":18' in r.value for r in found),
        )
        await asyncio.sleep(1.0)  # a re-publish after the last race, if any, has landed
        ours = await consume(kafka_bootstrap, topic, lambda found: len(found) >= len(records))
        latest = [orjson.loads(r.value) for r in ours if r.key == created["id"].encode()][-1]
        assert latest == final
    finally:
        second.stop()
