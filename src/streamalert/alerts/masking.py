"""Secrets never leave the worker whole: webhook URL paths and integration keys are masked.

Enough is kept to recognise a secret (the host and the last 4 characters).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from streamalert.records.alerts import (
    Channel,
    EmailChannel,
    InAppChannel,
    PagerDutyChannel,
    SlackChannel,
    SlackWorkflowChannel,
)

MASK = "****"


def mask_secret(secret: str) -> str:
    return MASK + secret[-4:] if len(secret) > 8 else MASK


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/****wxyz`: scheme and host stay, the rest is masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{host}/{mask_secret(path)}"


def mask_email(address: str) -> str:
    """`o****@example.com`: enough to tell addresses apart in logs, not to harvest them."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}****@{domain}"


def masked_channel(channel: Channel) -> dict[str, Any]:
    """The channel as an API response shows it."""
    data = channel.model_dump(mode="json")
    if isinstance(channel, SlackChannel | SlackWorkflowChannel):
        data["webhook_url"] = mask_url(channel.webhook_url)
    elif isinstance(channel, PagerDutyChannel):
        data["integration_key"] = mask_secret(channel.integration_key)
    return data


def masked_target(channel: Channel) -> str:
    """A one-line description of where a channel delivers, safe for logs and `deliveries`."""
    if isinstance(channel, EmailChannel):
        return mask_email(str(channel.address))
    if isinstance(channel, SlackChannel):
        return f"{channel.channel} via {mask_url(channel.webhook_url)}"
    if isinstance(channel, SlackWorkflowChannel):
        return mask_url(channel.webhook_url)
    if isinstance(channel, PagerDutyChannel):
        return f"routing key {mask_secret(channel.integration_key)}"
    assert isinstance(channel, InAppChannel)
    return "in-app"
