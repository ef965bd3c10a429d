"""Shared pieces: Retry-After, HTTP classification, redaction, wording, the in-app stub, the factory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from streamalert.notify import integration_for, target_of
from streamalert.notify.base import (
    HttpReply,
    SendResult,
    classify_http,
    headline,
    parse_retry_after,
)
from streamalert.notify.email import EmailIntegration
from streamalert.notify.in_app import InAppIntegration
from streamalert.notify.pagerduty import PagerDutyIntegration
from streamalert.notify.slack import SlackIntegration
from streamalert.notify.slack_workflow import SlackWorkflowIntegration
from streamalert.records.alerts import (
    EmailChannel,
    InAppChannel,
    PagerDutyChannel,
    SlackChannel,
    SlackWorkflowChannel,
)
from streamalert.settings import Settings
from tests.notify.servers import change_event, rate_event

NOW = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Sat, 28 Nov 2026 09:00:30 GMT", 30.0),
        ("Sat, 28 Nov 2026 08:59:00 GMT", 0.0),
        ("Saturday, 28-Nov-26 09:01:00 GMT", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "delivered", "retryable"),
    [(202, True, False), (200, False, False), (204, False, False), (301, False, False), (400, False, False),
     (401, False, False), (404, False, False), (408, False, False), (429, False, True), (500, False, True),
     (502, False, True), (503, False, True), (504, False, True)],
)  # fmt: skip
def test_http_classification(status: int, delivered: bool, retryable: bool) -> None:
    result = classify_http(HttpReply(status, "body", None), expected=202, now=NOW, vendor="V", secrets=())
    assert (result.delivered, result.retryable) == (delivered, retryable)
    assert result.status_code == status


def test_a_429_carries_its_retry_after() -> None:
    result = classify_http(
        HttpReply(429, "slow down", "3"), expected=200, now=NOW, vendor="Slack", secrets=()
    )
    assert result == SendResult(False, True, 429, 3.0, "Slack answered HTTP 429: slow down")


def test_an_error_body_is_redacted_and_bounded() -> None:
    body = "bad key abcdef0123456789 " + "x" * 5000
    result = classify_http(
        HttpReply(400, body, None), expected=202, now=NOW, vendor="V", secrets=["abcdef0123456789"]
    )
    assert result.error is not None and "abcdef0123456789" not in result.error and len(result.error) < 300


def test_headline() -> None:
    assert headline(change_event()) == "[FIRING] Orders source volume"
    assert headline(rate_event("resolved"), test=True) == "[TEST] [RESOLVED] Warehouse delivery rate"


async def test_in_app_appends_to_the_workspace_list() -> None:
    appended: list[tuple[str, dict[str, Any]]] = []

    async def append(workspace_id: str, notification: dict[str, Any]) -> None:
        appended.append((workspace_id, notification))

    in_app = InAppIntegration(append)
    assert await in_app.send(change_event()) == SendResult.success()
    assert await in_app.send(change_event(), test=True) == SendResult.success()
    (ws, first), (_, second) = appended
    assert ws == "ws-1"
    assert first == {
        "id": change_event().event_id,
        "event_id": change_event().event_id,
        "alert_id": "alert-src-volume",
        "alert_name": "Orders source volume",
        "kind": "source_volume",
        "state": "firing",
        "title": "[FIRING] Orders source volume",
        "summary": change_event().summary,
        "occurred_at": "2026-11-28T09:01:00.000Z",
        "url": "http://127.0.0.1:6066/alerts/alert-src-volume",
        "test": False,
    }
    assert second["id"] == f"test.{change_event().event_id}" and second["test"] is True
    assert second["summary"].startswith("[TEST] ")


async def test_in_app_failure_is_retryable() -> None:
    async def broken(workspace_id: str, notification: dict[str, Any]) -> None:
        raise RuntimeError("table not ready")

    result = await InAppIntegration(broken).send(change_event())
    assert (result.delivered, result.retryable, result.error) == (
        False,
        True,
        "could not append to the in-app list: RuntimeError",
    )


async def _append(workspace_id: str, notification: dict[str, Any]) -> None:
    return None


@pytest.mark.parametrize(
    ("channel", "kind", "target"),
    [
        (SlackChannel(type="slack", webhook_url="https://hooks.slack.com/services/T/B/abcdefgh1234", channel="#a"),
         SlackIntegration, "#a via https://hooks.slack.com/****1234"),
        (SlackWorkflowChannel(type="slack_workflow", webhook_url="https://hooks.slack.com/triggers/T/1/abcdefgh9876"),
         SlackWorkflowIntegration, "https://hooks.slack.com/****9876"),
        (PagerDutyChannel(type="pagerduty", integration_key="a" * 28 + "wxyz"), PagerDutyIntegration, "routing key ****wxyz"),
        (EmailChannel(type="email", address="oncall@example.com"), EmailIntegration, "o****@example.com"),
        (InAppChannel(type="in_app"), InAppIntegration, "in-app"),
    ],
)  # fmt: skip
def test_integration_for_each_channel_type(channel: Any, kind: type, target: str) -> None:
    settings = Settings(smtp_url="smtps://u:p@mail.example.com", webhook_allow=["127.0.0.1"])
    assert isinstance(integration_for(channel, settings, append=_append), kind)
    assert target_of(channel).model_dump() == {"type": channel.type, "target": target}


def test_every_channel_says_which_baseline_was_compared() -> None:
    import orjson

    from streamalert.notify.base import facts
    from streamalert.notify.email import email_message
    from streamalert.notify.pagerduty import pagerduty_event
    from streamalert.notify.slack import slack_message
    from tests.notify.servers import change_event

    summary = (
        "Source volume change for source src-orders: 80 events in the last 24 h vs 100 the same day "
        "last week (\u221220.00 %), threshold ±4 %"
    )
    weekly = change_event(baseline="same_day_last_week", summary=summary)
    daily = change_event()
    assert ("Baseline (same day last week)", "100") in facts(weekly)
    assert ("Baseline (previous 24 h)", "100") in facts(daily)
    assert not any("same day last week" in label for label, _ in facts(daily))
    slack = orjson.dumps(slack_message(weekly)).decode()
    assert "Baseline (same day last week)" in slack and "the same day last week" in slack
    mail = email_message(weekly, sender="a@example.com", recipient="b@example.com")
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            assert "same day last week" in part.get_content()
    pagerduty = pagerduty_event(weekly, "k" * 32, dedup_key="d")
    assert pagerduty["payload"]["custom_details"]["baseline"] == "same_day_last_week"
    assert "the same day last week" in pagerduty["payload"]["summary"]
    assert (
        pagerduty_event(daily, "k" * 32, dedup_key="d")["payload"]["custom_details"]["baseline"]
        == "previous_day"
    )
