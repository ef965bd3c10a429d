"""The Faust fast path refuses to run on Faust code it was not written against."""

from __future__ import annotations

import asyncio

import faust
import pytest

from streamalert.faust_adapter import fastpath


def test_the_installed_faust_is_the_one_the_fast_path_copies() -> None:
    # Fails on an upgrade of faust-streaming: review fastpath.py against the new code, then
    # update PATCHED with the hashes this prints.
    found = {name: fastpath.source_hash(name) for name in fastpath.PATCHED}
    assert found == fastpath.PATCHED


def test_a_changed_function_stops_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(fastpath.PATCHED, "faust.types.tuples.Message.ack", "0" * 64)
    with pytest.raises(fastpath.FaustChanged, match=r"Message\.ack"):
        fastpath.check_faust()


def test_install_gives_each_app_its_own_consumer_class_and_listeners() -> None:
    first, second = faust.App("fastpath-a"), faust.App("fastpath-b")
    fast_a, fast_b = fastpath.install(first), fastpath.install(second)
    batches = fast_a.divert("t.pipeline-events", max_batch=10, window=0.1, max_buffered=20)
    assert issubclass(first.transport.Consumer, fastpath.FastDrainConsumer)
    assert first.transport.Consumer.revoke_listeners is fast_a.revoke_listeners
    assert second.transport.Consumer.revoke_listeners is fast_b.revoke_listeners
    assert first.transport.Consumer.diverted == {"t.pipeline-events": batches}
    assert second.transport.Consumer.diverted == {}


async def test_a_delivery_cancelled_by_a_rebalance_is_dropped_not_raised() -> None:
    async def cleared_queue(message: object) -> None:
        raise asyncio.CancelledError  # what ThrowableQueue.clear does to a waiting put

    await fastpath._deliver(cleared_queue, object())  # returns: the record is read again later


async def test_a_stopping_fetch_loop_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def slow(message: object) -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.ensure_future(fastpath._deliver(slow, object()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_batches_hand_over_what_arrived_in_order_and_bound_the_fetch_loop() -> None:
    batches = fastpath.DirectBatches(max_batch=3, window=0.01, max_buffered=5)
    assert all(batches.offer(n) for n in range(5))
    assert batches.offer(5) is False  # full: the fetch loop awaits room()
    room = asyncio.ensure_future(batches.room())
    assert await batches.take() == [0, 1, 2]  # a full batch, at once
    await asyncio.wait_for(room, 1)
    assert batches.offer(5)
    assert await batches.take() == [3, 4, 5]
    waiting = asyncio.ensure_future(batches.take())
    await asyncio.sleep(0.005)
    assert not waiting.done()  # nothing arrived: take waits
    batches.offer(6)
    assert await asyncio.wait_for(waiting, 1) == [6]  # after the window, what there is
