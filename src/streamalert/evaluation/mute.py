"""Muting (docs/design.md#muting): who is told, while an alert is muted and when its mute ends. Pure.

A muted alert is evaluated and its transitions are published as always, marked `muted`. The
notifier sends a muted firing nowhere, and a muted resolve only to the channels that received
the incident's firing, so an incident opened at a vendor (a PagerDuty incident) is always
closed there. When the mute ends while the incident it hid is still firing, the evaluation
publishes one more event for that incident, the expiry notification: a firing with
`muted: false` and an event id of its own, delivered like a firing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from streamalert.records.outputs import AlertFired

Action = Literal["send", "muted"]

EXPIRY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://streamalert.dev/schemas/alert-fired.json#unmuted")


def is_muted(muted_until: datetime | None, now: datetime) -> bool:
    """Muted strictly before `muted_until`; from that instant on (or with none) it is not."""
    return muted_until is not None and now < muted_until


def expiry_event_id(alert_id: str, incident: int) -> str:
    """Deterministic id of the notification sent when a mute ends during incident `incident`."""
    return str(uuid.uuid5(EXPIRY_NAMESPACE, f"{alert_id}/{incident}"))


def resolve_is_muted(muted_now: bool, firing_was_muted: bool) -> bool:
    """A resolve is muted while the alert is, and also when nobody was told of its firing (the
    mute ended on the very evaluation that resolved it): both go only to channels that got it."""
    return muted_now or firing_was_muted


def expiry_due(open_incident: bool, firing_now: bool, firing_was_muted: bool, muted_now: bool) -> bool:
    """The mute that hid an open incident's firing is over and the alert still fires: tell them once."""
    return open_incident and firing_now and firing_was_muted and not muted_now


def channel_action(event: AlertFired, received_firing: bool) -> Action:
    """What the notifier does with one channel for one event.

    `received_firing`: the delivery log shows this channel received the incident's firing
    (or its expiry notification)."""
    if not event.muted:
        return "send"
    if event.state == "resolved" and received_firing:
        return "send"
    return "muted"
