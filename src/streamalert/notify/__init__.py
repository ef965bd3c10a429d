"""Notification delivery (docs/design.md#notification): one small integration per channel type, one shared pipeline.

- `base`: the `Integration` protocol, `SendResult`, shared HTTP classification and wording;
- `pipeline.deliver`: attempts, timeouts, retries with backoff, the delivery log;
- `guard`: the send-time webhook rule (https, vendor host, public addresses, pinned connection);
- `slack`, `slack_workflow`, `pagerduty`, `email`, `in_app`: the integrations.

`integration_for` builds the integration of one configured channel from the settings.
"""

from __future__ import annotations

from streamalert.alerts.masking import masked_target
from streamalert.notify.base import DEFAULT_PUBLIC_URL, Integration, SendResult
from streamalert.notify.email import EmailIntegration, FiringLookup, derived_firing_event_id
from streamalert.notify.guard import WebhookBlocked, WebhookGuard
from streamalert.notify.in_app import Append, InAppIntegration
from streamalert.notify.pagerduty import PagerDutyIntegration
from streamalert.notify.pipeline import DEFAULT_POLICY, RetryPolicy, deliver
from streamalert.notify.slack import SlackIntegration
from streamalert.notify.slack_workflow import SlackWorkflowIntegration
from streamalert.records.alerts import (
    Channel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    SlackWorkflowChannel,
)
from streamalert.records.outputs import MaskedTarget
from streamalert.settings import Settings


def target_of(channel: Channel) -> MaskedTarget:
    """The channel as `deliveries` records it (secrets masked)."""
    return MaskedTarget(type=channel.type, target=masked_target(channel))


def integration_for(
    channel: Channel,
    settings: Settings,
    *,
    append: Append,
    guard: WebhookGuard | None = None,
    public_url: str = DEFAULT_PUBLIC_URL,
    firing_event_id: FiringLookup = derived_firing_event_id,
) -> Integration:
    """The integration delivering to `channel`, configured from `settings`."""
    if isinstance(channel, SlackChannel | SlackWorkflowChannel):
        guard = guard or WebhookGuard(settings.webhook_allow)
        if isinstance(channel, SlackChannel):
            return SlackIntegration(channel, guard=guard, public_url=public_url)
        return SlackWorkflowIntegration(channel, guard=guard, public_url=public_url)
    if isinstance(channel, PagerDutyChannel):
        return PagerDutyIntegration(channel, base_url=settings.pagerduty_url, public_url=public_url)
    if isinstance(channel, EmailChannel):
        return EmailIntegration(
            channel,
            smtp_url=settings.smtp_url,
            sender=settings.email_from,
            public_url=public_url,
            firing_event_id=firing_event_id,
        )
    return InAppIntegration(append, public_url=public_url)


__all__ = [
    "DEFAULT_POLICY",
    "EmailIntegration",
    "InAppIntegration",
    "Integration",
    "PagerDutyIntegration",
    "RetryPolicy",
    "SendResult",
    "SlackIntegration",
    "SlackWorkflowIntegration",
    "WebhookBlocked",
    "WebhookGuard",
    "deliver",
    "integration_for",
    "target_of",
]
