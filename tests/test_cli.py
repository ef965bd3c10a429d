"""The `streamalert` command, its pure part: parsing, formatting, masking and settings errors.

Commands run in-process with click's CliRunner; nothing here needs a broker or a worker (the
API and broker "unreachable" cases use a closed local port).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result
from pydantic import SecretStr

from streamalert.cli import main
from streamalert.cli_format import (
    ExitCode,
    alert_table,
    effective_settings,
    history_view,
    mask_url,
    parse_channel,
    setting_text,
    table,
)
from streamalert.settings import Settings, get_settings
from tests.support import free_port


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the defaults; the cached settings never leak between tests."""
    for name in list(__import__("os").environ):
        if name.startswith("STREAMALERT_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["config"], {"STREAMALERT_PARTITIONS": "abc"}, ["STREAMALERT_PARTITIONS"]),
        (["topics", "list"], {"STREAMALERT_WEB_PORT": "0"}, ["STREAMALERT_WEB_PORT"]),
        # the default API URL needs the settings: the error comes before any request
        (["alerts", "list", "--token", "t"], {"STREAMALERT_WEB_PORT": "http"}, ["STREAMALERT_WEB_PORT"]),
        (
            ["config"],
            {"STREAMALERT_LOG_LEVEL": "loud", "STREAMALERT_SESSION_TIMEOUT": "1"},
            ["STREAMALERT_LOG_LEVEL", "STREAMALERT_SESSION_TIMEOUT"],
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    args: list[str], env: dict[str, str], names: list[str]
) -> None:
    result = run(*args, env=env)
    assert result.exit_code == ExitCode.USAGE
    line = one_line_error(result)
    for name in names:
        assert name in line
    for value in env.values():
        assert f"'{value}'" not in line  # the value may be a secret: never echoed


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["alerts", "create", "--token", "t", "--channel", '{"type": "email",'], "--channel"),
        (["alerts", "create", "--token", "t", "--channel", "{}", "--channel", "{[1]}"], "--channel"),
        (["alerts", "create", "--token", "t", "--channel", "carrier-pigeon:x"], "--channel"),
        (["alerts", "list", "--token", "t", "--url", "127.0.0.1:6066"], "--url"),
        (["alerts", "list", "-o", "yaml", "--token", "t"], "--output"),
        (["alerts", "mute", "al-1", "--token", "t", "--for", "2x"], "--for"),
        (["alerts", "mute", "al-1", "--token", "t", "--for", "0h"], "--for"),
        (["alerts", "mute", "al-1", "--token", "t", "--until", "2026-11-28T14:00:00"], "--until"),
        (["alerts", "mute", "al-1", "--token", "t", "--until", "tomorrow"], "--until"),
        (["alerts", "mute", "al-1", "--token", "t"], "--for or --until"),
        (
            ["alerts", "mute", "al-1", "--token", "t", "--for", "2h", "--until", "2026-11-28T14:00:00Z"],
            "--for or --until",
        ),
    ],
)
def test_bad_arguments_name_the_argument(args: list[str], hint: str) -> None:
    result = run(*args)
    assert result.exit_code == ExitCode.USAGE
    assert hint in one_line_error(result)


def test_a_file_that_is_not_a_json_object_names_file(tmp_path: Path) -> None:
    for content in (b"{not json", b"[1, 2]"):
        body = tmp_path / "body.json"
        body.write_bytes(content)
        result = run("alerts", "create", "--token", "t", "--file", str(body))
        assert result.exit_code == ExitCode.USAGE
        assert "--file" in one_line_error(result)


def test_no_token_is_a_usage_error() -> None:
    result = run("alerts", "get", "some-alert")
    assert result.exit_code == ExitCode.USAGE
    assert "STREAMALERT_TOKEN" in one_line_error(result)


@pytest.mark.parametrize(
    "args",
    [
        ["alerts", "list"],
        ["alerts", "get", "a1"],
        ["alerts", "history", "a1"],
        ["alerts", "enable", "a1"],
        ["alerts", "disable", "a1"],
        ["alerts", "test", "a1"],
        ["alerts", "delete", "a1"],
        ["alerts", "export"],
        ["notifications", "list"],
    ],
)
def test_an_unreachable_api_names_its_url(args: list[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run(*args, "--url", url, "--token", "sat_secret_token_value")
    assert result.exit_code == ExitCode.UNREACHABLE
    line = one_line_error(result)
    assert url in line and "sat_secret_token_value" not in result.output


VALID_FILE = "alerts:\n  - {key: a, kind: source_volume, source_id: web, threshold_pct: 4, channels: [{type: in_app}]}\n"


def test_apply_checks_the_file_before_it_reaches_the_api(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a problem is found first
    path = tmp_path / "alerts.yaml"
    path.write_text(VALID_FILE + "  - {key: b, kind: source_volume, threshold_pct: 4, channels: []}\n")
    result = run("alerts", "apply", "-f", str(path), "--url", url, "--token", "sat_x")
    assert result.exit_code == ExitCode.USAGE
    assert result.output.splitlines() == [
        f"{path}:3:63: alert 1 (b): channels: List should have at least 1 item after validation, not 0",
        f"Error: {path}: 1 problem; nothing written",
    ]
    path.write_text(VALID_FILE)
    unreachable = run("alerts", "apply", "-f", str(path), "--url", url, "--token", "sat_x")
    assert unreachable.exit_code == ExitCode.UNREACHABLE and url in one_line_error(unreachable)


def test_an_unreachable_broker_names_its_address() -> None:
    address = f"127.0.0.1:{free_port()}"
    result = run("topics", "create", env={"STREAMALERT_BROKER": f"kafka://{address}"})
    assert result.exit_code == ExitCode.ERROR
    line = one_line_error(result)
    assert address in line and "STREAMALERT_BROKER" in line


def test_exit_codes_are_distinct() -> None:
    codes = [ExitCode.UNREACHABLE, ExitCode.REFUSED, ExitCode.CHANNEL_FAILED, ExitCode.USAGE, ExitCode.ERROR]
    assert len(set(codes)) == len(codes) and ExitCode.OK not in codes


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://bob:hunter2@mail.example.com:587", "smtp://bob:****@mail.example.com:587"),
        ("smtps://apikey:SG.abc@smtp.sendgrid.net:465", "smtps://apikey:****@smtp.sendgrid.net:465"),
        ("https://tok3n@hooks.example.com/x", "https://****@hooks.example.com/x"),
        ("smtp://127.0.0.1:25", "smtp://127.0.0.1:25"),
        ("kafka://127.0.0.1:9092", "kafka://127.0.0.1:9092"),
        ("streamalert@localhost", "streamalert@localhost"),  # an address, not a URL
    ],
)
def test_credentials_in_urls_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("sasl_password", "hunter2", "****"),
        ("client_secret", "s3", "****"),
        ("ssl_keyfile", "/etc/tls/key.pem", "****"),
        ("api_token", "", ""),  # unset stays visibly unset
        ("anything", SecretStr("hidden"), "****"),
        ("smtp_url", "smtp://u:p@h:25", "smtp://u:****@h:25"),
        ("broker", "kafka://a:1,kafka://u:p@b:2", "kafka://a:1,kafka://u:****@b:2"),
        ("webhook_allow", ["127.0.0.1", "10.0.0.0/8"], "127.0.0.1,10.0.0.0/8"),
        ("data_dir", Path("/var/lib/streamalert"), "/var/lib/streamalert"),
        ("partitions", 8, "8"),
        ("flag", True, "true"),
    ],
)
def test_setting_text(name: str, value: object, shown: str) -> None:
    assert setting_text(name, value) == shown


def test_effective_settings_say_where_each_value_came_from() -> None:
    environ = {"streamalert_partitions": "3", "STREAMALERT_SMTP_URL": "smtp://u:pw@h:25", "HOME": "/root"}
    dotenv = {"STREAMALERT_LOG_LEVEL": "debug", "STREAMALERT_PARTITIONS": "5", "STREAMALERT_APP_ID": None}
    settings = Settings(partitions=3, smtp_url="smtp://u:pw@h:25", log_level="debug")
    rows = {row.variable: row for row in effective_settings(settings, environ, dotenv)}
    assert set(rows) == {f"STREAMALERT_{name.upper()}" for name in Settings.model_fields}
    assert (rows["STREAMALERT_PARTITIONS"].value, rows["STREAMALERT_PARTITIONS"].source) == (
        "3",
        "environment",
    )
    assert (rows["STREAMALERT_LOG_LEVEL"].value, rows["STREAMALERT_LOG_LEVEL"].source) == ("debug", ".env")
    assert rows["STREAMALERT_APP_ID"].source == "default"
    assert rows["STREAMALERT_SMTP_URL"].value == "smtp://u:****@h:25"


def test_config_command_masks_secrets_in_both_formats() -> None:
    env = {"STREAMALERT_SMTP_URL": "smtp://ops:correct-horse@mail:25", "STREAMALERT_PARTITIONS": "4"}
    shown = run("config", env=env)
    assert shown.exit_code == 0
    assert "correct-horse" not in shown.output
    partitions = next(
        line for line in shown.output.splitlines() if line.startswith("STREAMALERT_PARTITIONS ")
    )
    assert partitions.split() == ["STREAMALERT_PARTITIONS", "4", "environment"]
    as_json = run("config", "-o", "json", env=env)
    rows = {row["variable"]: row for row in orjson.loads(as_json.output)}
    assert rows["STREAMALERT_SMTP_URL"] == {
        "variable": "STREAMALERT_SMTP_URL",
        "value": "smtp://ops:****@mail:25",
        "source": "environment",
    }
    assert rows["STREAMALERT_WEB_PORT"]["source"] == "default"


def test_topics_list_as_json() -> None:
    result = run("topics", "list", "--output", "json", env={"STREAMALERT_TOPIC_PREFIX": "acme"})
    topics = orjson.loads(result.output)
    assert topics and all(topic["name"].startswith("acme.") for topic in topics)
    assert {"name", "key", "description"} == set(topics[0])


ROW = {
    "id": "a1",
    "name": "Web volume",
    "kind": "source_volume",
    "threshold_pct": 4,
    "source_id": "web",
    "destination_id": None,
    "created_by": {"user_id": "ada", "name": "Ada"},
    "created_at": "2026-11-28T09:00:00Z",
    "status": "enabled",
    "state": "firing",
    "channel_types": ["email", "in_app"],
}


def test_alert_table_has_a_state_column() -> None:
    header, line = alert_table([ROW]).splitlines()
    columns = header.split("  ")
    assert "STATE" in [column.strip() for column in columns]
    start = header.index("STATE")
    assert line[start:].split()[0] == "firing"
    assert alert_table([]).splitlines()[-1] == "(no alerts)"


def test_table_aligns_columns() -> None:
    assert table(["A", "LONGER"], [["xyz", 1], ["", 22]]) == "A    LONGER\nxyz  1\n     22"
    assert table(["A"], [], empty="(none)") == "A\n(none)"


@pytest.mark.parametrize(
    ("spec", "channel"),
    [
        ("in_app", {"type": "in_app"}),
        ("email:oncall@example.com", {"type": "email", "address": "oncall@example.com"}),
        ("pagerduty:abc", {"type": "pagerduty", "integration_key": "abc"}),
        ('{"type": "in_app"}', {"type": "in_app"}),
    ],
)
def test_parse_channel(spec: str, channel: dict[str, str]) -> None:
    assert parse_channel(spec) == channel


def test_config_masks_the_sasl_password() -> None:
    env = {
        "STREAMALERT_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "STREAMALERT_SASL_USERNAME": "svc-streamalert",
        "STREAMALERT_SASL_PASSWORD": "pa55-w0rd-xyz",
    }
    result = run("config", "-o", "json", env=env)
    assert result.exit_code == 0, result.output
    rows = {row["variable"]: row for row in orjson.loads(result.output)}
    assert rows["STREAMALERT_SASL_PASSWORD"] == {
        "variable": "STREAMALERT_SASL_PASSWORD",
        "value": "****",
        "source": "environment",
    }
    assert rows["STREAMALERT_SASL_USERNAME"]["value"] == "svc-streamalert"
    assert "pa55-w0rd-xyz" not in result.output


class FakeApi(BaseHTTPRequestHandler):
    """A local HTTP server that is not a healthy streamalert API: a 500, or an HTML page."""

    def do_GET(self) -> None:
        if self.server.server_port == FakeApi.html_port:  # type: ignore[attr-defined]
            body, kind, status = b"<html>hello</html>", "text/html", 200
        else:
            body, kind, status = (
                b'{"error": {"code": "internal", "message": "boom"}}',
                "application/json",
                500,
            )
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass

    html_port = 0


@pytest.fixture
def fake_api() -> Iterator[tuple[str, str]]:
    failing, html = (
        ThreadingHTTPServer(("127.0.0.1", 0), FakeApi),
        ThreadingHTTPServer(("127.0.0.1", 0), FakeApi),
    )
    FakeApi.html_port = html.server_port
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in (failing, html)]
    for thread in threads:
        thread.start()
    yield f"http://127.0.0.1:{failing.server_port}", f"http://127.0.0.1:{html.server_port}"
    for server in (failing, html):
        server.shutdown()
        server.server_close()


def test_a_server_error_and_a_server_that_is_not_the_api(fake_api: tuple[str, str]) -> None:
    failing, html = fake_api
    broken = run("alerts", "list", "--url", failing, "--token", "t")
    assert broken.exit_code == ExitCode.ERROR
    assert one_line_error(broken) == "Error: error 500: boom"
    other = run("alerts", "list", "--url", html, "--token", "t")
    assert other.exit_code == ExitCode.UNREACHABLE
    assert "is this a streamalert API?" in one_line_error(other)


def test_history_view_shows_state_changes_and_deliveries() -> None:
    history = {
        "alert_id": "a1",
        "status": "firing",
        "incident": 2,
        "open": True,
        "status_since": "2026-11-28T09:00:00Z",
        "evaluated_at": "2026-11-28T09:05:00Z",
        "observed": {"change_pct": -12.5},
        "transitions": [
            {
                "at": "2026-11-28T09:00:00Z",
                "status": "firing",
                "previous": "ok",
                "notification": "firing",
                "incident": 2,
            },
            {
                "at": "2026-11-28T08:00:00Z",
                "status": "ok",
                "previous": None,
                "notification": None,
                "incident": 1,
            },
        ],
        "deliveries": [
            {
                "at": "2026-11-28T09:00:01Z",
                "channel": {"type": "slack", "target": "#ops"},
                "attempt": 1,
                "outcome": "failed",
                "error": "HTTP 404",
            }
        ],
    }
    lines = history_view(history).splitlines()
    assert lines[:4] == [
        "STATE       firing since 2026-11-28T09:00:00Z",
        "INCIDENT    2 (open)",
        "EVALUATED   2026-11-28T09:05:00Z",
        'OBSERVED    {"change_pct":-12.5}',
    ]
    changes = lines[lines.index("STATUS CHANGES") + 2].split()
    assert changes == ["2026-11-28T09:00:00Z", "firing", "ok", "firing", "2"]
    assert lines[lines.index("STATUS CHANGES") + 3].split() == ["2026-11-28T08:00:00Z", "ok", "-", "-", "1"]
    assert lines[-1].split() == ["2026-11-28T09:00:01Z", "slack", "#ops", "1", "failed", "HTTP", "404"]


def test_alert_table_shows_a_mute_in_force() -> None:
    header, muted, plain = alert_table(
        [ROW | {"muted_until": "2026-11-28T14:00:00.000Z"}, ROW | {"muted_until": None}]
    ).splitlines()
    start = header.index("MUTED UNTIL")
    assert muted[start:].startswith("2026-11-28 14:00Z")
    assert plain[start:].split()[0] == "-"
