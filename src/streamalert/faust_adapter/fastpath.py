"""A Faust consumer without the per-message task dance, installed by `install`.

Faust's fetch loop (`faust.transport.consumer.Consumer._drain_messages`) hands every record to
the conductor through `wait_first(callback(message), suspend_flow.wait())`: four tasks, an
`asyncio.wait` and three cancellations per record, 35 to 40 µs of a bare agent's ~100 µs. It exists
to abandon a delivery when a rebalance suspends the flow. `FastDrainConsumer` awaits the
delivery directly while the flow is active and keeps Faust's own path while it is suspended; a
delivery that a rebalance cancels (Faust clears the stream queues) is dropped as Faust would
drop it, and `HoleGuard` reads the record again.

`FastDrainConsumer` also tells the counting write-back of a revoke before Faust forgets the
revoked partitions' acknowledgements (`on_revoke`), so a flush in flight cannot acknowledge a
record of a partition this worker no longer owns.

This is the one place that copies Faust code. `PATCHED` records the hash of every Faust
function it replaces or relies on; `check_faust` (called by `install`, and by
tests/test_fastpath.py) refuses to run on any other version of them, so an upgrade of
faust-streaming fails loudly instead of running a stale copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import faust
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service, ServiceT

# sha256 of the source of each Faust function this module replaces or whose behaviour it assumes.
PATCHED: dict[str, str] = {
    "faust.transport.consumer.Consumer._drain_messages": "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417",
    "faust.transport.consumer.Consumer.on_partitions_revoked": "d04b7ae72c6fc206924a2879d6c90dd383f3e8ba6f4b10a19ca99a921eb8f4db",
    "faust.transport.consumer.Consumer.ack": "5fcf41cf45153475de3790dc56fec1b83335956dc8b3bf7ff6bbb2b57627f03f",
    "faust.streams.Stream.take_events": "607d48aead118ba8ea868718a0df87de1c5fcecd10ec542c659b448796728e08",
    "faust.types.tuples.Message.ack": "4751b72c4ed84153a7b6c14fdfe41cc92e477b38a6c6089cb785532ef5771688",
}


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


def source_hash(dotted: str) -> str:
    return hashlib.sha256(inspect.getsource(_resolve(dotted)).encode()).hexdigest()


class FaustChanged(RuntimeError):
    """The installed faust-streaming is not the one this module was written against."""


def check_faust() -> None:
    changed = [name for name, digest in PATCHED.items() if source_hash(name) != digest]
    if changed:
        raise FaustChanged(
            "faust-streaming changed functions streamalert.faust_adapter.fastpath copies or relies "
            f"on: {', '.join(changed)}; review the module against the new code, then update PATCHED"
        )


RevokeListener = Callable[[set[TP]], None]


class FastDrainConsumer(faust_aiokafka.Consumer):
    # Set per app by `install` (a subclass each), since Faust creates the consumer lazily.
    revoke_listeners: list[RevokeListener] = []

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        # Before Faust drops the revoked partitions' acks: nothing may be acked for them after.
        for listener in self.revoke_listeners:
            listener(revoked)
        await super().on_partitions_revoked(revoked)

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # noqa: C901 - Faust's loop, kept as it is
        # Faust 0.15.3's loop, line for line, but for the delivery (marked "streamalert").
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        flow_suspended = self.suspend_flow.is_set  # streamalert

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(AsyncIterator[Any], getmany(timeout=1.0))
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:  # noqa: SIM102 - Faust's lines
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            # streamalert: direct while the flow is active.
                            if flow_suspended():
                                await self.wait_first(callback(message), self.suspend_flow.wait())
                            else:
                                await _deliver(callback, message)
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r", offset)
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


async def _deliver(callback: Callable[[Any], Any], message: Any) -> None:
    try:
        await callback(message)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the fetch loop itself is stopping
        # A rebalance cleared the stream queue this delivery waited on: dropped, as Faust's own
        # path drops it; HoleGuard reads it again.


def install(app: faust.App) -> list[RevokeListener]:
    """Make `app` create a `FastDrainConsumer`; call before the app starts.

    Returns the list of revoke listeners: each is called with the revoked partitions at a
    revoke, before Faust forgets their acknowledgements."""
    check_faust()
    listeners: list[RevokeListener] = []
    # Transport.Consumer is a class attribute Faust reads when it creates the consumer.
    consumer_class = type("FastDrainConsumer", (FastDrainConsumer,), {"revoke_listeners": listeners})
    app.transport.Consumer = consumer_class  # type: ignore[misc]
    return listeners
