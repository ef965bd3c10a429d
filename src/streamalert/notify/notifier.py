"""The notification pipeline, read top to bottom: dedup → fan-out → retry → record → ack.

A source (`streamalert.faust_adapter.notify` in the worker, `tests/fakes.py` in tests) hands each
`alert-fired` record to `accept`, in offset order per partition, past the hole guard. Each
(event, channel) delivery runs as its own task, so a slow or failing endpoint never holds up
another; sends in progress are bounded per channel type and in total (`Limits`), and so are the
events in progress, so a flood of events waits in Kafka, not in memory. An event is acknowledged
only once all its deliveries are final; the source commits up to the first unacknowledged
event, so after a crash the unfinished events come back and the delivery log skips the channels
already done. On a revoke, deliveries in progress get a deadline to finish before the partition
moves, so the next owner finds them in the delivery log. A muted event is recorded as `muted`
for each channel it is not sent to (`evaluation.mute.channel_action`). See
docs/design.md#notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from streamalert.evaluation.mute import channel_action, expiry_event_id
from streamalert.evaluation.state import event_id
from streamalert.metrics import DELIVERIES, DELIVERIES_UNRECORDED, DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from streamalert.notify import target_of
from streamalert.notify.base import Integration, utc_now
from streamalert.notify.pipeline import (
    DEFAULT_POLICY,
    DEFAULT_SETTLE,
    Limits,
    RetryPolicy,
    SettlePolicy,
    Sleep,
    deliver,
    drain,
    settle,
)
from streamalert.records.alerts import AlertConfig, Channel
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget
from streamalert.topic_view import ViewLagging

log = logging.getLogger(__name__)

EVENTS_PER_SEND_SLOT = 4
"""Events in progress at most, per slot of STREAMALERT_NOTIFY_CONCURRENCY."""

Ack = Callable[[], Awaitable[object]]


class Synced(Protocol):
    """A view of a topic that can catch up with everything written to it so far."""

    topic: str

    async def sync(self, timeout: float = 10.0) -> None: ...


class DeliveryRecords(Synced, Protocol):
    """The `deliveries` topic as every worker sees it (`notify.log.DeliveryLog`)."""

    def is_final(self, event_id: str, channel: MaskedTarget) -> bool: ...

    def was_delivered(self, event_id: str, channel: MaskedTarget) -> bool: ...

    def forgets(self, occurred_at: datetime, now: datetime) -> bool: ...

    async def record(self, attempt: DeliveryAttempt) -> None: ...


class AlertConfigs(Synced, Protocol):
    """The alert-configs view."""

    def get(self, alert_id: str) -> AlertConfig | None: ...


async def until_synced(view: Synced) -> None:
    while True:
        try:
            await view.sync()
            return
        except ViewLagging:
            log.warning("waiting for the view of %s to catch up", view.topic)


class Notifier:
    def __init__(
        self,
        configs: AlertConfigs,
        deliveries: DeliveryRecords,
        integration_for: Callable[[Channel], Integration],
        limits: Limits,
        *,
        events_in_progress: int,
        policy: RetryPolicy = DEFAULT_POLICY,
        settle_policy: SettlePolicy = DEFAULT_SETTLE,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.configs, self.deliveries, self.integration_for = configs, deliveries, integration_for
        self.limits, self.policy, self.settle_policy, self.sleep = limits, policy, settle_policy, sleep
        self.events_in_progress = asyncio.Semaphore(events_in_progress)
        self.in_flight: dict[int, set[asyncio.Task[None]]] = defaultdict(set)
        self.delivering: set[tuple[str, str, str]] = set()  # (event, channel type, target) now
        self.synced: set[int] = set()  # partitions whose earlier deliveries this worker has read
        self.unrecorded = 0  # deliveries given up on whose failure could not be written yet

    # --- stage 1, dedup: what is not to be delivered at all --------------------------------

    async def accept(
        self, partition: int, offset: int, value: bytes | None
    ) -> tuple[AlertFired, AlertConfig] | None:
        """The event and its alert, or None when nothing is to be delivered (ack it at once)."""
        try:
            event = AlertFired.model_validate_json(value or b"")
        except ValidationError:
            log.error("alert-fired[%d]@%d is not an alert-fired event; skipped", partition, offset)
            return None
        if partition not in self.synced:
            # Taken over from another worker: see everything it recorded before delivering.
            await until_synced(self.deliveries)
            self.synced.add(partition)
        if self.deliveries.forgets(event.occurred_at, utc_now()):
            # Its delivery records may be gone: sending now could repeat a delivery.
            log.warning(
                "event %s of alert %s occurred at %s, before what the delivery log remembers; not delivered",
                event.event_id,
                event.alert_id,
                event.occurred_at.isoformat(),
            )
            return None
        alert = self.configs.get(event.alert_id)
        if alert is None:
            await until_synced(self.configs)  # created on another worker a moment ago?
            alert = self.configs.get(event.alert_id)
        if alert is None:
            log.info(
                "alert %s was deleted before event %s was delivered; nothing sent",
                event.alert_id,
                event.event_id,
            )
        return (event, alert) if alert is not None else None

    # --- stage 2, fan-out: one task per event, one delivery per channel ---------------------

    async def submit(self, partition: int, event: AlertFired, alert: AlertConfig, ack: Ack) -> None:
        """Start delivering; returns once the event is in progress (waits while too many are)."""
        await self.events_in_progress.acquire()
        task = asyncio.ensure_future(self.deliver_event(event, alert, ack))
        task.add_done_callback(lambda _: self.events_in_progress.release())
        self.in_flight[partition].add(task)
        task.add_done_callback(self.in_flight[partition].discard)

    async def deliver_event(self, event: AlertFired, alert: AlertConfig, ack: Ack) -> None:
        # settle() never raises: each delivery ends recorded, delivered or failed.
        await asyncio.gather(*(self.deliver_to(event, channel) for channel in alert.channels))
        await ack()  # stage 5: only once every channel is final

    # --- stages 3 and 4, retry and record, per channel ---------------------------------------

    async def deliver_to(self, event: AlertFired, channel: Channel) -> None:
        target = target_of(channel)
        key = (event.event_id, target.type, target.target)
        if self.deliveries.is_final(event.event_id, target) or key in self.delivering:
            return  # done before, or a redelivered copy of the event is already on it
        self.delivering.add(key)
        try:
            send = channel_action(event, self._received_firing(event, target)) == "send"
            final = await self._settle(event, channel, target, send)
        finally:
            self.delivering.discard(key)
        _observe(event, target, final)

    def _received_firing(self, event: AlertFired, target: MaskedTarget) -> bool:
        """The delivery log shows `target` received this incident's firing or its expiry notification."""
        return any(
            self.deliveries.was_delivered(firing, target)
            for firing in (
                event_id(event.alert_id, event.incident, "firing"),
                expiry_event_id(event.alert_id, event.incident),
            )
        )

    async def _settle(
        self, event: AlertFired, channel: Channel, target: MaskedTarget, send: bool
    ) -> DeliveryAttempt:
        recorded = 0

        async def record(attempt: DeliveryAttempt) -> None:
            nonlocal recorded
            DELIVERY_ATTEMPTS.labels(attempt.channel.type, attempt.outcome).inc()
            await self.deliveries.record(attempt)
            recorded = attempt.attempt

        async def run() -> DeliveryAttempt:
            if not send:
                muted = DeliveryAttempt(
                    event_id=event.event_id,
                    alert_id=event.alert_id,
                    channel=target,
                    attempt=1,
                    outcome="muted",
                    at=utc_now(),
                )
                await record(muted)
                return muted
            integration = self.integration_for(channel)
            return await deliver(
                integration,
                event,
                target,
                record=record,
                limits=self.limits,
                policy=self.policy,
                sleep=self.sleep,
            )

        async def give_up(reason: str) -> DeliveryAttempt:
            failed = DeliveryAttempt(
                event_id=event.event_id,
                alert_id=event.alert_id,
                channel=target,
                attempt=recorded + 1,
                outcome="failed",
                error=reason,
                at=utc_now(),
            )
            await record(failed)
            return failed

        return await settle(
            run,
            give_up,
            what=f"{event.event_id} to {target.type}",
            policy=self.settle_policy,
            sleep=self.sleep,
            stalled=self._stalled,
        )

    def _stalled(self, now_stalled: bool) -> None:
        self.unrecorded += 1 if now_stalled else -1
        DELIVERIES_UNRECORDED.set(self.unrecorded)

    # --- rebalance ---------------------------------------------------------------------------

    async def revoked(self, partitions: set[int], deadline: float) -> None:
        """Deliveries in progress finish and are recorded before the partitions move, so the new
        owner's delivery log skips them; only those still running at the deadline are cancelled,
        and the new owner makes their remaining attempts."""
        tasks: set[asyncio.Task[None]] = set()
        for partition in partitions:
            self.synced.discard(partition)
            tasks |= self.in_flight.pop(partition, set())
        if tasks:
            log.info("revoke: waiting up to %.0f s for %d delivery task(s)", deadline, len(tasks))
        cancelled = await drain(tasks, deadline)
        if tasks:
            log.info(
                "revoke: %d delivery task(s) finished, %d cancelled after %.0f s",
                len(tasks) - cancelled,
                cancelled,
                deadline,
            )


def _observe(event: AlertFired, target: MaskedTarget, final: DeliveryAttempt) -> None:
    DELIVERIES.labels(target.type, final.outcome).inc()
    if final.outcome == "delivered":
        DELIVERY_LATENCY.labels(target.type).observe(max((final.at - event.occurred_at).total_seconds(), 0.0))
    log_outcome = log.info if final.outcome in ("delivered", "muted") else log.warning
    log_outcome(
        "delivery %s of alert %s %s to %s %s: %s after %d attempt(s)%s",
        event.event_id,
        event.alert_id,
        event.state,
        target.type,
        target.target,
        final.outcome,
        final.attempt,
        f" ({final.error})" if final.error else "",
    )
