"""The counting write-back: changelog writes coalesced per subject, acks held until durable.

Kafka Streams' record cache, for the `counts` changelog. The store itself is written at once
(the evaluation reads it, so it must see what has been counted); what waits is the changelog
record of each changed subject and the acknowledgement of the input records behind it:

    count a batch  →  store written, subject marked dirty, its records held
    flush (every FLUSH_EVERY s, or when MAX_HELD records wait)
                   →  one changelog record per dirty subject, its latest value
                   →  broker acknowledges them  →  the held records are acknowledged

so a subject written by 40 records in a flush interval costs one changelog write, and no input
offset is committed past an effect the changelog does not hold (docs/design.md#counting).

A revoked partition's held records are dropped, never acknowledged: the next owner reads them
again and applies them to what the changelog holds; replays are skipped by each state's applied
offset. Each partition carries an epoch, bumped by a revoke, so a flush that was in flight
when its partition was revoked does not acknowledge records of a partition it no longer owns.
Nothing here knows Faust; `streamalert.faust_adapter.counting` supplies the sends and acks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

FLUSH_EVERY = 2.0  # seconds; ~Faust's commit interval (2.8 s): at most this much is re-read after a crash
MAX_HELD = 100_000  # input records held per worker before a flush is forced (bounds memory)

Held = TypeVar("Held")


@dataclass
class PartitionFlush(Generic[Held]):
    """What one partition sends and then acknowledges in one flush."""

    partition: int
    epoch: int
    values: dict[bytes, bytes]  # subject key → latest stored value
    held: list[Held]  # input records whose effects `values` carries


@dataclass
class WriteBack(Generic[Held]):
    """Dirty subjects and held input records, per partition, since the last flush."""

    flush_every: float = FLUSH_EVERY
    max_held: int = MAX_HELD
    _values: dict[int, dict[bytes, bytes]] = field(default_factory=lambda: defaultdict(dict))
    _held: dict[int, list[Held]] = field(default_factory=lambda: defaultdict(list))
    _epochs: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _held_count: int = 0
    _since: float | None = None  # monotonic time of the oldest unflushed change

    def mark(self, partition: int, key: bytes, value: bytes, now: float) -> None:
        """`key` of `partition` now stores `value`: its changelog record is due at the next flush."""
        self._values[partition][key] = value
        if self._since is None:
            self._since = now

    def hold(self, partition: int, records: list[Held], now: float) -> None:
        """`records` are acknowledged once this partition's next flush is durable."""
        self._held[partition].extend(records)
        self._held_count += len(records)
        if self._since is None:
            self._since = now

    def due(self, now: float) -> bool:
        """Time to flush: the oldest change waited FLUSH_EVERY, or too many records are held."""
        if self._since is None:
            return False
        return self._held_count >= self.max_held or now - self._since >= self.flush_every

    @property
    def held_count(self) -> int:
        return self._held_count

    def take(self) -> list[PartitionFlush[Held]]:
        """Everything to flush, partition by partition; the write-back starts empty again."""
        partitions = sorted(set(self._values) | set(self._held))
        flushes = [
            PartitionFlush(p, self._epochs[p], self._values.pop(p, {}), self._held.pop(p, []))
            for p in partitions
        ]
        self._held_count = 0
        self._since = None
        return [f for f in flushes if f.values or f.held]

    def revoke(self, partitions: set[int]) -> None:
        """Forget what `partitions` hold and invalidate their flushes in flight."""
        for partition in partitions:
            self._epochs[partition] += 1
            self._values.pop(partition, None)
            self._held_count -= len(self._held.pop(partition, []))
        if not self._values and not self._held:
            self._since = None

    def epoch(self, partition: int) -> int:
        """Changes when `partition` is revoked: work begun under another epoch is void."""
        return self._epochs[partition]

    def still_owned(self, flush: PartitionFlush[Held]) -> bool:
        """False when the partition was revoked after `flush` was taken: do not acknowledge."""
        return self._epochs[flush.partition] == flush.epoch

    def retry(self, flush: PartitionFlush[Held], now: float) -> None:
        """`flush` could not be written: its values and records go into the next flush.

        A subject written again since keeps its newer value, which carries the older effects."""
        if not self.still_owned(flush):
            return
        dirty = self._values[flush.partition]
        for key, value in flush.values.items():
            dirty.setdefault(key, value)
        self.hold(flush.partition, flush.held, now)
        self._since = self._since if self._since is not None else now
