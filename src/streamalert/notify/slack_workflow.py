"""Slack workflow webhook: a flat object of string variables posted to the workflow trigger.

Slack's workflow webhooks accept only top-level string values, so every value is text and
every variable below is present in every message (an empty string when it does not apply).
Declare the ones you use as variables of the workflow's webhook trigger (all type "text").

| variable | value |
|---|---|
| `alert_id` | the alert's id |
| `alert_name` | the alert's name |
| `alert_kind` | the alert's kind, e.g. `source_volume` (every kind: `streamalert.kinds`) |
| `state` | `firing` or `resolved` |
| `title` | e.g. `[FIRING] Orders volume` (`[TEST] ` in front for a test) |
| `summary` | one sentence describing the transition (`[TEST] ` in front for a test) |
| `subject` | the subject ids, e.g. `source src-1, destination dst-2` |
| `workspace_id` | the workspace |
| `source_id`, `destination_id`, `mapping_id`, `audience_id` | the subject ids, empty when absent |
| `current`, `baseline`, `change_pct` | change kinds: counts of the current and baseline windows and the change in % as people read it (`+12.50`, or a true minus sign: `\u221212.50`; counts with thousands separators, see `streamalert.text`) |
| `delivered`, `failed`, `success_rate_pct` | rate kinds: outcomes in the current window and the success rate in % |
| `threshold_pct` | the alert's threshold in % |
| `window_start`, `window_end` | the current window, RFC 3339 UTC |
| `baseline_window_start`, `baseline_window_end` | the baseline window, RFC 3339 UTC |
| `occurred_at` | when the transition happened, RFC 3339 UTC |
| `event_id` | the alert-fired event id (deduplication) |
| `alert_url` | link to the alert in streamalert |
| `is_test` | `true` for a test notification, else `false` |
"""

from __future__ import annotations

from typing import Any

from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    TEST_MARK,
    alert_url,
    headline,
    machine_time,
    subject_text,
)
from streamalert.notify.webhook import WebhookIntegration
from streamalert.records.alerts import SLACK_HOSTS, SlackWorkflowChannel
from streamalert.records.outputs import AlertFired, ChangeObserved
from streamalert.text import count, number, signed, threshold

VARIABLES = (
    "alert_id",
    "alert_name",
    "alert_kind",
    "state",
    "title",
    "summary",
    "subject",
    "workspace_id",
    "source_id",
    "destination_id",
    "mapping_id",
    "audience_id",
    "current",
    "baseline",
    "change_pct",
    "delivered",
    "failed",
    "success_rate_pct",
    "threshold_pct",
    "window_start",
    "window_end",
    "baseline_window_start",
    "baseline_window_end",
    "occurred_at",
    "event_id",
    "alert_url",
    "is_test",
)


def workflow_variables(
    event: AlertFired, *, test: bool = False, public_url: str = DEFAULT_PUBLIC_URL
) -> dict[str, str]:
    """Every variable of VARIABLES, as a string."""
    observed = event.observed
    subject = event.subject
    values: dict[str, str] = {
        "alert_id": event.alert_id,
        "alert_name": event.name,
        "alert_kind": event.kind,
        "state": event.state,
        "title": headline(event, test=test),
        "summary": f"{TEST_MARK} {event.summary}" if test else event.summary,
        "subject": subject_text(event),
        "workspace_id": event.workspace_id,
        "source_id": subject.source_id or "",
        "destination_id": subject.destination_id or "",
        "mapping_id": subject.mapping_id or "",
        "audience_id": subject.audience_id or "",
        "threshold_pct": threshold(event.threshold_pct),
        "window_start": machine_time(event.window.start),
        "window_end": machine_time(event.window.end),
        "baseline_window_start": machine_time(event.baseline_window.start),
        "baseline_window_end": machine_time(event.baseline_window.end),
        "occurred_at": machine_time(event.occurred_at),
        "event_id": event.event_id,
        "alert_url": alert_url(public_url, event.alert_id),
        "is_test": "true" if test else "false",
    }
    if isinstance(observed, ChangeObserved):
        values |= {
            "current": count(observed.current),
            "baseline": count(observed.baseline),
            "change_pct": signed(observed.change_pct),
        }
    else:
        values |= {
            "delivered": count(observed.delivered),
            "failed": count(observed.failed),
            "success_rate_pct": number(observed.success_rate_pct),
        }
    return {name: values.get(name, "") for name in VARIABLES}


class SlackWorkflowIntegration(WebhookIntegration[SlackWorkflowChannel]):
    """Triggers one Slack workflow through its webhook; 200 is success."""

    vendor = "Slack workflow"
    hosts = SLACK_HOSTS

    def payload(self, event: AlertFired, *, test: bool) -> dict[str, Any]:
        return dict(workflow_variables(event, test=test, public_url=self._public_url))
