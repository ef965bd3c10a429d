"""In-memory stand-ins for the stores, sinks and sources the pipelines see through Protocols.

They behave as the Faust-backed ones do where the pipelines' guarantees depend on it: a source
redelivers everything after its committed offset on a restart; a store keeps what was written
before a crash. `Killed` is the process dying at a chosen point: a BaseException, so no
`except Exception` in the code under test can swallow it, as no handler survives a real kill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from streamalert.counting.pipeline import CountingPipeline, Delivered, SubjectStore


class Killed(BaseException):
    """The worker died here."""


@dataclass
class CrashAfter:
    """Raises `Killed` on the call after `calls` successful ones (never if None)."""

    calls: int | None = None
    made: int = 0

    def tick(self) -> None:
        if self.calls is not None and self.made >= self.calls:
            raise Killed
        self.made += 1


@dataclass
class MemoryStore:
    """A table: bytes → bytes, surviving a crash as a changelog-backed table does."""

    data: dict[bytes, bytes] = field(default_factory=dict)
    crash: CrashAfter = field(default_factory=CrashAfter)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.crash.tick()
        self.data[key] = value


@dataclass
class MemorySink:
    """A topic written with acks: `sent` holds what the broker has."""

    sent: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    failures: int = 0  # the next sends that fail (the broker unreachable), then succeed

    async def send(self, key: bytes | None, value: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker unreachable")
        self.sent.append((key, value))


@dataclass
class MemoryPartition:
    """One input partition: records in offset order and the offset committed (next to read)."""

    records: list[Delivered] = field(default_factory=list)
    committed: int = 0

    def unread(self, limit: int) -> list[Delivered]:
        return [r for r in self.records if r.position.offset >= self.committed][:limit]


async def run_counting(
    pipeline: CountingPipeline,
    store: SubjectStore,
    partitions: dict[int, MemoryPartition],
    now: datetime,
    batch: int = 1000,
) -> None:
    """Counts every unread record, batch by batch, committing each batch after it was counted
    (as Faust acks `take_events` batches after the agent's yield)."""
    while True:
        progress = False
        for number, partition in sorted(partitions.items()):
            records: Sequence[Delivered] = partition.unread(batch)
            if not records:
                continue
            await pipeline.count_partition(store, number, records, now)
            partition.committed = records[-1].position.offset + 1
            progress = True
        if not progress:
            return
