"""The in-app list's retention: the newest KEEP_PER_WORKSPACE per workspace, none older than
MAX_AGE, removed with tombstones so that the compacted topic stays bounded too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streamalert.notify.inbox import KEEP_PER_WORKSPACE, MAX_AGE, Inbox, expired
from streamalert.records.common import format_timestamp
from tests.support import consume, create_topic

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def entry(n: int, age: timedelta = timedelta(0)) -> dict[str, Any]:
    """Notification n, occurring n minutes after an hour ago minus `age`."""
    at = NOW - timedelta(hours=1) - age + timedelta(minutes=n)
    return {"id": f"n{n:04d}", "occurred_at": format_timestamp(at), "read": False, "title": f"#{n}"}


@pytest.mark.parametrize(
    ("entries", "removed"),
    [
        ([], []),
        ([entry(n) for n in range(KEEP_PER_WORKSPACE)], []),
        ([entry(n) for n in range(KEEP_PER_WORKSPACE + 3)], ["n0002", "n0001", "n0000"]),
        ([entry(1), entry(2, age=MAX_AGE)], ["n0002"]),
        ([entry(1), entry(2, age=MAX_AGE - timedelta(hours=1, minutes=3))], []),
        (
            [entry(1, age=MAX_AGE * 2), *[entry(n) for n in range(2, KEEP_PER_WORKSPACE + 3)]],
            ["n0002", "n0001"],
        ),
    ],
    ids=["empty", "at the limit", "over the limit", "too old", "just young enough", "both rules"],
)
def test_expired(entries: list[dict[str, Any]], removed: list[str]) -> None:
    assert expired(entries, NOW) == removed


async def test_the_list_and_the_topic_stay_bounded(kafka_bootstrap: str, unique: str) -> None:
    topic = f"{unique}.notifications"
    await create_topic(kafka_bootstrap, topic)
    inbox = Inbox({"bootstrap_servers": kafka_bootstrap}, topic)
    await inbox.start()
    try:
        await inbox.wait_loaded()
        now = datetime.now(UTC)
        stale = entry(0) | {"occurred_at": format_timestamp(now - MAX_AGE - timedelta(hours=1))}
        await inbox.append("ws1", stale)
        # The stale one was removed at once by its own append.
        assert inbox.list("ws1") == ([], 0)
        fresh = [
            {
                "id": f"n{n:04d}",
                "occurred_at": format_timestamp(now - timedelta(minutes=300 - n)),
                "read": False,
            }
            for n in range(1, KEEP_PER_WORKSPACE + 6)
        ]
        for notification in fresh:
            await inbox.append("ws1", notification)
        await inbox.append("ws2", fresh[0])
        listed, unread = inbox.list("ws1")
        assert unread == len(listed) == KEEP_PER_WORKSPACE
        assert listed[-1]["id"] == "n0006"  # n0001..n0005, the oldest, are gone
        assert inbox.list("ws2")[1] == 1
    finally:
        await inbox.stop()

    # The topic holds a tombstone for each one removed: a fresh copy sees the same bounded list.
    records = await consume(
        kafka_bootstrap, topic, until=lambda got: len(got) >= 1 + len(fresh) + 1 + 6, timeout=30
    )
    tombstones = sorted(r.key.decode() for r in records if r.value is None)
    assert tombstones == ["ws1|n0000", *[f"ws1|n{n:04d}" for n in range(1, 6)]]
    copy = Inbox({"bootstrap_servers": kafka_bootstrap}, topic)
    await copy.start()
    try:
        await copy.wait_loaded()
        assert len(copy.list("ws1")[0]) == KEEP_PER_WORKSPACE
        assert await copy.sweep(datetime.now(UTC)) == 0  # nothing left to remove
        # A month later, the leader's sweep empties both workspaces.
        assert await copy.sweep(datetime.now(UTC) + MAX_AGE + timedelta(days=1)) == KEEP_PER_WORKSPACE + 1
        assert copy.list("ws1") == ([], 0) and copy.list("ws2") == ([], 0)
    finally:
        await copy.stop()
