"""Alerts as code against a real worker: `streamalert alerts export` and `apply`, and the key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result

from streamalert.cli import main
from streamalert.cli_format import ExitCode
from streamalert.evaluation.state import event_id
from tests.conftest import worker_env
from tests.integration.test_cli import token_for
from tests.integration.test_notifications import eventually
from tests.integration.vendors import Vendors
from tests.support import ApiUser, WorkerProcess, produce

PAGERDUTY_KEY = "R0ut1ngKeyS3cr3tAbCdEfGh12345678"


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    servers = Vendors()
    try:
        yield servers
    finally:
        servers.close()


def run(worker: WorkerProcess, token: str, *args: str, **environ: str) -> Result:
    env = {"STREAMALERT_API_URL": worker.url, "STREAMALERT_TOKEN": token, **environ}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def alert_file() -> str:
    return f"""\
alerts:
  - key: web-volume
    kind: source_volume
    source_id: web
    threshold_pct: 4
    channels:
      - type: slack
        channel: "#ops"
        webhook_url: "${{SLACK_URL}}"
  - key: api-volume
    kind: source_volume
    name: API volume
    source_id: api
    threshold_pct: 12.5
    enabled: false
    channels: [{{type: in_app}}]
  - key: warehouse-rate
    kind: destination_delivery_rate
    destination_id: warehouse
    threshold_pct: 99
    channels:
      - {{type: email, address: oncall@corp.local}}
      - type: pagerduty
        integration_key: {PAGERDUTY_KEY}
"""


def listed(api: ApiUser) -> list[dict[str, Any]]:
    status, body = api.call("GET", "/v1/workspaces/{ws}/alerts")
    assert status == 200
    return list(body["alerts"])


def full(api: ApiUser) -> dict[str, dict[str, Any]]:
    return {
        row["key"]: api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{row['id']}")[1] for row in listed(api)
    }


def test_apply_export_prune_and_dry_run(
    module_worker: WorkerProcess, vendors: Vendors, unique: str, tmp_path: Path
) -> None:
    slack = vendors.slack()
    slack_url = f"{slack.base_url}/services/T0/B0/s3cr3tPathWxyz"
    owner = token_for(module_worker, unique, "ada", "owner")
    api = ApiUser(module_worker.url, owner, unique)
    path = tmp_path / "alerts.yaml"
    path.write_text(alert_file())

    dry = run(module_worker, owner, "alerts", "apply", "-f", str(path), "--dry-run", SLACK_URL=slack_url)
    assert dry.exit_code == 0, dry.output
    assert [line.split()[:2] for line in dry.output.splitlines()[:3]] == [
        ["create", "web-volume"],
        ["create", "api-volume"],
        ["create", "warehouse-rate"],
    ]
    assert "dry run: nothing written" in dry.output
    assert listed(api) == []

    applied = run(module_worker, owner, "alerts", "apply", "-f", str(path), SLACK_URL=slack_url)
    assert applied.exit_code == 0, applied.output
    assert "[3/3] created warehouse-rate" in applied.output
    assert "s3cr3tPath" not in applied.output and PAGERDUTY_KEY not in applied.output
    stored = full(api)
    assert sorted(stored) == ["api-volume", "warehouse-rate", "web-volume"]
    assert (stored["api-volume"]["name"], stored["api-volume"]["enabled"]) == ("API volume", False)
    assert stored["web-volume"]["channels"][0]["webhook_url"] == f"{slack.base_url}/****Wxyz"
    # ${SLACK_URL} was expanded: a test send reaches the URL the variable held.
    tested = api.call("POST", f"/v1/workspaces/{{ws}}/alerts/{stored['web-volume']['id']}/test")[1]
    assert tested["results"][0]["outcome"] == "delivered", tested
    assert [r.path for r in slack.valid] == ["/services/T0/B0/s3cr3tPathWxyz"]

    again = run(module_worker, owner, "alerts", "apply", "-f", str(path), SLACK_URL=slack_url)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "nothing to change (0 to create, 0 to update, 3 unchanged)"
    assert full(api) == stored  # not even a version moved

    exported = run(module_worker, owner, "alerts", "export")
    assert exported.exit_code == 0, exported.output
    assert "s3cr3tPath" not in exported.output and PAGERDUTY_KEY not in exported.output
    document = yaml.safe_load(exported.output)
    assert [entry["key"] for entry in document["alerts"]] == ["api-volume", "warehouse-rate", "web-volume"]
    assert set(document["alerts"][2]) == {
        "key",
        "kind",
        "name",
        "threshold_pct",
        "source_id",
        "baseline",
        "enabled",
        "channels",
    }
    path.write_text(exported.output)
    assert run(module_worker, owner, "alerts", "apply", "-f", str(path)).output.startswith("unchanged")
    assert full(api) == stored

    # A masked secret keeps the stored one, through an edit of the same alert's channels.
    web = next(entry for entry in document["alerts"] if entry["key"] == "web-volume")
    web["threshold_pct"] = 6
    web["channels"].append({"type": "in_app"})
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    updated = run(module_worker, owner, "alerts", "apply", "-f", str(path))
    assert updated.exit_code == 0, updated.output
    assert "update     web-volume" in updated.output and "threshold_pct: 4 → 6; channels" in updated.output
    assert "unchanged  api-volume" in updated.output
    web_id = stored["web-volume"]["id"]
    assert api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{web_id}")[1]["version"] == 2
    tested = api.call("POST", f"/v1/workspaces/{{ws}}/alerts/{web_id}/test")[1]
    assert [r["outcome"] for r in tested["results"]] == ["delivered", "delivered"]
    assert [r.path for r in slack.valid][-1] == "/services/T0/B0/s3cr3tPathWxyz"

    # --prune deletes what the file no longer names; without it, nothing is deleted.
    document["alerts"] = [entry for entry in document["alerts"] if entry["key"] != "api-volume"]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    kept = run(module_worker, owner, "alerts", "apply", "-f", str(path))
    assert kept.output.splitlines()[-1] == "nothing to change (0 to create, 0 to update, 2 unchanged)"
    pruned_dry = run(module_worker, owner, "alerts", "apply", "-f", str(path), "--prune", "--dry-run")
    assert f"delete     api-volume ({stored['api-volume']['id']})" in pruned_dry.output
    assert len(listed(api)) == 3
    pruned = run(module_worker, owner, "alerts", "apply", "-f", str(path), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert sorted(row["key"] for row in listed(api)) == ["warehouse-rate", "web-volume"]


def test_an_invalid_alert_writes_nothing_and_is_named(
    module_worker: WorkerProcess, unique: str, tmp_path: Path
) -> None:
    token = token_for(module_worker, unique, "bob")
    api = ApiUser(module_worker.url, token, unique)
    path = tmp_path / "alerts.yaml"
    path.write_text(
        """\
alerts:
  - key: first
    kind: source_volume
    source_id: web
    threshold_pct: 4
    channels: [{type: in_app}]
  - key: second
    kind: source_volume
    source_id: api
    threshold_pct: 4
    channels:
      - type: email
        address: not-an-address
  - key: third
    kind: source_volume
    source_id: db
    threshold_pct: 4
    channels: [{type: in_app}]
"""
    )
    refused = run(module_worker, token, "alerts", "apply", "-f", str(path))
    assert refused.exit_code == ExitCode.USAGE, refused.output
    assert (
        f"{path}:13:18: alert 1 (second): channels.0.address: is not a valid email address" in refused.output
    )
    assert listed(api) == []

    path.write_text(path.read_text().replace("not-an-address", "${TEAM_ADDRESS}"))
    unset = run(module_worker, token, "alerts", "apply", "-f", str(path))
    assert unset.exit_code == ExitCode.USAGE
    assert (
        f"{path}:13:18: alerts.1.channels.0.address: environment variable TEAM_ADDRESS is not set"
        in unset.output
    )
    assert listed(api) == []
    applied = run(module_worker, token, "alerts", "apply", "-f", str(path), TEAM_ADDRESS="team@mail.internal")
    assert applied.exit_code == 0, applied.output
    assert len(listed(api)) == 3


def test_a_key_is_unique_in_the_workspace_across_workers(
    module_worker: WorkerProcess, kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    second = WorkerProcess(
        worker_env(kafka_bootstrap, module_worker.prefix, tmp_path),
        tmp_path / "second.log",
        module_worker.prefix,
    ).start()
    try:
        token = token_for(module_worker, unique, "cy")
        on_first, on_second = ApiUser(module_worker.url, token, unique), ApiUser(second.url, token, unique)
        body = {
            "kind": "source_volume",
            "source_id": "web",
            "threshold_pct": 4,
            "channels": [{"type": "in_app"}],
        }
        made = on_first.create(body | {"key": "web"})
        assert made["key"] == "web"
        status, refused = on_second.call("POST", "/v1/workspaces/{ws}/alerts", body | {"key": "web"})
        assert status == 409 and refused["error"]["details"] == [
            {"field": "key", "message": "is taken by another alert"}
        ]
        status, found = on_second.call("GET", "/v1/workspaces/{ws}/alerts?key=web")
        assert [row["id"] for row in found["alerts"]] == [made["id"]]
        status, patched = on_first.call(
            "PATCH", f"/v1/workspaces/{{ws}}/alerts/{made['id']}", {"key": "other"}
        )
        assert status == 422 and patched["error"]["details"][0]["field"] == "key"

        barrier = threading.Barrier(2)

        def create(api: ApiUser, key: str, threshold: int) -> int:
            barrier.wait()
            return api.call(
                "POST", "/v1/workspaces/{ws}/alerts", body | {"key": key, "threshold_pct": threshold}
            )[0]

        with ThreadPoolExecutor(2) as pool:
            for round_ in range(8):
                key = f"raced-{round_}"
                statuses = list(pool.map(create, [on_first, on_second], [key, key], [5, 6]))
                assert sorted(statuses) == [201, 409], (key, statuses)
                first_view = on_first.call("GET", f"/v1/workspaces/{{ws}}/alerts?key={key}")[1]["alerts"]
                second_view = on_second.call("GET", f"/v1/workspaces/{{ws}}/alerts?key={key}")[1]["alerts"]
                assert len(first_view) == 1 and first_view == second_view
                winner = 5 if statuses[0] == 201 else 6
                assert first_view[0]["threshold_pct"] == winner

        # Deleted, the key is free again.
        assert on_first.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{made['id']}")[0] == 204
        again = on_second.create(body | {"key": "web", "threshold_pct": 9})
        assert (again["id"], again["version"], again["threshold_pct"]) == (made["id"], 1, 9)
    finally:
        second.stop()


def test_a_member_cannot_prune_others_alerts(
    module_worker: WorkerProcess, unique: str, tmp_path: Path
) -> None:
    owner = token_for(module_worker, unique, "olga", "owner")
    member = token_for(module_worker, unique, "max")
    body = {"kind": "source_volume", "source_id": "web", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
    ApiUser(module_worker.url, owner, unique).create(body | {"key": "owners"})
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    refused = run(module_worker, member, "alerts", "apply", "-f", str(path), "--prune")
    assert refused.exit_code == ExitCode.USAGE
    assert "cannot delete owners: only its creator or a workspace owner can delete it" in refused.output
    assert [row["key"] for row in listed(ApiUser(module_worker.url, member, unique))] == ["owners"]
    assert (
        orjson.loads(run(module_worker, member, "alerts", "list", "-o", "json").output)[0]["key"] == "owners"
    )


def source_events(
    workspace: str, source: str, counts: dict[float, int]
) -> list[tuple[bytes | None, bytes | None]]:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return [
        (
            source.encode(),
            orjson.dumps(
                {
                    "type": "source_events",
                    "workspace_id": workspace,
                    "source_id": source,
                    "timestamp": (hour - timedelta(hours=hours, minutes=-30)).isoformat(),
                    "count": count,
                }
            ),
        )
        for hours, count in counts.items()
    ]


async def test_a_keyed_alert_created_again_starts_afresh(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    api = ApiUser(module_worker.url, token_for(module_worker, unique, "dee"), unique)
    # Baseline 24 h: 100 events; current 24 h: 40. -60 % breaks ±10 %.
    counts = {30.0: 40, 34.0: 60, 3.0: 15, 8.0: 25}
    await produce(
        kafka_bootstrap, f"{module_worker.prefix}.pipeline-events", source_events(unique, "web", counts)
    )
    body = {"key": "web", "kind": "source_volume", "source_id": "web", "threshold_pct": 10}
    body |= {"channels": [{"type": "in_app"}]}

    def history(alert_id: str) -> dict[str, Any]:
        return dict(api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}/history")[1])

    def delivered(alert_id: str) -> list[dict[str, Any]]:
        return [d for d in history(alert_id)["deliveries"] if d["outcome"] == "delivered"]

    first = api.create(body)
    await eventually(lambda: delivered(first["id"]), what="the first alert's firing delivered")
    assert api.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{first['id']}")[0] == 204

    again = api.create(body)
    assert again["id"] == first["id"]
    fresh = history(again["id"])
    assert (fresh["transitions"], fresh["deliveries"]) == ([], [])  # nothing of the deleted alert's
    # Still firing, the new alert notifies: a new incident, with an event id of its own.
    await eventually(lambda: delivered(again["id"]), what="the new alert's firing delivered")
    transitions = history(again["id"])["transitions"]
    assert [(t["status"], t["notification"], t["incident"]) for t in transitions] == [("firing", "firing", 2)]
    assert transitions[0]["event_id"] == event_id(again["id"], 2, "firing")
    notifications = api.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]
    assert sorted(n["event_id"] for n in notifications) == sorted(
        [event_id(first["id"], 1, "firing"), event_id(first["id"], 2, "firing")]
    )
