"""The notifier: delivers each alert-fired event to every channel of its alert.

Each (event, channel) delivery runs as its own task, so a slow or failing endpoint never
holds up another. An event is acknowledged only once all its deliveries are final; Faust
commits offsets up to the first unacknowledged event, so after a crash the unfinished
events come back, and the delivery log skips the channels already done.
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
from streamalert.metrics import DELIVERIES, DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from streamalert.notify import integration_for, target_of
from streamalert.notify.pipeline import deliver
from streamalert.records.alerts import AlertConfig, Channel
from streamalert.records.outputs import AlertFired, DeliveryAttempt
from streamalert.topic_view import TopicView, ViewLagging

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

log = logging.getLogger(__name__)


def register_notifier(wiring: StreamAlert) -> None:
    app, topics, settings = wiring.app, wiring.topics, wiring.settings
    configs, deliveries, inbox = wiring.config_view, wiring.delivery_log, wiring.inbox
    in_flight: dict[int, set[asyncio.Task[None]]] = defaultdict(set)
    delivering: set[tuple[str, str, str]] = set()  # (event, channel type, target) being delivered now
    synced: set[int] = set()  # partitions whose earlier deliveries this worker has read
    holes = HoleGuard(app, wiring.kafka)

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
        try:
            integration = integration_for(
                channel, settings, append=inbox.append, public_url=settings.public_url
            )
            final = await deliver(integration, event, target, record=record)
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
        pause = 1.0
        while True:
            try:
                await asyncio.gather(*(deliver_to(event, channel) for channel in alert.channels))
                break
            except Exception:
                # e.g. the delivery log could not be written: try again (what is final is skipped).
                log.exception("delivering %s failed; retrying in %.0f s", event.event_id, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)
        await stream.ack(message)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def stop_revoked(app_: object, revoked: set[TP], **_: object) -> None:
        # The new owner redelivers what is unfinished; racing it would deliver twice.
        for tp in revoked:
            if tp.topic == topics.alert_fired.get_topic_name():
                synced.discard(tp.partition)
                for task in in_flight.pop(tp.partition, set()):
                    task.cancel()

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
            task = asyncio.ensure_future(handle(manual, message, event, alert))
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
