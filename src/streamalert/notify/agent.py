"""The notifier: delivers each alert-fired event to every channel of its alert.

Each (event, channel) delivery runs as its own task, so a slow or failing endpoint never
holds up another; sends in progress are bounded per channel type and in total
(`STREAMALERT_NOTIFY_CHANNEL_CONCURRENCY`, `STREAMALERT_NOTIFY_CONCURRENCY`), and so are the
events in progress, so a flood of events waits in Kafka, not in memory. An event is
acknowledged only once all its deliveries are final; Faust commits offsets up to the first
unacknowledged event, so after a crash the unfinished events come back, and the delivery log
skips the channels already done. A delivery that raises is tried a few times, then recorded as
failed (`pipeline.settle`). On a revoke, deliveries in progress get a deadline to finish
before the partition moves, so the next owner finds them in the delivery log.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

from faust import EventT, Stream, StreamT
from faust.types import TP
from pydantic import ValidationError

from streamalert.faust_context import HoleGuard
from streamalert.metrics import DELIVERIES, DELIVERIES_UNRECORDED, DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from streamalert.notify import integration_for, target_of
from streamalert.notify.base import utc_now
from streamalert.notify.inbox import SWEEP_INTERVAL
from streamalert.notify.pipeline import DEFAULT_POLICY, Limits, deliver, drain, longest_delivery, settle
from streamalert.records.alerts import AlertConfig, Channel
from streamalert.records.outputs import AlertFired, DeliveryAttempt
from streamalert.topic_view import TopicView, ViewLagging

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

log = logging.getLogger(__name__)

EVENTS_PER_SEND_SLOT = 4
"""Events in progress at most, per slot of STREAMALERT_NOTIFY_CONCURRENCY."""
REVOKE_DEADLINE = 10.0
"""Seconds (at most half the session timeout) a revoke waits for deliveries in progress."""


def register_notifier(wiring: StreamAlert) -> None:
    app, topics, settings = wiring.app, wiring.topics, wiring.settings
    configs, deliveries, inbox = wiring.config_view, wiring.delivery_log, wiring.inbox
    in_flight: dict[int, set[asyncio.Task[None]]] = defaultdict(set)
    delivering: set[tuple[str, str, str]] = set()  # (event, channel type, target) being delivered now
    synced: set[int] = set()  # partitions whose earlier deliveries this worker has read
    holes = HoleGuard(app, wiring.kafka)
    limits = Limits(settings.notify_concurrency, settings.notify_channel_concurrency)
    events_in_progress = asyncio.Semaphore(EVENTS_PER_SEND_SLOT * settings.notify_concurrency)
    unrecorded = 0  # deliveries given up on whose failure could not be written yet
    revoke_deadline = min(REVOKE_DEADLINE, settings.session_timeout / 2)
    # An event legitimately holds its offset for as long as its slowest delivery takes.
    wiring.agent_watch.expect("streamalert.notify", longest_delivery(DEFAULT_POLICY) + 60.0)
    wiring.readiness.add("deliveries_recordable", lambda: unrecorded == 0)

    def stalled(now_stalled: bool) -> None:
        nonlocal unrecorded
        unrecorded += 1 if now_stalled else -1
        DELIVERIES_UNRECORDED.set(unrecorded)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def reset_holes(app_: object, assigned: set[TP], **_: object) -> None:
        holes.forget()

    async def record(attempt: DeliveryAttempt) -> None:
        DELIVERY_ATTEMPTS.labels(attempt.channel.type, attempt.outcome).inc()
        await deliveries.record(attempt)

    async def deliver_to(event: AlertFired, channel: Channel) -> None:
        target = target_of(channel)
        key = (event.event_id, target.type, target.target)
        if deliveries.is_final(event.event_id, target) or key in delivering:
            return  # done before, or a redelivered copy of the event is already on it
        delivering.add(key)
        recorded = 0

        async def record_counted(attempt: DeliveryAttempt) -> None:
            nonlocal recorded
            await record(attempt)
            recorded = attempt.attempt

        async def run() -> DeliveryAttempt:
            integration = integration_for(
                channel, settings, append=inbox.append, public_url=settings.public_url
            )
            return await deliver(integration, event, target, record=record_counted, limits=limits)

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

        try:
            final = await settle(run, give_up, what=f"{event.event_id} to {target.type}", stalled=stalled)
        finally:
            delivering.discard(key)
        DELIVERIES.labels(target.type, final.outcome).inc()
        if final.outcome == "delivered":
            DELIVERY_LATENCY.labels(target.type).observe(
                max((final.at - event.occurred_at).total_seconds(), 0.0)
            )
        log_outcome = log.info if final.outcome == "delivered" else log.warning
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

    async def handle(stream: StreamT[bytes], message: EventT, event: AlertFired, alert: AlertConfig) -> None:
        # settle() never raises: each delivery ends recorded, delivered or failed.
        await asyncio.gather(*(deliver_to(event, channel) for channel in alert.channels))
        await stream.ack(message)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def finish_revoked(app_: object, revoked: set[TP], **_: object) -> None:
        # Deliveries in progress finish and are recorded before the partition moves, so the new
        # owner's delivery log skips them; only those still running at the deadline are
        # cancelled, and the new owner makes their remaining attempts.
        tasks: set[asyncio.Task[None]] = set()
        for tp in revoked:
            if tp.topic == topics.alert_fired.get_topic_name():
                synced.discard(tp.partition)
                tasks |= in_flight.pop(tp.partition, set())
        if tasks:
            log.info("revoke: waiting up to %.0f s for %d delivery task(s)", revoke_deadline, len(tasks))
        cancelled = await drain(tasks, revoke_deadline)
        if tasks:
            log.info(
                "revoke: %d delivery task(s) finished, %d cancelled after %.0f s",
                len(tasks) - cancelled,
                cancelled,
                revoke_deadline,
            )

    @app.timer(SWEEP_INTERVAL, on_leader=True, name="streamalert.inbox_sweep")
    async def sweep_inbox() -> None:
        # Workspaces that get no new notification still lose their old ones.
        removed = await inbox.sweep(utc_now())
        if removed:
            log.info("removed %d in-app notifications past their retention", removed)

    @app.agent(topics.alert_fired, name="streamalert.notify")
    async def notify(stream: StreamT[bytes]) -> AsyncIterator[None]:
        # Deliveries made before a restart must be known before anything is delivered again.
        await deliveries.wait_loaded()
        await configs.wait_loaded()
        manual = cast(Stream[bytes], stream).noack()  # on Faust's Stream, not on StreamT
        async for message in manual.events():
            if not await holes.admit(message):
                continue  # read again after a hole; left unacknowledged, so nothing commits past it
            try:
                event = AlertFired.model_validate_json(message.value)
            except ValidationError:
                log.error(
                    "alert-fired[%d]@%d is not an alert-fired event; skipped",
                    message.message.partition,
                    message.message.offset,
                )
                await manual.ack(message)
                continue
            partition = message.message.partition
            if partition not in synced:
                # Taken over from another worker: see everything it recorded before delivering.
                await _until_synced(deliveries)
                synced.add(partition)
            if deliveries.forgets(event.occurred_at, utc_now()):
                # Its delivery records may be gone: sending now could repeat a delivery.
                log.warning(
                    "event %s of alert %s occurred at %s, before what the delivery log remembers; "
                    "not delivered",
                    event.event_id,
                    event.alert_id,
                    event.occurred_at.isoformat(),
                )
                await manual.ack(message)
                continue
            alert = configs.get(event.alert_id)
            if alert is None:
                await _until_synced(configs)  # created on another worker a moment ago?
                alert = configs.get(event.alert_id)
            if alert is None:
                log.info(
                    "alert %s was deleted before event %s was delivered; nothing sent",
                    event.alert_id,
                    event.event_id,
                )
                await manual.ack(message)
                continue
            await events_in_progress.acquire()
            task = asyncio.ensure_future(handle(manual, message, event, alert))
            task.add_done_callback(lambda _: events_in_progress.release())
            in_flight[partition].add(task)
            task.add_done_callback(in_flight[partition].discard)
            yield None


async def _until_synced(view: TopicView) -> None:
    while True:
        try:
            await view.sync()
            return
        except ViewLagging:
            log.warning("waiting for the view of %s to catch up", view.topic)
