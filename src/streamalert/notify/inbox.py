"""The in-app notification list of each workspace (the bell), on a compacted topic.

Key `<workspace>|<notification id>`; marking one read rewrites it. Every worker holds
the whole list, so any worker answers `GET …/notifications`.

Retention: a workspace keeps its newest KEEP_PER_WORKSPACE notifications, none older than
MAX_AGE. The worker that appends one removes what falls out of that workspace's list, and the
leader sweeps every workspace each SWEEP_INTERVAL for age; removal is a tombstone on the
compacted topic, so the topic stays bounded as well as every worker's copy.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from streamalert.records.common import parse_timestamp
from streamalert.topic_view import TopicView

log = logging.getLogger(__name__)

LIST_LIMIT = 200
KEEP_PER_WORKSPACE = LIST_LIMIT
"""Only the listed ones are kept: an older one could never be seen again."""
MAX_AGE = timedelta(days=30)
SWEEP_INTERVAL = 3600.0


def expired(entries: Iterable[dict[str, Any]], now: datetime) -> list[str]:
    """Ids of the notifications to remove: those beyond the newest KEEP_PER_WORKSPACE, and
    those that occurred more than MAX_AGE before `now`."""
    newest_first = sorted(entries, key=lambda n: (n["occurred_at"], n["id"]), reverse=True)
    cutoff = now - MAX_AGE
    return [
        entry["id"]
        for rank, entry in enumerate(newest_first)
        if rank >= KEEP_PER_WORKSPACE or parse_timestamp(entry["occurred_at"]) < cutoff
    ]


class Inbox(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-notifications", writable=True)
        self._lists: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    async def append(self, workspace_id: str, notification: dict[str, Any]) -> None:
        """Add a notification; appending one that is already there changes nothing."""
        if notification["id"] in self._lists.get(workspace_id, {}):
            return
        await self._put(workspace_id, notification | {"read": False})
        try:
            await self.prune(workspace_id, datetime.now(UTC))
        except Exception as error:  # the notification is in; the leader's sweep retries
            log.warning("could not prune the notifications of %s: %s", workspace_id, type(error).__name__)

    async def prune(self, workspace_id: str, now: datetime) -> int:
        """Remove the workspace's notifications beyond its retention; returns how many."""
        ids = expired(self._lists.get(workspace_id, {}).values(), now)
        for notification_id in ids:
            await self.write(f"{workspace_id}|{notification_id}".encode(), None)
        return len(ids)

    async def sweep(self, now: datetime) -> int:
        """`prune` every workspace."""
        return sum([await self.prune(workspace_id, now) for workspace_id in list(self._lists)])

    def list(self, workspace_id: str) -> tuple[list[dict[str, Any]], int]:
        """The newest notifications first, and how many of all are unread."""
        entries = sorted(
            self._lists.get(workspace_id, {}).values(),
            key=lambda n: (n["occurred_at"], n["id"]),
            reverse=True,
        )
        return entries[:LIST_LIMIT], sum(1 for entry in entries if not entry["read"])

    async def mark_read(self, workspace_id: str, notification_id: str) -> dict[str, Any] | None:
        entry = self._lists.get(workspace_id, {}).get(notification_id)
        if entry is None:
            return None
        if not entry["read"]:
            await self._put(workspace_id, entry | {"read": True})
        return self._lists[workspace_id][notification_id]

    async def _put(self, workspace_id: str, entry: dict[str, Any]) -> None:
        await self.write(f"{workspace_id}|{entry['id']}".encode(), orjson.dumps(entry))

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            return
        workspace_id, _, notification_id = record.key.decode().partition("|")
        if record.value is None:
            entries = self._lists.get(workspace_id)
            if entries is not None:
                entries.pop(notification_id, None)
                if not entries:
                    del self._lists[workspace_id]
        else:
            self._lists[workspace_id][notification_id] = orjson.loads(record.value)
