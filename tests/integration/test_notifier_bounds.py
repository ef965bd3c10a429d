"""The notifier on a real worker and broker: sends in progress are bounded per channel type, a
hanging endpoint holds only its own slots, and a revoke lets a delivery in progress finish so
that the next owner does not send it again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_notifications import (
    alert_body,
    eventually,
    notifier_env,
    owner,
    publish,
    slack_channel,
)
from tests.integration.vendors import Vendors
from tests.notify.servers import HANG, HOLD, routing_key
from tests.support import WorkerProcess


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    servers = Vendors()
    yield servers
    servers.close()


async def test_sends_are_bounded_per_channel_type_and_other_types_go_on(
    kafka_bootstrap: str, vendors: Vendors, tmp_path: Path, unique: str
) -> None:
    env = notifier_env(kafka_bootstrap, unique, tmp_path, vendors) | {
        "STREAMALERT_NOTIFY_CHANNEL_CONCURRENCY": "2",
        "STREAMALERT_NOTIFY_CONCURRENCY": "3",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log", unique).start()
    try:
        user = owner(worker, unique)
        hanging = [vendors.slack() for _ in range(4)]
        for server in hanging:
            server.script = [HANG] * 5
        key = routing_key()
        for n, server in enumerate(hanging):
            await publish(kafka_bootstrap, worker, unique, f"hang{n}", baseline=100, current=50)
            user.create(alert_body(f"hang{n}", [slack_channel(server)]))
        await publish(kafka_bootstrap, worker, unique, "bell", baseline=100, current=50)
        user.create(alert_body("bell", [{"type": "in_app"}, {"type": "pagerduty", "integration_key": key}]))

        def hanging_requests() -> int:
            return sum(len(server.received) for server in hanging)

        def pagerduty_mine() -> list[Any]:
            return [r for r in vendors.pagerduty.valid if r.json()["routing_key"] == key]

        # Two slack sends hang (the per-type bound); in-app and PagerDuty are delivered meanwhile.
        await eventually(
            lambda: (
                hanging_requests() == 2
                and pagerduty_mine()
                and user.call("GET", "/v1/workspaces/{ws}/notifications")[1]["notifications"]
            ),
            timeout=30,
            what="two hanging slack sends and the other channels delivered",
        )
        await asyncio.sleep(3)  # well within the 10 s attempt timeout: nobody gets a third slot
        assert hanging_requests() == 2
        assert len(pagerduty_mine()) == 1
    finally:
        worker.stop()


def log_has(worker: WorkerProcess, text: str) -> bool:
    return text in worker.log_path.read_text(errors="replace")


async def test_a_revoke_lets_the_delivery_in_progress_finish_and_it_is_not_sent_again(
    kafka_bootstrap: str, vendors: Vendors, tmp_path: Path, unique: str
) -> None:
    first = WorkerProcess(
        notifier_env(kafka_bootstrap, unique, tmp_path / "a", vendors), tmp_path / "a.log", unique
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    second_env = notifier_env(kafka_bootstrap, unique, tmp_path / "b", vendors)
    second = WorkerProcess(second_env, tmp_path / "b.log", unique)
    first.start()
    try:
        slack = vendors.slack()
        slack.script = [HOLD]  # the first request is answered only when the test says so
        user = owner(first, unique)
        await publish(kafka_bootstrap, first, unique, "web", baseline=100, current=50)
        alert = user.create(alert_body("web", [slack_channel(slack)]))
        await eventually(lambda: slack.received, timeout=30, what="the delivery in progress")

        # A second worker joins: the first's partitions are revoked while the send is held.
        assert second.process is None
        starting = asyncio.get_running_loop().run_in_executor(None, second.start)
        await eventually(
            lambda: log_has(first, "revoke: waiting up to"), timeout=60, what="the revoke on the first worker"
        )
        vendors.loop.call_soon_threadsafe(slack.gate.set)  # the vendor answers now, during the revoke
        await starting

        def delivered() -> list[dict[str, Any]]:
            history = user.call("GET", f"/v1/workspaces/{{ws}}/alerts/{alert['id']}/history")[1]
            return [d for d in history["deliveries"] if d["outcome"] == "delivered"]

        await eventually(lambda: delivered(), timeout=30, what="the delivery recorded")
        await asyncio.sleep(4)  # the new owner has read alert-fired by now: nothing is sent again
        assert len(slack.received) == 1
        assert len(delivered()) == 1
        assert log_has(first, "revoke: 1 delivery task(s) finished, 0 cancelled")
    finally:
        second.stop()
        first.stop()
