"""The hole guard: re-reading, in order, records Faust drops around a rebalance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from streamalert.faust_adapter.internals import HoleGuard

PART = TP("t.pipeline-events", 2)


@dataclass
class Message:
    tp: TP
    offset: int


@dataclass
class Event:
    message: Message


@dataclass
class Consumer:
    committed: dict[TP, int]
    sought: list[tuple[TP, int]] = field(default_factory=list)

    @property
    def _committed_offset(self) -> dict[TP, int]:
        return self.committed

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))


class Guard(HoleGuard):
    def __init__(self, consumer: Consumer, on_broker: list[int]) -> None:
        app: Any = type("App", (), {"consumer": consumer})()
        super().__init__(app, {"bootstrap_servers": "unused:9092"})
        self.on_broker = on_broker

    async def _first_offset_from(self, tp: TP, offset: int) -> int | None:
        return next((o for o in self.on_broker if o >= offset), None)


def event(offset: int) -> Any:
    return Event(Message(PART, offset))


async def test_in_order_records_pass() -> None:
    guard = Guard(Consumer({PART: 4}), on_broker=[4, 5, 6])
    assert [await guard.admit(event(o)) for o in (4, 5, 6)] == [True, True, True]


async def test_a_dropped_record_is_read_again_before_anything_after_it() -> None:
    consumer = Consumer({PART: 4})
    guard = Guard(consumer, on_broker=[4, 5, 6])
    # Faust skipped 4: 5 and 6 arrive first and are dropped; after the seek 4, 5, 6 come again.
    assert await guard.admit(event(5)) is False
    assert consumer.sought == [(PART, 4)]
    assert await guard.admit(event(6)) is False
    assert [await guard.admit(event(o)) for o in (4, 5, 6)] == [True, True, True]


async def test_a_real_gap_in_offsets_is_accepted() -> None:
    consumer = Consumer({PART: 4})
    guard = Guard(consumer, on_broker=[6, 7])  # 4 and 5 are transaction markers, say
    assert await guard.admit(event(6)) is True
    assert consumer.sought == []


async def test_an_assignment_resets_what_is_expected() -> None:
    consumer = Consumer({PART: 4})
    guard = Guard(consumer, on_broker=[4, 5, 6, 7, 8, 9])
    assert await guard.admit(event(4)) is True
    consumer.committed[PART] = 9  # another worker moved the partition on meanwhile
    guard.forget()
    assert await guard.admit(event(9)) is True
    assert consumer.sought == []
