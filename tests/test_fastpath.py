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
    monkeypatch.setitem(fastpath.PATCHED, "faust.streams.Stream.take_events", "0" * 64)
    with pytest.raises(fastpath.FaustChanged, match="take_events"):
        fastpath.check_faust()


def test_install_gives_each_app_its_own_consumer_class_and_listeners() -> None:
    first, second = faust.App("fastpath-a"), faust.App("fastpath-b")
    listeners_a, listeners_b = fastpath.install(first), fastpath.install(second)
    assert listeners_a is not listeners_b
    assert issubclass(first.transport.Consumer, fastpath.FastDrainConsumer)
    assert first.transport.Consumer.revoke_listeners is listeners_a
    assert second.transport.Consumer.revoke_listeners is listeners_b


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
