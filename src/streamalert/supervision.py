"""Agents that fail are visible: a crashed or stuck agent turns `/readyz` red and moves metrics.

Faust "restarts" an agent whose body raised, but the new actor never receives another event,
and nothing else notices: the worker would look healthy while it stopped counting. So:

- a crash (the body raised) is final for this process: the agent stays down, the
  `agents_running` readiness check fails and `streamalert_agent_crashes_total{agent}` counts it,
  until the worker is restarted (which re-reads from the last committed offset);
- an agent is stuck when one of its partitions has records it has not committed and its
  committed offset has not moved for the agent's `stuck_after` seconds.

`streamalert_agent_up{agent}` is 1 while neither holds. The progress rule is a plain class
(`ProgressTracker`), fed with offsets and a monotonic "now"; `AgentWatch` samples Faust.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from mode import Service

from streamalert.faust_adapter.internals import (
    agent_topics,
    committed_offset,
    last_read_offset,
    on_agent_crash,
)
from streamalert.metrics import AGENT_CRASHES, AGENT_UP

log = logging.getLogger(__name__)

EARLIEST_EVERY = 10.0
"""Seconds between two looks at where the log starts on partitions fetched but never read."""


@dataclass(slots=True)
class _Progress:
    committed: int | None
    since: float


class ProgressTracker:
    """Per partition: how long records have waited while the committed offset stood still."""

    def __init__(self, stuck_after: float) -> None:
        self.stuck_agents_after = stuck_after
        self._seen: dict[Hashable, _Progress] = {}
        self._unfetched: dict[Hashable, float] = {}

    def observe(self, tp: Hashable, committed: int | None, highwater: int | None, now: float) -> bool:
        """Record one sample of `tp`; True when it is stuck: records wait (highwater beyond the
        committed offset) and the committed offset has not moved for `stuck_after` seconds, or
        the partition has not been fetched once (no highwater) for that long.
        `committed` None is not judged (nothing read yet: the partition may hold only expired
        offsets); pass -1 for "read records but committed none"."""
        if highwater is None:
            # Every fetch answer carries the highwater, even an empty one: a partition without one
            # after minutes was never fetched, which Faust can do after a rebalance.
            first = self._unfetched.setdefault(tp, now)
            return now - first >= self.stuck_agents_after
        self._unfetched.pop(tp, None)
        waiting = committed is not None and highwater > committed
        if not waiting:
            self._seen.pop(tp, None)
            return False
        known = self._seen.get(tp)
        if known is None or known.committed != committed:
            self._seen[tp] = known = _Progress(committed, now)
        return now - known.since >= self.stuck_agents_after

    def keep_only(self, tps: set[Hashable]) -> None:
        """Forget partitions no longer assigned."""
        for tp in set(self._seen) - tps:
            del self._seen[tp]
        for tp in set(self._unfetched) - tps:
            del self._unfetched[tp]


class AgentWatch(Service):
    """Samples every agent of the app once per `interval` seconds and keeps their verdict."""

    def __init__(self, app: Any, stuck_after: float, interval: float = 1.0) -> None:
        super().__init__()
        self.app = app
        self.default_stuck_after = stuck_after
        self.interval = interval
        self._stuck_after: dict[str, float] = {}
        self._trackers: dict[str, ProgressTracker] = {}
        self.crashed_agents: dict[str, str] = {}  # agent name → the exception's type
        self.stuck_agents: set[str] = set()
        self._hooked: set[str] = set()
        self._earliest: dict[Any, int] = {}  # log start of partitions fetched but never read
        self._unread_since: dict[Any, float] = {}
        self._earliest_at = -EARLIEST_EVERY

    def expect(self, agent_name: str, stuck_after: float) -> None:
        """`agent_name` may legitimately hold records for up to `stuck_after` seconds."""
        self._stuck_after[agent_name] = max(stuck_after, self.default_stuck_after)

    def hook(self) -> None:
        """Watch every agent registered so far and not watched yet."""
        new = set(self.app.agents) - self._hooked
        on_agent_crash(self.app, new, self._on_crash)
        for name in new:
            AGENT_UP.labels(name).set(1)
            AGENT_CRASHES.labels(name)  # exported at 0 from the start
        self._hooked |= new

    @property
    def running(self) -> bool:
        """The readiness check: no agent crashed or stuck."""
        return bool(self._hooked) and not self.crashed_agents and not self.stuck_agents

    async def _on_crash(self, name: str, exc: BaseException) -> None:
        # The exception's text may quote a record; its type is enough to look in the log.
        log.error(
            "agent %s crashed (%s): it no longer consumes; restart the worker", name, type(exc).__name__
        )
        AGENT_CRASHES.labels(name).inc()
        self.crashed_agents[name] = type(exc).__name__
        AGENT_UP.labels(name).set(0)

    async def on_start(self) -> None:
        self.add_future(self._watch())

    async def _watch(self) -> None:
        while not self.should_stop:
            try:
                await self._learn_earliest(asyncio.get_running_loop().time())
                self.sample(asyncio.get_running_loop().time())
            except Exception:  # a sample taken mid-rebalance; the next one will do
                log.debug("agent watch sample failed", exc_info=True)
            await self.sleep(self.interval)

    async def _learn_earliest(self, now: float) -> None:
        """Where the log starts on partitions Faust has fetched but never read a record from, so
        that records waiting there (the log starts below the highwater) are told apart from a
        partition whose records all expired. After a SIGKILL soon after a rebalance, Faust can
        leave such a partition unread for good."""
        if now - self._earliest_at < EARLIEST_EVERY:
            return
        self._earliest_at = now
        consumer = self.app.consumer
        topics = {topic for names in agent_topics(self.app).values() for topic in names}
        unread = [
            tp
            for tp in consumer.assignment()
            if tp.topic in topics
            and committed_offset(consumer, tp) is None
            and last_read_offset(consumer, tp) is None
            and (consumer.highwater(tp) or 0) > 0
        ]
        earliest = dict(await consumer.earliest_offsets(*unread)) if unread else {}
        for tp, start in earliest.items():
            first = self._unread_since.setdefault(tp, now)
            if now - first >= self.default_stuck_after and (consumer.highwater(tp) or 0) > start:
                # Never read since the assignment although records wait: read it from the start, as
                # a new consumer of the partition would. Replays are skipped where they were applied.
                log.warning(
                    "%s[%d] was never read since its assignment; reading it from %d",
                    tp.topic,
                    tp.partition,
                    start,
                )
                await consumer.seek(tp, start)
                self._unread_since[tp] = now
        for tp in set(self._unread_since) - set(earliest):
            del self._unread_since[tp]
        self._earliest = earliest

    def sample(self, now: float) -> None:
        consumer = self.app.consumer
        try:
            assignment = set(consumer.assignment())
        except Exception:
            assignment = set()
        stuck: set[str] = set()
        for name, topics in agent_topics(self.app).items():
            tracker = self._trackers.get(name)
            if tracker is None:
                after = self._stuck_after.get(name, self.default_stuck_after)
                tracker = self._trackers[name] = ProgressTracker(after)
            mine = {tp for tp in assignment if tp.topic in topics}
            tracker.keep_only(set(mine))
            for tp in mine:
                committed = committed_offset(consumer, tp)
                if committed is None and last_read_offset(consumer, tp) is not None:
                    committed = -1  # read, but nothing committed yet
                elif committed is None and tp in self._earliest:
                    committed = self._earliest[tp]  # never read: records wait from the log start
                if tracker.observe(tp, committed, consumer.highwater(tp), now):
                    stuck.add(name)
            up = name not in stuck and name not in self.crashed_agents
            AGENT_UP.labels(name).set(1 if up else 0)
        for name in stuck - self.stuck_agents:
            log.error(
                "agent %s is stuck: records wait and its committed offset has not moved, "
                "or a partition of it has not been fetched since it was assigned",
                name,
            )
        for name in self.stuck_agents - stuck:
            log.info("agent %s makes progress again", name)
        self.stuck_agents = stuck
