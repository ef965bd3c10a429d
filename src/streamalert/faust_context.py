"""The one place that reaches into Faust's internals.

Faust decides a table write's changelog partition, and the RocksDB store its local
partition, from the event the stream is currently processing (SPEC §8). A batch from
`take_events` spans partitions, so before writing the keys of partition p we make an
event of partition p the current one (`attributed_to`). The metrics read the offset
Faust last read per partition (`last_read_offset`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from faust import EventT
from faust import streams as faust_streams
from faust.types import TP, ConsumerT


@contextmanager
def attributed_to(event: EventT) -> Iterator[None]:
    """Within the block, table writes belong to `event`'s partition."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def last_read_offset(consumer: ConsumerT, tp: TP) -> int | None:
    """The offset of the last record Faust read from `tp` (None before the first)."""
    offset: int | None = consumer._read_offset.get(tp)  # type: ignore[attr-defined]
    return offset
