"""Writing Faust tables for many partitions from one batch.

Faust decides a table write's changelog partition, and the RocksDB store its local
partition, from the event the stream is currently processing (SPEC §8). A batch from
`take_events` spans partitions, so before writing the keys of partition p we make an
event of partition p the current one. This is the one place that touches Faust's
private context variable.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from faust import EventT
from faust import streams as faust_streams


@contextmanager
def attributed_to(event: EventT) -> Iterator[None]:
    """Within the block, table writes belong to `event`'s partition."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)
