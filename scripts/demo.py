"""`make demo`: the whole pipeline on the local broker, from metrics to delivered notifications.

Starts the broker (unless one runs), a notification sink and a worker; creates a workspace
token and one alert of each kind; backfills 15 days of metrics with anomalies; shows the
alerts firing and their notifications arriving. Source ios has quiet weekends and the last 24
hours are a Monday: its day-over-day alert fires (against Sunday), its week-over-week alert
(against last Monday) stays ok. Ctrl-C stops everything it started and deletes the demo's topics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient

from streamalert.auth import Principal, new_token, publish_token

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KAFKA = [sys.executable, str(REPO / "deploy" / "kafka-local" / "kafka_local.py")]
WORKSPACE = "demo"


def say(text: str) -> None:
    print(f"\033[1;32mdemo:\033[0m {text}", flush=True)


def port(preferred: int) -> int:
    """`preferred` if it is free, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def request(method: str, url: str, token: str, body: Any = None) -> Any:
    data = orjson.dumps(body) if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, method=method, headers=headers), timeout=30
        ) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"demo: {method} {url} answered {error.code}: {error.read().decode()}") from None
    return orjson.loads(raw) if raw else None


def answers_200(url: str) -> bool:
    with (
        contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
        urllib.request.urlopen(url, timeout=2) as answer,
    ):
        return bool(answer.status == 200)
    return False


def wait_ready(url: str, worker: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"demo: the worker exited; see {log}")
        # The API (/readyz) and the worker's partitions with their tables (/readyz/partitions).
        if all(answers_200(f"{url}{path}") for path in ("/readyz", "/readyz/partitions")):
            return
        time.sleep(0.3)
    raise SystemExit(f"demo: the worker was not ready within {timeout:.0f} s; see {log}")


def alerts(sink: str) -> list[dict[str, Any]]:
    def channels(name: str) -> list[dict[str, str]]:
        return [
            {"type": "in_app"},
            {"type": "email", "address": "oncall@example.com"},
            {
                "type": "slack",
                "webhook_url": f"{sink}/slack/services/T0DEMO/B0DEMO/{name}",
                "channel": "#data-alerts",
            },
            {"type": "slack_workflow", "webhook_url": f"{sink}/workflow/triggers/T0DEMO/{name}"},
            {"type": "pagerduty", "integration_key": secrets.token_hex(16)},
        ]

    bodies = [
        {"kind": "source_volume", "source_id": "web", "threshold_pct": 10, "name": "Web events volume"},
        {
            "kind": "destination_delivery_rate",
            "destination_id": "ads",
            "threshold_pct": 99,
            "name": "Ads delivery rate",
        },
        {
            "kind": "mapping_delivery_rate",
            "mapping_id": "m-orders-to-crm",
            "threshold_pct": 99,
            "name": "Orders to CRM",
        },
        {
            "kind": "activation_volume",
            "audience_id": "vip-customers",
            "destination_id": "ads",
            "threshold_pct": 10,
            "name": "VIP activation",
        },
        {
            "kind": "audience_size",
            "audience_id": "vip-customers",
            "threshold_pct": 5,
            "name": "VIP audience size",
        },
        # The pair on a source with weekly seasonality: Monday is +150 % against Sunday, 0 %
        # against the Monday before.
        {
            "kind": "source_volume",
            "source_id": "ios",
            "threshold_pct": 50,
            "name": "iOS events, day over day",
        },
        {
            "kind": "source_volume",
            "source_id": "ios",
            "threshold_pct": 50,
            "baseline": "same_day_last_week",
            "name": "iOS events, week over week",
        },
    ]
    return [body | {"channels": channels(body["kind"])} for body in bodies]


def expected_state(row: dict[str, Any], bodies: list[dict[str, Any]]) -> str:
    """Every demo alert fires but the week-over-week one, which stays ok."""
    weekly = {body["name"] for body in bodies if body.get("baseline") == "same_day_last_week"}
    return "ok" if row["name"] in weekly else "firing"


async def delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith((f"{prefix}.", f"{prefix}-"))]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--exit-when-firing", action="store_true", help="stop once every alert fired (for tests)"
    )
    options = parser.parse_args()

    run = f"demo{secrets.token_hex(3)}"
    folder = REPO / ".local" / "demo" / run
    folder.mkdir(parents=True)
    started_broker = subprocess.run([*KAFKA, "status"], capture_output=True).returncode != 0
    if started_broker:
        subprocess.run([*KAFKA, "start"], check=True)
    processes: list[subprocess.Popen[bytes]] = []

    def stop_everything() -> None:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(Exception):
            asyncio.run(delete_topics("127.0.0.1:9092", run))
        shutil.rmtree(folder, ignore_errors=True)
        if started_broker:
            subprocess.run([*KAFKA, "stop"], check=False)
        say("stopped everything the demo started")

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        web_port, http_port, smtp_port = port(6066), port(8025), port(2525)
        sink = f"http://127.0.0.1:{http_port}"
        env = os.environ | {
            "STREAMALERT_TOPIC_PREFIX": run,
            "STREAMALERT_APP_ID": run,
            "STREAMALERT_PARTITIONS": "4",
            "STREAMALERT_DATA_DIR": str(folder / "data"),
            "STREAMALERT_WEB_PORT": str(web_port),
            "STREAMALERT_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
            "STREAMALERT_EVALUATION_INTERVAL": "2",
            "STREAMALERT_WEBHOOK_ALLOW": "127.0.0.1",
            "STREAMALERT_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "STREAMALERT_PAGERDUTY_URL": sink,
            "STREAMALERT_EMAIL_FROM": "streamalert@example.com",
        }
        say(f"starting the notification sink (webhooks {sink}, SMTP 127.0.0.1:{smtp_port})")
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "streamalert"),
                    "sink",
                    "--http-port",
                    str(http_port),
                    "--smtp-port",
                    str(smtp_port),
                ],
                env=env,
            )
        )
        worker_log = folder / "worker.log"
        say(f"starting a worker on http://127.0.0.1:{web_port} (log: {worker_log.relative_to(REPO)})")
        with worker_log.open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [str(BIN / "streamalert"), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
        api = f"http://127.0.0.1:{web_port}"
        wait_ready(api, processes[-1], worker_log)

        principal = Principal(workspace_id=WORKSPACE, user_id="ada", name="Ada Lovelace", role="owner")
        token, stored = new_token(principal, datetime.now(UTC))
        asyncio.run(
            publish_token({"bootstrap_servers": "127.0.0.1:9092"}, f"{run}.tokens", stored, stored.token_id)
        )
        bodies = alerts(sink)
        for body in bodies:
            created = request("POST", f"{api}/v1/workspaces/{WORKSPACE}/alerts", token, body)
            say(f"created alert {created['id']}: {created['name']} ({created['kind']})")

        say(
            "publishing 15 days of metrics with anomalies on web, ads, m-orders-to-crm and vip-customers; "
            "ios is quiet at weekends and the last 24 hours are a Monday"
        )
        subprocess.run(
            [
                str(BIN / "streamalert"),
                "simulate",
                "--workspace",
                WORKSPACE,
                "--seed",
                "7",
                "--drop",
                "web=40",
                "--failures",
                "ads=3",
                "--failures",
                "m-orders-to-crm=5",
                "--drop",
                "vip-customers=30",
                "--audience-shift",
                "vip-customers=25",
                "--weekly",
                "monday",
                "--seasonal",
                "ios",
                "--slices",
                "1",
            ],
            env=env,
            check=True,
        )
        say("waiting for the alerts to fire (evaluation every 2 s) ...")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            table = request("GET", f"{api}/v1/workspaces/{WORKSPACE}/alerts", token)["alerts"]
            inbox = request("GET", f"{api}/v1/workspaces/{WORKSPACE}/notifications", token)
            firing = sum(expected_state(row, bodies) == "firing" for row in table)
            if (
                all(row["state"] == expected_state(row, bodies) for row in table)
                and inbox["unread"] >= firing
            ):
                break
            time.sleep(1)
        for row in table:
            say(f"  {row['state']:>17}  {row['name']} ({row['kind']}, threshold {row['threshold_pct']} %)")
        say(f"in-app notifications: {inbox['unread']} unread")
        say(
            "iOS: the same Monday against Sunday is +150 % (the day-over-day alert fires), against last "
            "Monday 0 % (the week-over-week alert stays ok)"
        )
        print(
            f"""
Open the web UI at {api}/ and sign in with this API token (Ada, owner of workspace '{WORKSPACE}'):
  {token}
Or look around from the shell:
  export STREAMALERT_TOKEN={token} STREAMALERT_API_URL={api} STREAMALERT_TOPIC_PREFIX={run}
  curl -s -H "Authorization: Bearer $STREAMALERT_TOKEN" {api}/v1/workspaces/{WORKSPACE}/alerts
  curl -s -H "Authorization: Bearer $STREAMALERT_TOKEN" {api}/v1/workspaces/{WORKSPACE}/notifications
  {BIN}/streamalert alerts list
  {BIN}/streamalert topics tail alert-fired --from-beginning
  curl -s {api}/metrics | grep ^streamalert_
Ctrl-C stops the demo.
""",
            flush=True,
        )
        if not all(row["state"] == expected_state(row, bodies) for row in table):
            raise SystemExit("demo: not every alert reached its expected state; see the worker log")
        if options.exit_when_firing:
            return
        processes[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_everything()


if __name__ == "__main__":
    main()
