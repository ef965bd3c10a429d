"""PagerDuty Events API v2: trigger and resolve pair up, and every body fits PagerDuty's schema."""

from __future__ import annotations

import pytest

from streamalert.notify.base import SendResult
from streamalert.notify.pagerduty import PagerDutyIntegration, alert_dedup_key, pagerduty_event
from streamalert.records.alerts import PagerDutyChannel
from tests.notify.servers import (
    ALL_EVENTS,
    PagerDuty,
    Reply,
    change_event,
    pagerduty_server,
    pagerduty_validator,
    rate_event,
    routing_key,
)

__all__ = ["pagerduty_server"]

KEY = routing_key()


def integration(server: PagerDuty, **kwargs: object) -> PagerDutyIntegration:
    channel = PagerDutyChannel(type="pagerduty", integration_key=KEY)
    return PagerDutyIntegration(channel, base_url=server.base_url + "/", **kwargs)  # type: ignore[arg-type]


async def test_trigger_then_resolve_share_the_dedup_key(pagerduty_server: PagerDuty) -> None:
    pd = integration(pagerduty_server, public_url="https://alerts.example.com")
    assert await pd.send(change_event(incident=4)) == SendResult.success(202)
    assert await pd.send(change_event("resolved", incident=4)) == SendResult.success(202)
    trigger, resolve = (request.json() for request in pagerduty_server.valid)
    assert len(pagerduty_server.received) == 2
    assert [r.path for r in pagerduty_server.received] == ["/v2/enqueue", "/v2/enqueue"]
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "streamalert/alert-src-volume/4"
    assert trigger["routing_key"] == resolve["routing_key"] == KEY
    payload = trigger["payload"]
    assert (payload["source"], payload["severity"]) == ("streamalert", "error")
    assert payload["summary"].startswith(
        "[FIRING] Orders source volume: [Orders source volume] Source volume change for source src-orders: 80"
    )
    assert payload["timestamp"] == "2026-11-28T09:01:00.000Z"
    assert payload["custom_details"]["observed"] == {"current": 80, "baseline": 100, "change_pct": -20}
    assert payload["custom_details"]["threshold_pct"] == 4
    assert payload["custom_details"]["subject"] == {"source_id": "src-orders"}
    assert trigger["links"] == [
        {"href": "https://alerts.example.com/alerts/alert-src-volume", "text": "Alert in streamalert"}
    ]
    assert trigger["client_url"] == "https://alerts.example.com/alerts/alert-src-volume"
    assert resolve["payload"]["severity"] == "info"


@pytest.mark.parametrize("make", ALL_EVENTS)
@pytest.mark.parametrize("test", [False, True])
def test_every_body_validates_against_the_published_schema(make, test: bool) -> None:  # type: ignore[no-untyped-def]
    body = pagerduty_event(make(), KEY, dedup_key=alert_dedup_key(make()), test=test)
    errors = [error.message for error in pagerduty_validator().iter_errors(body)]
    assert errors == []


async def test_rate_details_and_a_long_summary(pagerduty_server: PagerDuty) -> None:
    assert (await integration(pagerduty_server).send(rate_event(summary="x" * 5000))).delivered
    body = pagerduty_server.valid[0].json()
    assert len(body["payload"]["summary"]) == 1024
    assert body["payload"]["custom_details"]["observed"] == {
        "delivered": 9850,
        "failed": 150,
        "success_rate_pct": 98.5,
    }
    assert body["payload"]["class"] == "destination_delivery_rate"
    assert body["payload"]["component"] == "source src-orders, destination dst-warehouse"


async def test_a_test_send_is_marked_and_keyed_apart(pagerduty_server: PagerDuty) -> None:
    pd = integration(pagerduty_server)
    assert (await pd.send(change_event(), test=True)).delivered
    body = pagerduty_server.valid[0].json()
    assert body["payload"]["summary"].startswith("[TEST] [FIRING]")
    assert body["payload"]["custom_details"]["test"] is True
    assert body["dedup_key"].startswith("streamalert-test/alert-src-volume/")


async def test_each_incident_has_its_own_key(pagerduty_server: PagerDuty) -> None:
    pd = integration(pagerduty_server)
    for event in (change_event(incident=1), change_event("resolved", incident=1), change_event(incident=2)):
        assert (await pd.send(event)).delivered
    keys = [request.json()["dedup_key"] for request in pagerduty_server.valid]
    assert keys == [
        "streamalert/alert-src-volume/1",
        "streamalert/alert-src-volume/1",
        "streamalert/alert-src-volume/2",
    ]


async def test_a_caller_supplied_dedup_key_is_used(pagerduty_server: PagerDuty) -> None:
    pd = integration(pagerduty_server, dedup_key=lambda event: f"{event.alert_id}#7")
    await pd.send(change_event())
    await pd.send(change_event("resolved"))
    assert [request.json()["dedup_key"] for request in pagerduty_server.valid] == ["alert-src-volume#7"] * 2


async def test_an_invalid_event_is_a_final_failure_without_the_key(pagerduty_server: PagerDuty) -> None:
    channel = PagerDutyChannel(type="pagerduty", integration_key=KEY)
    pd = PagerDutyIntegration(channel, base_url=pagerduty_server.base_url + "/wrong")
    result = await pd.send(change_event())
    assert (result.delivered, result.retryable, result.status_code) == (False, False, 400)
    assert result.error is not None and "invalid event" in result.error and KEY not in result.error


@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (403, False), (404, False)]
)
async def test_status_classification(pagerduty_server: PagerDuty, status: int, retryable: bool) -> None:
    pagerduty_server.script = [Reply(status, '{"status":"error"}')]
    result = await integration(pagerduty_server).send(change_event())
    assert (result.delivered, result.retryable, result.status_code) == (False, retryable, status)


@pytest.mark.parametrize(
    "change",
    [
        {"routing_key": "short"},
        {"event_action": "explode"},
        {"dedup_key": "k" * 256},
        {"payload": None},
        {"payload": {"summary": "s", "source": "streamalert", "severity": "fatal"}},
        {"payload": {"summary": "x" * 1025, "source": "streamalert", "severity": "error"}},
        {"payload": {"source": "streamalert", "severity": "error"}},
        {"event_action": "resolve", "dedup_key": None},
    ],
)
def test_the_contract_refuses_what_pagerduty_refuses(change: dict[str, object]) -> None:
    body = pagerduty_event(ALL_EVENTS[0](), KEY, dedup_key=alert_dedup_key(ALL_EVENTS[0]()))
    body |= change
    body = {key: value for key, value in body.items() if value is not None}
    assert list(pagerduty_validator().iter_errors(body))
