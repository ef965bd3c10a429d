"""Muted alerts against the real broker, a real worker and local Slack and PagerDuty servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from streamalert.cli import main
from streamalert.cli_format import ExitCode
from streamalert.evaluation.mute import expiry_event_id
from streamalert.evaluation.state import event_id
from streamalert.records.common import format_timestamp, parse_timestamp
from tests.integration.test_notifications import (
    alert_body,
    eventually,
    notifier_env,
    owner,
    publish,
    slack_channel,
)
from tests.integration.vendors import Vendors
from tests.notify.servers import routing_key
from tests.support import ApiUser, WorkerProcess, assert_matches_openapi, consume


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    servers = Vendors()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, vendors: Vendors
) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("mute")
    prefix = f"u{uuid.uuid4().hex[:10]}"
    process = WorkerProcess(
        notifier_env(kafka_bootstrap, prefix, folder, vendors), folder / "worker.log", prefix
    ).start()
    yield process
    process.stop()


def cli(worker: WorkerProcess, user: ApiUser, *args: str) -> Any:
    env = {"STREAMALERT_API_URL": worker.url, "STREAMALERT_TOKEN": user.token}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def fired(bootstrap: str, worker: WorkerProcess, alert_id: str, count: int) -> list[dict[str, Any]]:
    """The alert's first `count` events on alert-fired (waits for them)."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [orjson.loads(r.value) for r in records if r.key == alert_id.encode()]

    records = await consume(
        bootstrap, f"{worker.prefix}.alert-fired", lambda got: len(mine(got)) >= count, timeout=60
    )
    return mine(records)


def deliveries(user: ApiUser, alert_id: str) -> list[dict[str, Any]]:
    return user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/history")[1]["deliveries"]


async def test_a_muted_alert_publishes_sends_once_when_the_mute_ends_and_closes_what_it_opened(
    worker: WorkerProcess, vendors: Vendors, kafka_bootstrap: str, unique: str
) -> None:
    user = owner(worker, unique)
    slack, quiet_slack = vendors.slack(), vendors.slack()
    key, quiet_key = routing_key(), routing_key()
    hour_ahead = format_timestamp(datetime.now(UTC) + timedelta(hours=1))

    def pagerduty(routing: str) -> list[dict[str, Any]]:
        return [r.json() for r in vendors.pagerduty.valid if r.json()["routing_key"] == routing]

    # Two muted alerts fire: "web" will be notified when its mute ends, "api" never.
    await publish(kafka_bootstrap, worker, unique, "web", baseline=100, current=90)
    await publish(kafka_bootstrap, worker, unique, "api", baseline=100, current=90)
    web = user.create(
        alert_body("web", [slack_channel(slack), {"type": "pagerduty", "integration_key": key}])
        | {"muted_until": hour_ahead}
    )
    api = user.create(
        alert_body("api", [slack_channel(quiet_slack), {"type": "pagerduty", "integration_key": quiet_key}])
        | {"muted_until": hour_ahead}
    )
    assert web["muted_until"] == hour_ahead
    rows = {row["id"]: row for row in user.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"]}
    assert rows[web["id"]]["muted_until"] == hour_ahead
    assert_matches_openapi(worker.url, "AlertList", {"alerts": list(rows.values())})

    [first] = await fired(kafka_bootstrap, worker, web["id"], 1)
    assert (first["schema"], first["state"], first["muted"]) == ("streamalert.alert-fired/v2", "firing", True)
    assert first["event_id"] == event_id(web["id"], 1, "firing")
    await eventually(
        lambda: sorted(d["outcome"] for d in deliveries(user, web["id"])) == ["muted", "muted"],
        what="muted records",
    )
    assert slack.received == [] and pagerduty(key) == []

    # The mute ends in 3 s (set with the CLI): the incident still fires, so it is sent once then.
    ends = format_timestamp(datetime.now(UTC) + timedelta(seconds=3))
    assert (
        cli(worker, user, "alerts", "mute", web["id"], "--until", ends).strip()
        == f"muted {web['id']} until {ends}"
    )
    await eventually(lambda: len(slack.valid) == 1 and len(pagerduty(key)) == 1, what="expiry notification")
    assert slack.received == slack.valid
    trigger = pagerduty(key)[0]
    assert trigger["event_action"] == "trigger"
    events = await fired(kafka_bootstrap, worker, web["id"], 2)
    assert [(e["state"], e["incident"], e["muted"]) for e in events] == [
        ("firing", 1, True),
        ("firing", 1, False),
    ]
    assert events[1]["event_id"] == expiry_event_id(web["id"], 1)
    listed = orjson.loads(cli(worker, user, "alerts", "list", "-o", "json"))
    assert {row["id"]: row["muted_until"] for row in listed}[web["id"]] is None  # the mute is over
    await asyncio.sleep(3)  # more evaluations: nothing more is sent
    assert len(slack.received) == 1 and len(pagerduty(key)) == 1

    # Muted again, both recover: the notified incident is closed at PagerDuty and in Slack; the
    # incident nobody was told of resolves silently.
    again = orjson.loads(cli(worker, user, "alerts", "mute", web["id"], "--for", "1h", "-o", "json"))
    remaining = parse_timestamp(again["muted_until"]) - datetime.now(UTC)
    assert timedelta(minutes=59) < remaining <= timedelta(hours=1)
    assert again["id"] == web["id"] and "integration_key" in again["channels"][1]
    assert key not in orjson.dumps(again).decode()  # masked, as the API shows it
    await publish(kafka_bootstrap, worker, unique, "web", baseline=0, current=10)
    await publish(kafka_bootstrap, worker, unique, "api", baseline=0, current=10)
    await eventually(lambda: len(slack.valid) == 2 and len(pagerduty(key)) == 2, what="resolve deliveries")
    resolve = pagerduty(key)[1]
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]
    events = await fired(kafka_bootstrap, worker, web["id"], 3)
    assert (events[2]["state"], events[2]["muted"]) == ("resolved", True)

    quiet = await fired(kafka_bootstrap, worker, api["id"], 2)
    assert [(e["state"], e["muted"]) for e in quiet] == [("firing", True), ("resolved", True)]
    await eventually(
        lambda: sorted(d["outcome"] for d in deliveries(user, api["id"])) == ["muted"] * 4,
        what="muted records of the silent incident",
    )
    assert quiet_slack.received == [] and pagerduty(quiet_key) == []
    history = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{api['id']}/history")[1]
    assert_matches_openapi(worker.url, "History", history)

    assert cli(worker, user, "alerts", "unmute", web["id"]).strip() == f"unmuted {web['id']}"
    assert user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{web['id']}")[1]["muted_until"] is None


def test_muted_until_through_the_api(worker: WorkerProcess, unique: str) -> None:
    user = owner(worker, unique)
    body = alert_body("web", [{"type": "in_app"}])
    status, refused = user.call("POST", "/v1/workspaces/{ws}/alerts", body | {"muted_until": "tomorrow"})
    assert status == 422 and [d["field"] for d in refused["error"]["details"]] == ["muted_until"]
    alert = user.create(body)
    path = f"/v1/workspaces/{{ws}}/alerts/{alert['id']}"
    status, past = user.call("PATCH", path, {"muted_until": "2020-01-01T00:00:00Z", "version": 1})
    assert (status, past["muted_until"], past["version"]) == (200, "2020-01-01T00:00:00.000Z", 2)
    rows = user.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"]
    assert [row["muted_until"] for row in rows] == [None]  # a time past is not muted
    status, _ = user.call("PATCH", path, {"muted_until": None, "version": 1})
    assert status == 409  # compare-and-set, as for every field
    refused_cli = CliRunner().invoke(
        main,
        ["alerts", "mute", "al-nope", "--for", "1h"],
        env={"STREAMALERT_API_URL": worker.url, "STREAMALERT_TOKEN": user.token},
    )
    assert refused_cli.exit_code == ExitCode.REFUSED, refused_cli.output  # no such alert
