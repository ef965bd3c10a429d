"""What the webhook integrations share: the guard's check, one JSON POST, the classification.

A subclass names its vendor and hosts and builds its payload (`payload`); it may refine
`classify`, which by default is the shared HTTP rule with `expected` as success.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    TRANSPORT_ERRORS,
    Clock,
    HttpReply,
    SendResult,
    classify_http,
    post_json,
    transport_failure,
    utc_now,
)
from streamalert.notify.guard import WebhookBlocked, WebhookGuard
from streamalert.records.outputs import AlertFired
from streamalert.text import redact


class WebhookChannel(Protocol):
    @property
    def webhook_url(self) -> str: ...


ChannelT = TypeVar("ChannelT", bound=WebhookChannel)


def webhook_secrets(url: str) -> tuple[str, ...]:
    """The parts of a webhook URL that must never be shown: the URL, its path and long segments."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if len(segment) >= 6]
    return (url, parts.path, parts.query, *segments)


class WebhookIntegration(Generic[ChannelT]):
    """Posts to one webhook on `hosts`, on the connection the webhook guard checked."""

    vendor: ClassVar[str]
    hosts: ClassVar[frozenset[str]]
    expected: ClassVar[int] = 200

    def __init__(
        self,
        channel: ChannelT,
        *,
        guard: WebhookGuard,
        public_url: str = DEFAULT_PUBLIC_URL,
        clock: Clock = utc_now,
    ) -> None:
        self._url = channel.webhook_url
        self._guard = guard
        self._public_url = public_url
        self._clock = clock
        self._secrets = webhook_secrets(channel.webhook_url)

    def payload(self, event: AlertFired, *, test: bool) -> dict[str, Any]:
        raise NotImplementedError

    def classify(self, reply: HttpReply, *, now: datetime) -> SendResult:
        return classify_http(
            reply, expected=self.expected, now=now, vendor=self.vendor, secrets=self._secrets
        )

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        try:
            checked = await self._guard.check(self._url, self.hosts)
        except WebhookBlocked as blocked:
            return SendResult.failure(redact(blocked.reason, self._secrets), retryable=blocked.retryable)
        payload = self.payload(event, test=test)
        try:
            reply = await post_json(self._url, payload, pin=checked)
        except TRANSPORT_ERRORS as error:
            return transport_failure(self.vendor, error, self._secrets)
        return self.classify(reply, now=self._clock())
