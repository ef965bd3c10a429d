"""The alerts API on real workers over the real config topic."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator

from streamalert.auth import Principal
from tests.conftest import worker_env
from tests.support import ApiUser, WorkerProcess, consume, end_offsets, http, issue_token

SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/SeCrEtPaTh9876wxyz"
WORKFLOW_URL = "https://hooks.slack.com/triggers/T0001/12345/WoRkFlOwSeCrEt4321"
PD_KEY = "R0ut1ngKeyS3cr3tAbCdEfGh12345678"
SECRETS = ["SeCrEtPaTh9876", "WoRkFlOwSeCrEt", "R0ut1ngKeyS3cr3t"]


def user(worker: WorkerProcess, workspace: str, user_id: str, role: str = "member") -> ApiUser:
    principal = Principal(workspace_id=workspace, user_id=user_id, name=f"User {user_id}", role=role)  # type: ignore[arg-type]
    return ApiUser(worker.url, issue_token(worker.env, principal), workspace)


def source_alert(source: str = "web", **change: object) -> dict[str, object]:
    return {
        "kind": "source_volume",
        "source_id": source,
        "threshold_pct": 4,
        "channels": [{"type": "in_app"}],
    } | change


def every_channel() -> list[dict[str, str]]:
    return [
        {"type": "email", "address": "oncall@example.com"},
        {"type": "slack", "webhook_url": SLACK_URL, "channel": "#alerts"},
        {"type": "slack_workflow", "webhook_url": WORKFLOW_URL},
        {"type": "pagerduty", "integration_key": PD_KEY},
        {"type": "in_app"},
    ]


def test_create_list_get_patch_disable_delete(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    created = alice.create(source_alert(threshold_pct=4.5))
    assert created["kind"] == "source_volume"
    assert created["name"] == "Source volume change"  # the kind's default name
    assert created["threshold_pct"] == 4.5
    assert created["created_by"] == {"user_id": "alice", "name": "User alice"}
    assert created["version"] == 1 and created["enabled"] is True
    alert_id = created["id"]

    status, table = alice.call("GET", "/v1/workspaces/{ws}/alerts")
    assert status == 200
    assert table["alerts"] == [
        {
            "id": alert_id,
            "name": "Source volume change",
            "key": None,
            "kind": "source_volume",
            "threshold_pct": 4.5,
            "source_id": "web",
            "destination_id": None,
            "mapping_id": None,
            "audience_id": None,
            "created_by": {"user_id": "alice", "name": "User alice"},
            "created_at": created["created_at"],
            "status": "enabled",
            "muted_until": None,
            "state": "insufficient_data",
            "channel_types": ["in_app"],
        }
    ]
    assert http("GET", f"{alice.base_url}/v1/workspaces/{unique}/alerts/{alert_id}", alice.token) == (
        200,
        created,
    )

    status, patched = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{alert_id}", {"threshold_pct": 7.25, "name": "Web traffic"}
    )
    assert status == 200, patched
    assert (patched["threshold_pct"], patched["name"], patched["version"]) == (7.25, "Web traffic", 2)
    assert patched["created_at"] == created["created_at"] and patched["updated_at"] >= created["updated_at"]

    status, disabled = alice.call("PATCH", f"/v1/workspaces/{{ws}}/alerts/{alert_id}", {"enabled": False})
    assert (status, disabled["enabled"], disabled["version"]) == (200, False, 3)
    assert alice.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"][0]["status"] == "disabled"

    assert alice.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{alert_id}") == (204, None)
    status, missing = alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")
    assert status == 404 and missing["error"]["code"] == "not_found"
    assert alice.call("GET", "/v1/workspaces/{ws}/alerts") == (200, {"alerts": []})


def test_every_kind_can_be_created_with_its_subjects(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    bodies = [
        source_alert(),
        {
            "kind": "destination_delivery_rate",
            "destination_id": "wh",
            "source_id": "web",
            "threshold_pct": 99,
        },
        {"kind": "mapping_delivery_rate", "mapping_id": "m1", "threshold_pct": 99.5},
        {"kind": "activation_volume", "audience_id": "vip", "destination_id": "ads", "threshold_pct": 10},
        {"kind": "audience_size", "audience_id": "vip", "threshold_pct": 0.5},
    ]
    for body in bodies:
        alice.create({"channels": [{"type": "in_app"}]} | body)
    rows = alice.call("GET", "/v1/workspaces/{ws}/alerts")[1]["alerts"]
    assert [row["kind"] for row in rows] == [body["kind"] for body in bodies]
    assert rows[1]["source_id"] == "web" and rows[1]["destination_id"] == "wh"
    assert rows[2]["threshold_pct"] == 99.5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_id": None}, "source_id"),
        ({"kind": "destination_delivery_rate", "source_id": None}, "destination_id"),
        ({"kind": "mapping_delivery_rate", "source_id": None}, "mapping_id"),
        ({"kind": "activation_volume", "source_id": None, "audience_id": "a"}, "destination_id"),
        ({"kind": "audience_size", "source_id": None}, "audience_id"),
        ({"threshold_pct": 0}, "threshold_pct"),
        ({"threshold_pct": -3}, "threshold_pct"),
        (
            {
                "kind": "destination_delivery_rate",
                "destination_id": "d",
                "source_id": None,
                "threshold_pct": 150,
            },
            "threshold_pct",
        ),
        ({"channels": [{"type": "email", "address": "not-an-address"}]}, "channels.0.address"),
        (
            {
                "channels": [
                    {"type": "slack", "channel": "#a", "webhook_url": SLACK_URL.replace("https", "http")}
                ]
            },
            "channels.0.webhook_url",
        ),
        (
            {
                "channels": [
                    {
                        "type": "slack",
                        "channel": "#a",
                        "webhook_url": "https://evil.example.com/services/SeCrEtPaTh9876",
                    }
                ]
            },
            "channels.0.webhook_url",
        ),
        (
            {"channels": [{"type": "slack_workflow", "webhook_url": "https://hooks.slack.com.evil.io/x"}]},
            "channels.0.webhook_url",
        ),
        ({"channels": [{"type": "pagerduty", "integration_key": PD_KEY[:31]}]}, "channels.0.integration_key"),
        ({"channels": []}, "channels"),
        ({"kind": "page_views"}, "kind"),
        ({"channels": [{"type": "carrier_pigeon"}]}, "channels.0.type"),
        ({"enabled": "yes please"}, "enabled"),
        ({"id": "chosen-by-client"}, "id"),
    ],
)
def test_invalid_fields_get_422_naming_the_field_and_write_nothing(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str, change: dict[str, object], field: str
) -> None:
    import asyncio

    alice = user(module_worker, unique, "alice")
    topic = f"{module_worker.prefix}.alert-configs"
    before = asyncio.run(end_offsets(kafka_bootstrap, topic))
    status, body = alice.call("POST", "/v1/workspaces/{ws}/alerts", source_alert() | change)
    assert status == 422, body
    assert body["error"]["code"] == "validation_error"
    assert field in [detail["field"] for detail in body["error"]["details"]]
    assert field.split(".")[-1] in body["error"]["message"] or field in body["error"]["message"]
    assert not any(secret in orjson.dumps(body).decode() for secret in SECRETS)
    assert asyncio.run(end_offsets(kafka_bootstrap, topic)) == before
    assert alice.call("GET", "/v1/workspaces/{ws}/alerts")[1] == {"alerts": []}


def test_bad_requests(module_worker: WorkerProcess, unique: str) -> None:
    alice = user(module_worker, unique, "alice")
    status, body = alice.call("POST", "/v1/workspaces/{ws}/alerts", raw=b"{nope")
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    status, body = alice.call("POST", "/v1/workspaces/{ws}/alerts", [1, 2])
    assert status == 422
    created = alice.create(source_alert())
    status, body = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"threshold_pct": None}
    )
    assert (status, body["error"]["details"][0]["field"]) == (422, "threshold_pct")
    status, body = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"kind": "mapping_delivery_rate"}
    )
    assert (status, body["error"]["details"][0]["field"]) == (422, "kind")
    status, body = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"source_id": "elsewhere"}
    )
    assert (status, body["error"]["details"][0]["field"]) == (422, "source_id")
    # Optimistic concurrency: an edit made on a stale version is refused.
    status, body = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"threshold_pct": 6, "version": 1}
    )
    assert (status, body["version"]) == (200, 2)
    status, body = alice.call(
        "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"threshold_pct": 7, "version": 1}
    )
    assert (status, body["error"]["code"]) == (409, "conflict")


def test_authentication_and_roles(module_worker: WorkerProcess, unique: str) -> None:
    owner = user(module_worker, unique, "olivia", role="owner")
    member = user(module_worker, unique, "mark")
    other = user(module_worker, unique, "nina")
    stranger = user(module_worker, f"{unique}-b", "sam", role="owner")

    owners_alert = owner.create(source_alert("a"))
    status, body = member.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{owners_alert['id']}")
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # Any member may edit.
    assert (
        member.call("PATCH", f"/v1/workspaces/{{ws}}/alerts/{owners_alert['id']}", {"enabled": False})[0]
        == 200
    )

    members_alert = member.create(source_alert("b"))
    assert other.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{members_alert['id']}")[0] == 403
    assert member.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{members_alert['id']}")[0] == 204
    third = other.create(source_alert("c"))
    assert owner.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{third['id']}")[0] == 204

    # Another workspace's token sees nothing of this one, not even that it exists.
    for method, path in [
        ("GET", "/alerts"),
        ("GET", f"/alerts/{owners_alert['id']}"),
        ("DELETE", f"/alerts/{owners_alert['id']}"),
    ]:
        status, body = http(method, f"{owner.base_url}/v1/workspaces/{unique}{path}", stranger.token)
        assert status == 404, (method, path, body)
    assert stranger.call("GET", f"/v1/workspaces/{{ws}}/alerts/{owners_alert['id']}")[0] == 404

    assert http("GET", f"{owner.base_url}/v1/workspaces/{unique}/alerts")[0] == 401
    status, body = http("GET", f"{owner.base_url}/v1/workspaces/{unique}/alerts", "sat_0000_wrong")
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    assert owner.call("GET", "/v1/me")[1] == {
        "workspace_id": unique,
        "user_id": "olivia",
        "name": "User olivia",
        "role": "owner",
    }


async def test_secrets_are_masked_everywhere_and_kept_when_echoed(
    module_worker: WorkerProcess, kafka_bootstrap: str, unique: str
) -> None:
    alice = user(module_worker, unique, "alice")
    created = alice.create(source_alert(channels=every_channel()))
    status, got = alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{created['id']}")
    assert status == 200
    slack = next(c for c in got["channels"] if c["type"] == "slack")
    assert slack["webhook_url"] == "https://hooks.slack.com/****wxyz"
    assert next(c for c in got["channels"] if c["type"] == "pagerduty")["integration_key"] == "****5678"
    assert next(c for c in got["channels"] if c["type"] == "email")["address"] == "oncall@example.com"

    # A client that sends the masked channels back keeps the stored secrets.
    status, patched = alice.call(
        "PATCH",
        f"/v1/workspaces/{{ws}}/alerts/{created['id']}",
        {"channels": got["channels"], "threshold_pct": 9},
    )
    assert status == 200, patched
    bodies = [created, got, patched, alice.call("GET", "/v1/workspaces/{ws}/alerts")[1]]
    status, invalid = alice.call(
        "POST",
        "/v1/workspaces/{ws}/alerts",
        source_alert(
            channels=[
                {"type": "slack", "channel": "#x", "webhook_url": "http://hooks.slack.com/SeCrEtPaTh9876"}
            ]
        ),
    )
    assert status == 422
    bodies.append(invalid)
    for body in bodies:
        text = orjson.dumps(body).decode()
        assert not any(secret in text for secret in SECRETS), text

    records = await consume(
        kafka_bootstrap,
        f"{module_worker.prefix}.alert-configs",
        lambda found: any(
            r.key == created["id"].encode() and b'"version":2' in (r.value or b"") for r in found
        ),
    )
    stored = orjson.loads(
        next(r.value for r in records if r.key == created["id"].encode() and b'"version":2' in r.value)
    )
    assert {c["type"]: c for c in stored["channels"]}["slack"]["webhook_url"] == SLACK_URL
    assert {c["type"]: c for c in stored["channels"]}["pagerduty"]["integration_key"] == PD_KEY
    assert stored["threshold_pct"] == 9

    log_text = module_worker.log_path.read_text()
    assert not any(secret in log_text for secret in SECRETS)


def test_openapi_document_describes_the_api(module_worker: WorkerProcess, unique: str) -> None:
    status, document = http("GET", f"{module_worker.url}/openapi.json")
    assert status == 200
    assert document["openapi"] == "3.1.0"
    assert {"get", "post"} <= set(document["paths"]["/v1/workspaces/{ws}/alerts"])
    assert {"get", "patch", "delete"} <= set(document["paths"]["/v1/workspaces/{ws}/alerts/{id}"])
    # A real response validates against the schema the document publishes for it.
    created = user(module_worker, unique, "alice").create(source_alert(channels=every_channel()))
    schema = {"$ref": "#/components/schemas/Alert", "components": document["components"]}
    Draft202012Validator(schema).validate(created)


def test_two_workers_read_each_others_writes_at_once(
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
        for i in range(5):
            created = on_first.create(source_alert(f"s{i}"))
            assert on_second.call("GET", f"/v1/workspaces/{{ws}}/alerts/{created['id']}") == (200, created)
            status, patched = on_second.call(
                "PATCH", f"/v1/workspaces/{{ws}}/alerts/{created['id']}", {"threshold_pct": 10 + i}
            )
            assert status == 200
            assert on_first.call("GET", f"/v1/workspaces/{{ws}}/alerts/{created['id']}") == (200, patched)
    finally:
        second.stop()


def test_a_worker_restarted_on_an_empty_data_dir_rebuilds_every_alert(
    kafka_bootstrap: str, tmp_path: Path, unique: str
) -> None:
    worker = WorkerProcess(
        worker_env(kafka_bootstrap, unique, tmp_path), tmp_path / "worker.log", unique
    ).start()
    try:
        alice = user(worker, unique, "alice")
        kept = alice.create(source_alert("a"))
        edited = alice.create(source_alert("b"))
        gone = alice.create(source_alert("c"))
        assert (
            alice.call("PATCH", f"/v1/workspaces/{{ws}}/alerts/{edited['id']}", {"threshold_pct": 12})[0]
            == 200
        )
        assert alice.call("DELETE", f"/v1/workspaces/{{ws}}/alerts/{gone['id']}")[0] == 204
        before = alice.call("GET", "/v1/workspaces/{ws}/alerts")[1]
        details_before = [
            alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{a['id']}")[1] for a in (kept, edited)
        ]
    finally:
        worker.stop()
    shutil.rmtree(tmp_path / "data")
    worker.start()
    try:
        assert alice.call("GET", "/v1/workspaces/{ws}/alerts")[1] == before
        details_after = [
            alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{a['id']}")[1] for a in (kept, edited)
        ]
        assert details_after == details_before
        assert [d["version"] for d in details_after] == [1, 2]
        assert alice.call("GET", f"/v1/workspaces/{{ws}}/alerts/{gone['id']}")[0] == 404
    finally:
        worker.stop()


async def test_cli_tokens_and_alerts(module_worker: WorkerProcess, kafka_bootstrap: str, unique: str) -> None:
    env = {**module_worker.env, "STREAMALERT_API_URL": module_worker.url}
    import os

    def cli(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"STREAMALERT_TOKEN": token} if token else {}
        return subprocess.run(
            [sys.executable, "-m", "streamalert.cli", *args],
            env=os.environ | env | extra,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = cli(
        "tokens",
        "create",
        "--workspace",
        unique,
        "--user-id",
        "cli-user",
        "--name",
        "Cli User",
        "--role",
        "owner",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("sat_")
    tokens_topic = f"{module_worker.prefix}.tokens"
    total = sum((await end_offsets(kafka_bootstrap, tokens_topic)).values())
    stored = await consume(kafka_bootstrap, tokens_topic, lambda found: len(found) >= total)
    assert stored and all(token.encode() not in record.value for record in stored if record.value)
    token_id = token.split("_")[1]
    listed_tokens = cli("tokens", "list", "--workspace", unique)
    assert listed_tokens.returncode == 0, listed_tokens.stderr
    assert token_id in listed_tokens.stdout and "cli-user" in listed_tokens.stdout
    assert token not in listed_tokens.stdout

    created = cli(
        "alerts",
        "create",
        "--kind",
        "destination_delivery_rate",
        "--destination-id",
        "wh",
        "--threshold",
        "99.5",
        "--channel",
        "in_app",
        "--channel",
        f"slack:#ops:{SLACK_URL}",
        token=token,
    )
    assert created.returncode == 0, created.stderr
    alert = orjson.loads(created.stdout)
    assert alert["threshold_pct"] == 99.5 and SLACK_URL not in created.stdout

    listed = cli("alerts", "list", token=token)
    assert listed.returncode == 0, listed.stderr
    assert alert["id"] in listed.stdout and "in_app,slack" in listed.stdout and "99.5 %" in listed.stdout

    bad = cli(
        "alerts", "create", "--kind", "source_volume", "--threshold", "4", "--channel", "in_app", token=token
    )
    assert bad.returncode != 0 and "source_id" in bad.stderr

    assert cli("alerts", "delete", alert["id"], token=token).returncode == 0
    assert alert["id"] not in cli("alerts", "list", token=token).stdout

    # A revoked token is refused at once.
    revoked = cli("tokens", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 10
    while http("GET", f"{module_worker.url}/v1/me", token)[0] != 401 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert http("GET", f"{module_worker.url}/v1/me", token)[0] == 401
    assert cli("tokens", "revoke", "nosuchid").returncode != 0
