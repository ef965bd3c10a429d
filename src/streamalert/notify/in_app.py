"""In-app notifications (the bell): one entry appended to the workspace's list.

The list itself lives elsewhere; this integration only builds the entry and hands it to the
injected `append(workspace_id, notification)` coroutine. An exception from `append` counts as
a retryable failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    TEST_MARK,
    SendResult,
    alert_url,
    headline,
    machine_time,
)
from streamalert.records.outputs import AlertFired

Append = Callable[[str, dict[str, Any]], Awaitable[None]]


def notification(
    event: AlertFired, *, test: bool = False, public_url: str = DEFAULT_PUBLIC_URL
) -> dict[str, Any]:
    """The entry for `event`; its `id` is deterministic so a repeated append can be recognised."""
    return {
        "id": f"test.{event.event_id}" if test else event.event_id,
        "event_id": event.event_id,
        "alert_id": event.alert_id,
        "alert_name": event.name,
        "kind": event.kind,
        "state": event.state,
        "title": headline(event, test=test),
        "summary": f"{TEST_MARK} {event.summary}" if test else event.summary,
        "occurred_at": machine_time(event.occurred_at),
        "url": alert_url(public_url, event.alert_id),
        "test": test,
    }


class InAppIntegration:
    vendor = "the in-app list"

    def __init__(self, append: Append, *, public_url: str = DEFAULT_PUBLIC_URL) -> None:
        self._append = append
        self._public_url = public_url

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        try:
            await self._append(
                event.workspace_id, notification(event, test=test, public_url=self._public_url)
            )
        except Exception as error:
            return SendResult.failure(
                f"could not append to {self.vendor}: {type(error).__name__}", retryable=True
            )
        return SendResult.success()
