"""Slack incoming webhook: a Block Kit message posted as `{"text", "blocks"}`.

Slack answers 200 with the body `ok`; its errors are short bodies such as `invalid_payload`
(400), `invalid_token` (403), `no_service` (404) or `channel_is_archived` (410). Those fail at
once and are reported with the body, which holds no secret; 429 and 5xx are retried.
The message respects Slack's limits: text ≤ 40,000 characters, header ≤ 150, a section's text
≤ 3,000 and each of its (at most 10) fields ≤ 2,000.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    TEST_MARK,
    HttpReply,
    SendResult,
    alert_url,
    classify_http,
    facts,
    headline,
)
from streamalert.notify.webhook import WebhookIntegration
from streamalert.records.alerts import SLACK_HOSTS, SlackChannel
from streamalert.records.outputs import AlertFired
from streamalert.text import clip, error_detail

MAX_TEXT = 40_000
MAX_HEADER = 150
MAX_SECTION_TEXT = 3_000
MAX_FIELD = 2_000
MAX_FIELDS = 10

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def mrkdwn(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn (no accidental links or @channel) and clipped to `limit`."""
    escaped = "".join(_ESCAPES.get(char, char) for char in text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # never leave half an entity
    return cut + "…"


def slack_message(
    event: AlertFired, *, test: bool = False, public_url: str = DEFAULT_PUBLIC_URL
) -> dict[str, Any]:
    """The webhook body for `event`."""
    title = headline(event, test=test)
    link = alert_url(public_url, event.alert_id)
    note = f"{TEST_MARK} This is a test notification; nothing is wrong. " if test else ""
    context = f"{note}Event {event.event_id} · workspace {event.workspace_id}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, MAX_HEADER), "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(event.summary, MAX_SECTION_TEXT)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": mrkdwn(f"*{label}*\n{value}", MAX_FIELD)}
                for label, value in facts(event)[:MAX_FIELDS]
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "View alert"},
                    "url": link,
                    "action_id": "view_alert",
                }
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(context, MAX_SECTION_TEXT)}]},
    ]
    text = mrkdwn(f"{title}: {event.summary} ({link})", MAX_TEXT)
    return {"text": text, "blocks": blocks}


def classify_slack(reply: HttpReply, *, now: datetime, secrets: tuple[str, ...]) -> SendResult:
    if reply.status == 200 and reply.text.strip() != "ok":
        detail = error_detail(reply.text, secrets)
        return SendResult.failure(
            f"Slack answered HTTP 200: {detail or 'not ok'}", retryable=False, status_code=200
        )
    return classify_http(reply, expected=200, now=now, vendor="Slack", secrets=secrets)


class SlackIntegration(WebhookIntegration[SlackChannel]):
    """Posts to one Slack incoming webhook. The channel's name is not sent: an incoming webhook
    posts to the channel it was created for."""

    vendor = "Slack"
    hosts = SLACK_HOSTS

    def payload(self, event: AlertFired, *, test: bool) -> dict[str, Any]:
        return slack_message(event, test=test, public_url=self._public_url)

    def classify(self, reply: HttpReply, *, now: datetime) -> SendResult:
        return classify_slack(reply, now=now, secrets=self._secrets)
