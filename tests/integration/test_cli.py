"""The operator commands of `streamalert` against a real worker: output formats and exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import orjson
from click.testing import CliRunner, Result

from streamalert.auth import Principal
from streamalert.cli import main
from streamalert.cli_format import ExitCode
from tests.support import ApiUser, WorkerProcess, free_port, issue_token


def token_for(worker: WorkerProcess, workspace: str, user_id: str, role: str = "member") -> str:
    """The one place these tests make a token (the token store may change; only this follows)."""
    principal = Principal(workspace_id=workspace, user_id=user_id, name=f"User {user_id}", role=role)  # type: ignore[arg-type]
    return issue_token(worker.env, principal)


def cli(worker: WorkerProcess, token: str, *args: str) -> Result:
    env = {"STREAMALERT_API_URL": worker.url, "STREAMALERT_TOKEN": token}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def cli_process(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it: its own process, its real exit status."""
    return subprocess.run(
        [sys.executable, "-m", "streamalert.cli", *args],
        env=os.environ | {"STREAMALERT_API_URL": url, "STREAMALERT_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_alert_commands_read_and_change_an_alert(module_worker: WorkerProcess, unique: str) -> None:
    owner = token_for(module_worker, unique, "ada", "owner")
    made = cli(
        module_worker,
        owner,
        "alerts",
        "create",
        "--kind",
        "source_volume",
        "--source-id",
        "web",
        "--threshold",
        "4",
        "--channel",
        "in_app",
        "--channel",
        "pagerduty:R0ut1ngKeyS3cr3tAbCdEfGh12345678",
    )
    assert made.exit_code == 0, made.output
    alert_id = orjson.loads(made.output)["id"]

    rows = orjson.loads(cli(module_worker, owner, "alerts", "list", "-o", "json").output)
    assert [(row["id"], row["state"], row["status"]) for row in rows] == [
        (alert_id, "insufficient_data", "enabled")
    ]
    header, line = cli(module_worker, owner, "alerts", "list").output.splitlines()
    assert line[header.index("STATE") :].split()[0] == "insufficient_data"

    shown = cli(module_worker, owner, "alerts", "get", alert_id)
    assert shown.exit_code == 0
    assert "THRESHOLD" in shown.output and "4%" in shown.output and "source_id=web" in shown.output
    assert "R0ut1ngKeyS3cr3t" not in shown.output  # masked as the API masks it
    api = ApiUser(module_worker.url, owner, unique)
    assert (
        orjson.loads(cli(module_worker, owner, "alerts", "get", alert_id, "-o", "json").output)
        == (api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")[1])
    )

    assert cli(module_worker, owner, "alerts", "disable", alert_id).output.strip() == f"disabled {alert_id}"
    assert api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")[1]["enabled"] is False
    assert "disabled" in cli(module_worker, owner, "alerts", "list").output
    assert cli(module_worker, owner, "alerts", "enable", alert_id).exit_code == 0
    assert api.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert_id}")[1]["enabled"] is True

    history = orjson.loads(cli(module_worker, owner, "alerts", "history", alert_id, "-o", "json").output)
    assert (history["alert_id"], history["status"], history["transitions"]) == (
        alert_id,
        "insufficient_data",
        [],
    )
    table = cli(module_worker, owner, "alerts", "history", alert_id).output
    assert "STATE       insufficient_data" in table and "STATUS CHANGES" in table and "DELIVERIES" in table


def test_alerts_test_and_notifications_list(module_worker: WorkerProcess, unique: str) -> None:
    token = token_for(module_worker, unique, "bob")
    api = ApiUser(module_worker.url, token, unique)
    # in_app is delivered; the worker's SMTP server (127.0.0.1:25) does not exist: that channel fails
    alert = api.create(
        {
            "kind": "source_volume",
            "source_id": "api",
            "threshold_pct": 10,
            "channels": [{"type": "in_app"}, {"type": "email", "address": "oncall@example.com"}],
        }
    )
    tested = cli_process(module_worker.url, token, "alerts", "test", alert["id"])
    assert tested.returncode == ExitCode.CHANNEL_FAILED, tested.stderr
    outcomes = {line.split()[0]: line.split()[2] for line in tested.stdout.splitlines()[1:]}
    assert outcomes == {"in_app": "delivered", "email": "failed"}
    assert "1 of 2 channels failed" in tested.stderr

    listed = cli(module_worker, token, "notifications", "list", "-o", "json")
    body = orjson.loads(listed.output)
    assert body["unread"] == 1
    assert [(n["alert_id"], n["test"], n["read"]) for n in body["notifications"]] == [
        (alert["id"], True, False)
    ]
    lines = cli(module_worker, token, "notifications", "list").output.splitlines()
    assert lines[0].split() == ["OCCURRED", "STATE", "ALERT", "UNREAD", "TITLE"]
    assert alert["id"] in lines[1] and "(test)" in lines[1] and lines[-1] == "1 unread"


def test_refusals_and_an_unreachable_api_have_their_exit_codes(
    module_worker: WorkerProcess, unique: str
) -> None:
    owner = token_for(module_worker, unique, "owner-1", "owner")
    member = token_for(module_worker, unique, "member-1")
    alert = ApiUser(module_worker.url, owner, unique).create(
        {"kind": "source_volume", "source_id": "web", "threshold_pct": 4, "channels": [{"type": "in_app"}]}
    )

    for missing_id in ("no-such-alert", "no such/alert"):  # the second is still one path segment
        missing = cli_process(module_worker.url, owner, "alerts", "get", missing_id)
        assert missing.returncode == ExitCode.REFUSED
        assert missing.stderr.strip() == "Error: error 404: alert not found"

    forbidden = cli_process(module_worker.url, member, "alerts", "delete", alert["id"])
    assert forbidden.returncode == ExitCode.REFUSED
    assert "403" in forbidden.stderr and "Traceback" not in forbidden.stderr

    unknown = cli_process(module_worker.url, "sat_0000_unknown", "alerts", "list")
    assert unknown.returncode == ExitCode.REFUSED and "401" in unknown.stderr

    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = cli_process(closed, owner, "notifications", "list")
    assert unreachable.returncode == ExitCode.UNREACHABLE
    assert unreachable.stderr.startswith(f"Error: cannot reach the API at {closed}: ")
    assert "Traceback" not in unreachable.stderr and owner not in unreachable.stderr


def test_tokens_list_as_json(module_worker: WorkerProcess, unique: str) -> None:
    token = token_for(module_worker, unique, "tess", "owner")
    listed = subprocess.run(
        [sys.executable, "-m", "streamalert.cli", "tokens", "list", "--workspace", unique, "-o", "json"],
        env=os.environ | module_worker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    rows = orjson.loads(listed.stdout)
    assert [(row["workspace_id"], row["user_id"], row["role"], row["expired"]) for row in rows] == [
        (unique, "tess", "owner", False)
    ]
    assert token.startswith(f"sat_{rows[0]['token_id']}_")
    assert "sha256" not in rows[0] and token not in listed.stdout


def test_alerts_create_takes_a_baseline(module_worker: WorkerProcess, unique: str) -> None:
    owner = token_for(module_worker, unique, "ada", "owner")
    args = ["alerts", "create", "--kind", "source_volume", "--source-id", "web", "--threshold", "20"]
    made = cli(module_worker, owner, *args, "--baseline", "same_day_last_week", "--channel", "in_app")
    assert made.exit_code == 0, made.output
    created = orjson.loads(made.output)
    assert created["baseline"] == "same_day_last_week"
    shown = cli(module_worker, owner, "alerts", "get", created["id"]).output
    assert re.search(r"BASELINE\s+same_day_last_week", shown), shown
    refused = cli(
        module_worker,
        owner,
        *["alerts", "create", "--kind", "mapping_delivery_rate", "--mapping-id", "m", "--threshold", "99"],
        *["--baseline", "same_day_last_week", "--channel", "in_app"],
    )
    assert refused.exit_code != 0 and "baseline" in refused.output
