"""The in-app notification list of each workspace (the bell), on a compacted topic.

Key `<workspace>|<notification id>`; marking one read rewrites it. Every worker holds
the whole list, so any worker answers `GET …/notifications`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from streamalert.topic_view import TopicView

LIST_LIMIT = 200


class Inbox(TopicView):
    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-notifications", writable=True)
        self._lists: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    async def append(self, workspace_id: str, notification: dict[str, Any]) -> None:
        """Add a notification; appending one that is already there changes nothing."""
        if notification["id"] in self._lists.get(workspace_id, {}):
            return
        await self._put(workspace_id, notification | {"read": False})

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
            self._lists.get(workspace_id, {}).pop(notification_id, None)
        else:
            self._lists[workspace_id][notification_id] = orjson.loads(record.value)
