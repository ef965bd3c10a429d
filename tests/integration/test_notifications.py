"""From produced metrics to delivered messages, with real local vendor servers."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streamalert.auth import Principal
from streamalert.cli_format import ExitCode
from tests.conftest import worker_env
from tests.integration.vendors import Vendors
from tests.notify.servers import HANG, Reply, routing_key, webhook_path
from tests.support import ApiUser, WorkerProcess, assert_matches_openapi, issue_token, produce


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    servers = Vendors()
    yield servers
    servers.close()


def notifier_env(bootstrap: str, prefix: str, folder: Path, vendors: Vendors) -> dict[str, str]:
    return worker_env(bootstrap, prefix, folder) | {
        "STREAMALERT_PAGERDUTY_URL": vendors.pagerduty.base_url,
        "STREAMALERT_SMTP_URL": f"smtp://127.0.0.1:{vendors.smtp_port}",
        "STREAMALERT_EMAIL_FROM": "alerts@streamalert.test",
    }


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("notifier")
    prefix = f"n{uuid.uuid4().hex[:10]}"
    process = WorkerProcess(
        notifier_env(kafka_bootstrap, prefix, folder, vendors), folder / "worker.log", prefix
    ).start()
    yield process
    process.stop()


def owner(worker: WorkerProcess, workspace: str) -> ApiUser:
    principal = Principal(workspace_id=workspace, user_id="olga", name="Olga", role="owner")
    return ApiUser(worker.url, issue_token(worker.env, principal), workspace)


def at(hours_before: float) -> str:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=hours_before, minutes=-30)).isoformat()


async def publish(
    bootstrap: str, worker: WorkerProcess, workspace: str, source: str, baseline: int, current: int
) -> None:
    def record(hours: float, count: int) -> tuple[bytes, bytes]:
        value = {
            "type": "source_events",
            "workspace_id": workspace,
            "source_id": source,
            "timestamp": at(hours),
            "count": count,
        }
        return source.encode(), orjson.dumps(value)

    records = ([record(30, baseline)] if baseline else []) + ([record(5, current)] if current else [])
    await produce(bootstrap, f"{worker.prefix}.pipeline-events", records)


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def slack_channel(server: Any, name: str = "#alerts") -> dict[str, str]:
    return {"type": "slack", "webhook_url": server.base_url + webhook_path(), "channel": name}


def alert_body(source: str, channels: list[dict[str, str]]) -> dict[str, Any]:
    return {"kind": "source_volume", "source_id": source, "threshold_pct": 5, "channels": channels}


async def test_every_channel_gets_one_firing_and_one_resolve(
    worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    slack, workflow = vendors.slack(), vendors.workflow()
    key = routing_key()
    address = f"{unique}@example.com"
    user = owner(worker, unique)
    channels = [
        {"type": "email", "address": address},
        slack_channel(slack),
        {"type": "slack_workflow", "webhook_url": workflow.base_url + webhook_path()},
        {"type": "pagerduty", "integration_key": key},
        {"type": "in_app"},
    ]
    await publish(kafka_bootstrap, worker, unique, "web", baseline=100, current=90)
    alert = user.create(alert_body("web", channels))

    def pagerduty_mine() -> list[Any]:
        return [r.json() for r in vendors.pagerduty.valid if r.json()["routing_key"] == key]

    def mails_mine() -> list[email.message.Message]:
        return [email.message_from_bytes(m.data) for m in vendors.smtp.mails if address in m.recipients]

    def in_app() -> list[dict[str, Any]]:
        return user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]

    await eventually(
        lambda: (
            len(slack.valid) == 1
            and len(workflow.valid) == 1
            and len(pagerduty_mine()) == 1
            and len(mails_mine()) == 1
            and len(in_app()) == 1
        ),
        what="firing deliveries",
    )
    assert slack.received == slack.valid  # every request was one Slack would accept
    assert "firing" in slack.valid[0].json()["text"].lower()
    variables = workflow.valid[0].json()
    assert (
        variables["state"] == "firing"
        and variables["alert_id"] == alert["id"]
        and variables["current"] == "90"
    )
    trigger = pagerduty_mine()[0]
    assert trigger["event_action"] == "trigger"
    firing_mail = mails_mine()[0]
    assert firing_mail["Auto-Submitted"] == "auto-generated"
    assert firing_mail["Subject"].startswith("[FIRING]")
    assert {part.get_content_type() for part in firing_mail.walk()} >= {"text/plain", "text/html"}

    # The window recovers: 10 more events make 100 against 100.
    await publish(kafka_bootstrap, worker, unique, "web", baseline=0, current=10)
    await eventually(
        lambda: (
            len(slack.valid) == 2
            and len(workflow.valid) == 2
            and len(pagerduty_mine()) == 2
            and len(mails_mine()) == 2
            and len(in_app()) == 2
        ),
        what="resolve deliveries",
    )
    resolve = pagerduty_mine()[1]
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]
    resolved_mail = mails_mine()[1]
    assert resolved_mail["Subject"].startswith("[RESOLVED]")
    assert resolved_mail["In-Reply-To"] == firing_mail["Message-ID"]
    assert firing_mail["Message-ID"] in resolved_mail["References"]
    await asyncio.sleep(2)  # more evaluations: nothing else is sent
    assert (len(slack.received), len(workflow.received), len(pagerduty_mine()), len(mails_mine())) == (
        2,
        2,
        2,
        2,
    )

    status, history = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/history")
    assert status == 200
    delivered = [d for d in history["deliveries"] if d["outcome"] == "delivered"]
    assert sorted(d["channel"]["type"] for d in delivered) == sorted(
        ["email", "slack", "slack_workflow", "pagerduty", "in_app"] * 2
    )
    assert key not in orjson.dumps(history).decode()
    assert_matches_openapi(worker.url, "History", history)

    # The bell: newest first, unread count, mark read.
    status, listing = user.call("GET", "/v1/workspaces/{ws}/notifications")
    assert (status, listing["unread"]) == (200, 2)
    assert [n["state"] for n in listing["notifications"]] == ["resolved", "firing"]
    assert_matches_openapi(worker.url, "NotificationList", listing)
    newest = listing["notifications"][0]
    status, read = user.call("POST", f"/v1/workspaces/{{ws}}/notifications/{newest['id']}/read")
    assert (status, read["read"]) == (200, True)
    assert user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["unread"] == 1
    assert user.call("POST", "/v1/workspaces/{ws}/notifications/nope/read")[0] == 404


async def test_retries_failures_and_retry_after(
    worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    flaky = vendors.slack()
    flaky.script = [Reply(500, "oops")] * 3
    broken = vendors.slack()
    broken.script = [Reply(400, "invalid_payload")]
    throttled = vendors.slack()
    throttled.script = [Reply(429, "rate_limited", {"Retry-After": "2"})]
    user = owner(worker, unique)
    for source in ("flaky", "broken", "throttled"):
        await publish(kafka_bootstrap, worker, unique, source, baseline=100, current=50)
    alerts = {
        "flaky": user.create(alert_body("flaky", [slack_channel(flaky)])),
        "broken": user.create(alert_body("broken", [slack_channel(broken)])),
        "throttled": user.create(alert_body("throttled", [slack_channel(throttled)])),
    }
    await eventually(
        lambda: len(flaky.valid) == 4 and len(broken.valid) == 1 and len(throttled.valid) == 2,
        what="deliveries",
    )

    def deliveries(name: str) -> list[dict[str, Any]]:
        return user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alerts[name]['id']}/history")[1]["deliveries"]

    await eventually(
        lambda: deliveries("flaky") and deliveries("flaky")[0]["outcome"] == "delivered",
        what="flaky delivered",
    )
    assert [d["outcome"] for d in reversed(deliveries("flaky"))] == ["retrying"] * 3 + ["delivered"]
    assert [d["status_code"] for d in reversed(deliveries("flaky"))] == [500, 500, 500, 200]
    await eventually(lambda: deliveries("broken"), what="broken recorded")
    assert [(d["outcome"], d["status_code"]) for d in deliveries("broken")] == [("failed", 400)]
    assert "invalid_payload" in deliveries("broken")[0]["error"]
    first, second = throttled.valid
    assert second.at - first.at >= 2.0
    await asyncio.sleep(2)
    assert (len(flaky.received), len(broken.received), len(throttled.received)) == (4, 1, 2)


async def test_a_hanging_endpoint_does_not_delay_other_alerts(
    worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    hanging, healthy = vendors.slack(), vendors.slack()
    hanging.script = [HANG] * 5
    user = owner(worker, unique)
    await publish(kafka_bootstrap, worker, unique, "slow", baseline=100, current=50)
    await publish(kafka_bootstrap, worker, unique, "fast", baseline=100, current=50)
    user.create(alert_body("slow", [slack_channel(hanging)]))
    user.create(alert_body("fast", [slack_channel(healthy)]))
    await eventually(lambda: hanging.received and healthy.valid, what="both endpoints called")
    assert healthy.valid[0].at - hanging.received[0].at < 1.0


async def test_test_send_reports_each_channel(
    worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    slack, refusing = vendors.slack(), vendors.slack()
    refusing.script = [Reply(404, "no_service")]
    user = owner(worker, unique)
    alert = user.create(
        alert_body("quiet", [slack_channel(slack), slack_channel(refusing, "#other"), {"type": "in_app"}])
    )
    status, body = user.call("POST", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/test")
    assert status == 200
    assert_matches_openapi(worker.url, "TestResults", body)
    outcomes = [(r["channel"]["type"], r["outcome"], r["status_code"]) for r in body["results"]]
    assert outcomes == [("slack", "delivered", 200), ("slack", "failed", 404), ("in_app", "delivered", None)]
    assert "[TEST]" in slack.valid[0].json()["text"] or "test" in slack.valid[0].json()["text"].lower()
    notifications = user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]
    assert notifications[0]["test"] is True
    # Test sends are not alert events: nothing in the alert's delivery history.
    assert user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/history")[1]["deliveries"] == []

    refusing.script = [Reply(404, "no_service")]
    cli = subprocess.run(
        [sys.executable, "-m", "streamalert.cli", "alerts", "test", alert["id"]],
        env=os.environ | worker.env | {"STREAMALERT_API_URL": worker.url, "STREAMALERT_TOKEN": user.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == ExitCode.CHANNEL_FAILED
    assert "delivered" in cli.stdout and "failed (" in cli.stdout


async def test_no_delivery_is_repeated_after_a_sigkill(
    kafka_bootstrap: str, vendors: Vendors, tmp_path: Path, unique: str
) -> None:
    done, stuck = vendors.slack(), vendors.slack()
    stuck.script = [HANG] * 10
    worker = WorkerProcess(
        notifier_env(kafka_bootstrap, unique, tmp_path, vendors), tmp_path / "worker.log", unique
    ).start()
    try:
        user = owner(worker, unique)
        await publish(kafka_bootstrap, worker, unique, "web", baseline=100, current=50)
        alert = user.create(
            alert_body("web", [slack_channel(done), slack_channel(stuck, "#stuck"), {"type": "in_app"}])
        )

        def history() -> dict[str, Any]:
            return user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/history")[1]

        await eventually(
            lambda: (
                len([d for d in history()["deliveries"] if d["outcome"] == "delivered"]) == 2
                and stuck.received
            ),
            what="two deliveries made, one hanging",
        )
        assert worker.process is not None
        hung = len(stuck.received)  # requests that never got an answer
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait()
        stuck.script = []  # the endpoint recovers while the worker is down
        worker.start()
        await eventually(lambda: len(stuck.received) > hung, what="the unfinished delivery after the restart")
        await asyncio.sleep(2)
        assert len(done.received) == 1  # delivered before the kill: not sent again
        assert len(stuck.received) == hung + 1  # unfinished before the kill: sent once after it
        assert len(user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]) == 1
    finally:
        worker.stop()


def scrape(worker: WorkerProcess) -> dict[str, float]:
    """`/metrics` as {'name{labels}': value}."""
    import urllib.request

    with urllib.request.urlopen(f"{worker.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_metrics_move_with_records_alerts_and_deliveries(
    worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"{worker.prefix}.pipeline-events"
    before = scrape(worker)
    user = owner(worker, unique)
    await publish(kafka_bootstrap, worker, unique, "metered", baseline=100, current=10)
    await produce(kafka_bootstrap, topic, [(b"metered", b"{broken")])
    user.create(alert_body("metered", [{"type": "in_app"}]))
    await eventually(
        lambda: user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["unread"] == 1,
        what="in-app delivery",
    )

    def grew(name: str, by: float = 1) -> bool:
        return scrape(worker).get(name, 0) - before.get(name, 0) >= by

    await eventually(
        lambda: grew('streamalert_deliveries_total{channel="in_app",outcome="delivered"}'),
        what="delivery counter",
    )
    after = scrape(worker)
    assert (
        after[f'streamalert_records_total{{topic="{topic}"}}']
        - before.get(f'streamalert_records_total{{topic="{topic}"}}', 0)
        >= 3
    )
    assert (
        after[f'streamalert_records_rejected_total{{topic="{topic}"}}']
        - before.get(f'streamalert_records_rejected_total{{topic="{topic}"}}', 0)
        >= 1
    )
    assert after['streamalert_alert_transitions_total{state="firing"}'] > before.get(
        'streamalert_alert_transitions_total{state="firing"}', 0
    )
    assert after['streamalert_evaluations_total{status="firing"}'] > before.get(
        'streamalert_evaluations_total{status="firing"}', 0
    )
    assert after['streamalert_alerts{state="firing"}'] >= 1
    assert after['streamalert_delivery_latency_seconds_count{channel="in_app"}'] >= 1
    assert any(
        name.startswith(f'streamalert_consumer_lag{{partition="0",topic="{topic}"}}') for name in after
    )
