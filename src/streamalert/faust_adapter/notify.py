"""The notifier agent: `alert-fired` records from Faust, acknowledged by hand, fed to `Notifier`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import Any, cast

import faust
from faust import Stream, StreamT
from faust.types import TP

from streamalert.alerts.view import ConfigView
from streamalert.faust_adapter.internals import HoleGuard
from streamalert.notify import integration_for
from streamalert.notify.base import Integration, utc_now
from streamalert.notify.inbox import SWEEP_INTERVAL, Inbox
from streamalert.notify.log import DeliveryLog
from streamalert.notify.notifier import EVENTS_PER_SEND_SLOT, Notifier
from streamalert.notify.pipeline import DEFAULT_POLICY, Limits, longest_delivery
from streamalert.records.alerts import Channel
from streamalert.settings import Settings
from streamalert.supervision import AgentWatch
from streamalert.web.readiness import Readiness

log = logging.getLogger(__name__)

REVOKE_DEADLINE = 10.0
"""Seconds (at most half the session timeout) a revoke waits for deliveries in progress."""


def register_notifier(
    app: faust.App,
    alert_fired: faust.TopicT,
    settings: Settings,
    configs: ConfigView,
    deliveries: DeliveryLog,
    inbox: Inbox,
    kafka: Mapping[str, Any],
    agent_watch: AgentWatch,
    readiness: Readiness,
) -> None:
    holes = HoleGuard(app, kafka)

    def integration(channel: Channel) -> Integration:
        return integration_for(channel, settings, append=inbox.append, public_url=settings.public_url)

    notifier = Notifier(
        configs,
        deliveries,
        integration,
        Limits(settings.notify_concurrency, settings.notify_channel_concurrency),
        events_in_progress=EVENTS_PER_SEND_SLOT * settings.notify_concurrency,
    )
    revoke_deadline = min(REVOKE_DEADLINE, settings.session_timeout / 2)
    # An event legitimately holds its offset for as long as its slowest delivery takes.
    agent_watch.expect("streamalert.notify", longest_delivery(DEFAULT_POLICY) + 60.0)
    readiness.add("deliveries_recordable", lambda: notifier.unrecorded == 0)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def reset_holes(app_: object, assigned: set[TP], **_: object) -> None:
        holes.forget()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types receivers loosely
    async def finish_revoked(app_: object, revoked: set[TP], **_: object) -> None:
        fired = alert_fired.get_topic_name()
        await notifier.revoked({tp.partition for tp in revoked if tp.topic == fired}, revoke_deadline)

    @app.timer(SWEEP_INTERVAL, on_leader=True, name="streamalert.inbox_sweep")
    async def sweep_inbox() -> None:
        # Workspaces that get no new notification still lose their old ones.
        removed = await inbox.sweep(utc_now())
        if removed:
            log.info("removed %d in-app notifications past their retention", removed)

    @app.agent(alert_fired, name="streamalert.notify")
    async def notify(stream: StreamT[bytes]) -> AsyncIterator[None]:
        # Deliveries made before a restart must be known before anything is delivered again.
        await deliveries.wait_loaded()
        await configs.wait_loaded()
        manual = cast(Stream[bytes], stream).noack()  # on Faust's Stream, not on StreamT
        async for message in manual.events():
            if not await holes.admit(message):
                continue  # read again after a hole; left unacknowledged, so nothing commits past it
            partition = message.message.partition
            accepted = await notifier.accept(partition, message.message.offset, message.value)
            if accepted is None:
                await manual.ack(message)
                continue
            event, alert = accepted
            await notifier.submit(partition, event, alert, partial(manual.ack, message))
            yield None
