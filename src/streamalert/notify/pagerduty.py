"""PagerDuty Events API v2: `POST {base}/v2/enqueue`.

A firing is a `trigger`, its resolution a `resolve` with the same `dedup_key`:
`streamalert/{alert_id}/{incident}`. The incident number is carried by the alert-fired record
and is shared by a firing and its resolve, so each incident has its own key and a late resolve
of an earlier incident can never close a newer one. (An event without an incident number falls
back to `streamalert/{alert_id}`: an alert has at most one open incident at a time, and
PagerDuty opens a new incident when a key whose alert was resolved triggers again.) A caller
may pass its own `dedup_key` function. Test sends use a key of their own, so they never touch a
real incident.

202 is success; 400 fails at once; 429 (with Retry-After) and 5xx are retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    TRANSPORT_ERRORS,
    Clock,
    SendResult,
    alert_url,
    classify_http,
    headline,
    incident_of,
    machine_time,
    post_json,
    subject_text,
    transport_failure,
    utc_now,
)
from streamalert.records.alerts import PagerDutyChannel
from streamalert.records.outputs import AlertFired
from streamalert.text import clip

DEFAULT_BASE_URL = "https://events.pagerduty.com"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
SOURCE = "streamalert"


def alert_dedup_key(event: AlertFired) -> str:
    """`streamalert/{alert_id}/{incident}`: equal for a firing and its resolve."""
    incident = incident_of(event)
    return f"streamalert/{event.alert_id}" + (f"/{incident}" if incident is not None else "")


def _test_dedup_key(event: AlertFired) -> str:
    digest = hashlib.sha256(event.event_id.encode()).hexdigest()[:16]
    return f"streamalert-test/{event.alert_id}/{digest}"


def _fit_key(key: str) -> str:
    return key if len(key) <= MAX_DEDUP_KEY else "streamalert/" + hashlib.sha256(key.encode()).hexdigest()


def pagerduty_event(
    event: AlertFired,
    routing_key: str,
    *,
    dedup_key: str,
    test: bool = False,
    public_url: str = DEFAULT_PUBLIC_URL,
) -> dict[str, Any]:
    """The Events API v2 request body for `event`."""
    link = alert_url(public_url, event.alert_id)
    return {
        "routing_key": routing_key,
        "event_action": "trigger" if event.state == "firing" else "resolve",
        "dedup_key": dedup_key,
        "client": "streamalert",
        "client_url": link,
        "links": [{"href": link, "text": "Alert in streamalert"}],
        "payload": {
            "summary": clip(f"{headline(event, test=test)}: {event.summary}", MAX_SUMMARY),
            "source": SOURCE,
            "severity": "error" if event.state == "firing" else "info",
            "timestamp": machine_time(event.occurred_at),
            "component": subject_text(event),
            "group": event.workspace_id,
            "class": event.kind,
            "custom_details": {
                "alert_id": event.alert_id,
                "alert_name": event.name,
                "kind": event.kind,
                "state": event.state,
                "test": test,
                "threshold_pct": event.model_dump(mode="json", include={"threshold_pct"})["threshold_pct"],
                "subject": event.subject.model_dump(mode="json", exclude_none=True),
                "observed": event.observed.model_dump(mode="json"),
                "window": event.window.model_dump(mode="json"),
                "baseline": event.baseline,
                "baseline_window": event.baseline_window.model_dump(mode="json"),
                "occurred_at": machine_time(event.occurred_at),
                "event_id": event.event_id,
            },
        },
    }


class PagerDutyIntegration:
    """Sends events to one PagerDuty service (its integration key is the routing key)."""

    vendor = "PagerDuty"

    def __init__(
        self,
        channel: PagerDutyChannel,
        *,
        base_url: str = DEFAULT_BASE_URL,
        public_url: str = DEFAULT_PUBLIC_URL,
        dedup_key: Callable[[AlertFired], str] = alert_dedup_key,
        clock: Clock = utc_now,
    ) -> None:
        self._routing_key = channel.integration_key
        self._endpoint = f"{base_url.rstrip('/')}/v2/enqueue"
        self._public_url = public_url
        self._dedup_key = dedup_key
        self._clock = clock

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        key = _test_dedup_key(event) if test else self._dedup_key(event)
        body = pagerduty_event(
            event, self._routing_key, dedup_key=_fit_key(key), test=test, public_url=self._public_url
        )
        secrets = (self._routing_key,)
        try:
            reply = await post_json(self._endpoint, body)
        except TRANSPORT_ERRORS as error:
            return transport_failure(self.vendor, error, secrets)
        return classify_http(reply, expected=202, now=self._clock(), vendor=self.vendor, secrets=secrets)
