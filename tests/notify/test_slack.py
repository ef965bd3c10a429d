"""Slack incoming webhook and workflow webhook: message content and Slack's answers."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from streamalert.notify.base import SendResult
from streamalert.notify.guard import WebhookGuard
from streamalert.notify.slack import SlackIntegration, mrkdwn, slack_message
from streamalert.notify.slack_workflow import VARIABLES, SlackWorkflowIntegration, workflow_variables
from streamalert.records.alerts import SlackChannel, SlackWorkflowChannel
from tests.notify.servers import (
    ALL_EVENTS,
    Reply,
    SlackWebhook,
    SlackWorkflowWebhook,
    change_event,
    rate_event,
    slack_block_problem,
    slack_server,
    webhook_path,
    workflow_server,
)

__all__ = ["slack_server", "workflow_server"]

GUARD = WebhookGuard(["127.0.0.1"])


def slack(server: SlackWebhook, **kwargs: str) -> SlackIntegration:
    channel = SlackChannel(type="slack", webhook_url=server.base_url + webhook_path(), channel="#alerts")
    return SlackIntegration(channel, guard=GUARD, **kwargs)  # type: ignore[arg-type]


def workflow(server: SlackWorkflowWebhook) -> SlackWorkflowIntegration:
    channel = SlackWorkflowChannel(type="slack_workflow", webhook_url=server.base_url + webhook_path())
    return SlackWorkflowIntegration(channel, guard=GUARD)


def field_texts(message: dict) -> list[str]:  # type: ignore[type-arg]
    (fields_block,) = [block for block in message["blocks"] if "fields" in block]
    return [item["text"] for item in fields_block["fields"]]


async def test_a_change_alert_message(slack_server: SlackWebhook) -> None:
    result = await slack(slack_server, public_url="https://alerts.example.com/").send(change_event())
    assert result == SendResult.success(200)
    (request,) = slack_server.valid
    assert request.headers["Content-Type"] == "application/json"
    message = request.json()
    assert set(message) == {"text", "blocks"}
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "section",
        "actions",
        "context",
    ]
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "[FIRING] Orders source volume",
        "emoji": False,
    }
    assert "80 events" in message["blocks"][1]["text"]["text"]
    fields = field_texts(message)
    assert fields[:5] == [
        "*Kind*\nSource volume change",
        "*Subject*\nsource src-orders",
        "*Current (24 h)*\n80",
        "*Baseline (previous 24 h)*\n100",
        "*Change*\n\u221220.00 %",
    ]
    assert "*Threshold*\nchange beyond ±4 %" in fields
    assert "*Window*\n2026-11-27 09:00 UTC to 2026-11-28 09:00 UTC" in fields
    button = message["blocks"][3]["elements"][0]
    assert button["url"] == "https://alerts.example.com/alerts/alert-src-volume"
    assert message["text"].startswith(
        "[FIRING] Orders source volume: [Orders source volume] Source volume change for source src-orders: 80"
    )
    assert "https://alerts.example.com/alerts/alert-src-volume" in message["text"]


async def test_a_resolved_rate_alert_message(slack_server: SlackWebhook) -> None:
    assert (await slack(slack_server).send(rate_event("resolved"))).delivered
    message = slack_server.valid[0].json()
    assert message["blocks"][0]["text"]["text"] == "[RESOLVED] Warehouse delivery rate"
    fields = field_texts(message)
    assert "*Success rate*\n99.90 %" in fields
    assert "*Delivered / failed*\n9,990 / 10" in fields
    assert "*Threshold*\nsuccess rate below 99 %" in fields
    assert "*Subject*\nsource src-orders, destination dst-warehouse" in fields
    assert message["blocks"][3]["elements"][0]["url"] == "http://127.0.0.1:6066/alerts/alert-dst-rate"


async def test_a_test_send_says_so(slack_server: SlackWebhook) -> None:
    assert (await slack(slack_server).send(change_event(), test=True)).delivered
    message = slack_server.valid[0].json()
    assert message["blocks"][0]["text"]["text"].startswith("[TEST] [FIRING]")
    assert message["text"].startswith("[TEST] ")
    assert "test notification" in message["blocks"][-1]["elements"][0]["text"]


def test_user_text_is_escaped_and_limits_hold() -> None:
    event = change_event(name="<!channel> & " + "N" * 190, summary="<https://evil|click> " + "s" * 50_000)
    message = slack_message(event)
    assert len(message["text"]) <= 40_000
    assert "<!channel>" not in message["text"] and "&lt;!channel&gt; &amp;" in message["text"]
    assert len(message["blocks"][0]["text"]["text"]) == 150
    assert message["blocks"][0]["text"]["text"].startswith("[FIRING] <!channel> & ")  # plain_text: no markup
    assert message["blocks"][1]["text"]["text"].startswith("&lt;https://evil|click&gt;")
    assert len(message["blocks"][1]["text"]["text"]) <= 3000
    for block in message["blocks"]:
        assert slack_block_problem(block) is None


def test_mrkdwn_never_cuts_an_entity() -> None:
    assert mrkdwn("a<b", 10) == "a&lt;b"
    assert mrkdwn("abcdefg<hij", 10) == "abcdefg…"
    assert mrkdwn("x" * 20, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, "invalid_payload"), (403, "invalid_token"), (404, "no_service"), (410, "channel_is_archived")],
)
async def test_slack_errors_fail_at_once_with_their_body(
    slack_server: SlackWebhook, status: int, body: str
) -> None:
    slack_server.script = [Reply(status, body)]
    result = await slack(slack_server).send(change_event())
    assert not result.delivered and not result.retryable
    assert result.status_code == status
    assert result.error == f"Slack answered HTTP {status}: {body}"


async def test_a_200_that_is_not_ok_is_a_failure(slack_server: SlackWebhook) -> None:
    slack_server.script = [Reply(200, "invalid_blocks")]
    result = await slack(slack_server).send(change_event())
    assert (result.delivered, result.retryable, result.error) == (
        False,
        False,
        "Slack answered HTTP 200: invalid_blocks",
    )


async def test_a_redirect_is_not_followed(slack_server: SlackWebhook) -> None:
    slack_server.script = [Reply(302, "", {"Location": "http://10.0.0.1/"})]
    result = await slack(slack_server).send(change_event())
    assert (result.delivered, result.retryable, result.status_code) == (False, False, 302)
    assert len(slack_server.received) == 1


# --- workflow --------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ALL_EVENTS)
@pytest.mark.parametrize("test", [False, True])
def test_workflow_variables_are_all_present_and_all_strings(make, test: bool) -> None:  # type: ignore[no-untyped-def]
    variables = workflow_variables(make(), test=test)
    assert list(variables) == list(VARIABLES)
    assert all(isinstance(value, str) for value in variables.values())
    assert variables["is_test"] == ("true" if test else "false")


def test_workflow_variables_of_a_change_and_a_rate_alert() -> None:
    change = workflow_variables(change_event())
    assert {k: change[k] for k in ("current", "baseline", "change_pct", "delivered", "success_rate_pct")} == {
        "current": "80",
        "baseline": "100",
        "change_pct": "\u221220.00",
        "delivered": "",
        "success_rate_pct": "",
    }
    assert change["state"] == "firing" and change["alert_kind"] == "source_volume"
    assert change["window_start"] == "2026-11-27T09:00:00.000Z"
    assert change["window_end"] == "2026-11-28T09:00:00.000Z"
    assert change["alert_url"] == "http://127.0.0.1:6066/alerts/alert-src-volume"
    assert change["destination_id"] == ""
    rate = workflow_variables(rate_event(threshold_pct=Decimal("99.50")))
    assert (rate["success_rate_pct"], rate["delivered"], rate["failed"], rate["current"]) == (
        "98.50",
        "9,850",
        "150",
        "",
    )
    assert rate["threshold_pct"] == "99.5"
    assert rate["subject"] == "source src-orders, destination dst-warehouse"
    test = workflow_variables(rate_event(), test=True)
    assert test["summary"].startswith("[TEST] ") and test["title"].startswith("[TEST] [FIRING]")


async def test_workflow_posts_the_flat_object(workflow_server: SlackWorkflowWebhook) -> None:
    result = await workflow(workflow_server).send(rate_event("resolved"), test=True)
    assert result == SendResult.success(200)
    (request,) = workflow_server.valid
    assert request.json() == workflow_variables(rate_event("resolved"), test=True)


async def test_workflow_server_rejects_nested_values_like_slack(
    workflow_server: SlackWorkflowWebhook,
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.post(workflow_server.base_url + "/x", json={"a": {"b": "c"}, "n": 1})
        assert response.status == 400
    assert workflow_server.received[0].problem == "variable a is not a string"


def test_the_summary_and_the_fields_of_one_message_agree() -> None:
    """One format for numbers: what the fields show is what the summary says (a true minus, two decimals)."""
    for event, shown in ((change_event(), "\u221220.00 %"), (rate_event(), "98.50 %")):
        message = slack_message(event)
        assert shown in message["blocks"][1]["text"]["text"]
        assert any(shown in text for text in field_texts(message))
