"""The notification pipeline through crash points, without Kafka: no delivery repeats."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import orjson
import pytest

from streamalert.notify.base import SendResult
from streamalert.notify.notifier import Notifier
from streamalert.notify.pipeline import UNLIMITED, RetryPolicy, SettlePolicy
from streamalert.records.alerts import AlertConfig
from streamalert.records.outputs import AlertFired
from tests.fakes import (
    CrashAfter,
    Killed,
    MemoryAlertConfigs,
    MemoryDeliveryLog,
    MemoryFired,
    Vendor,
    kill,
    run_notifier,
)
from tests.notify.servers import change_event

ALERT = AlertConfig.model_validate(
    {
        "id": "alert-src-volume",
        "workspace_id": "ws-1",
        "kind": "source_volume",
        "source_id": "src-orders",
        "name": "Orders source volume",
        "threshold_pct": 4,
        "channels": [
            {"type": "in_app"},
            {"type": "email", "address": "oncall@example.com"},
            {"type": "pagerduty", "integration_key": "a" * 32},
        ],
        "created_by": {"user_id": "u", "name": "U"},
        "created_at": "2026-11-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
    }
)
FIRING, RESOLVED = change_event("firing"), change_event("resolved")


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


class World:
    """What outlives a worker: the topics, the alert configs and the vendors."""

    def __init__(self, *events: AlertFired) -> None:
        self.log = MemoryDeliveryLog()
        self.configs = MemoryAlertConfigs({ALERT.id: ALERT})
        self.vendor = Vendor()
        self.source = MemoryFired([orjson.dumps(e.model_dump(mode="json", by_alias=True)) for e in events])

    def worker(self) -> Notifier:
        return Notifier(
            self.configs,
            self.log,
            self.vendor.integration,
            UNLIMITED,
            events_in_progress=8,
            policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01),
            settle_policy=SettlePolicy(max_tries=2, base_pause=0.0),
            sleep=no_sleep,
        )

    def sends(self) -> Counter[tuple[str, str]]:
        return Counter(self.vendor.sends)


EVERY_CHANNEL = {(e.event_id, c.type) for e in (FIRING, RESOLVED) for c in ALERT.channels}


async def test_each_channel_gets_each_event_once_and_events_are_acked_after() -> None:
    world = World(FIRING, RESOLVED)
    await run_notifier(world.worker(), world.source)
    assert world.sends() == Counter(EVERY_CHANNEL)
    assert world.source.committed == 2
    assert {a.outcome for a in world.log.attempts} == {"delivered"}


async def test_killed_after_recording_before_the_commit_repeats_nothing() -> None:
    world = World(FIRING, RESOLVED)
    await run_notifier(world.worker(), world.source)
    world.source.acked.clear()
    world.source.committed = 0  # the offsets never reached Kafka
    await run_notifier(world.worker(), world.source)
    assert world.sends() == Counter(EVERY_CHANNEL)
    assert world.source.committed == 2


@pytest.mark.parametrize("recorded_before_kill", [0, 1, 2])
async def test_killed_after_a_send_before_its_record_repeats_only_that_send(
    recorded_before_kill: int,
) -> None:
    # The one window docs/design.md#notification names: the vendor accepted a send whose record
    # never reached `deliveries`. Only such sends are made again; the recorded ones are not.
    world = World(FIRING)
    world.log.crash = CrashAfter(recorded_before_kill)
    dead = world.worker()
    with pytest.raises(Killed):
        await run_notifier(dead, world.source)
    await kill(dead)
    assert world.source.committed == 0
    recorded = {a.channel.type for a in world.log.attempts}
    sent = {channel for _, channel in world.vendor.sends}
    assert len(recorded) == recorded_before_kill and recorded < sent
    world.log.crash = CrashAfter()
    await run_notifier(world.worker(), world.source)
    channels = [c.type for c in ALERT.channels]
    assert world.sends() == Counter(
        {(FIRING.event_id, c): 2 if c in sent - recorded else 1 for c in channels}
    )
    assert world.source.committed == 1
    assert all(world.log.is_final(FIRING.event_id, a.channel) for a in world.log.attempts)


async def test_a_retried_delivery_is_sent_once_and_every_attempt_recorded() -> None:
    world = World(FIRING)
    world.vendor.results["email"] = [SendResult.failure("busy", retryable=True, status_code=503)]
    await run_notifier(world.worker(), world.source)
    assert world.sends() == Counter({(FIRING.event_id, c.type) for c in ALERT.channels})
    email = [a.outcome for a in world.log.attempts if a.channel.type == "email"]
    assert email == ["retrying", "delivered"]


async def test_a_redelivered_copy_of_an_event_in_progress_sends_nothing_more() -> None:
    world = World(FIRING, FIRING)
    world.vendor.gate = asyncio.Event()
    worker = world.worker()
    run = asyncio.create_task(run_notifier(worker, world.source))
    await asyncio.sleep(0.01)
    world.vendor.gate.set()
    await run
    assert world.sends() == Counter({(FIRING.event_id, c.type) for c in ALERT.channels})
    assert world.source.committed == 2


async def test_a_revoke_waits_for_deliveries_in_progress_and_the_next_owner_skips_them() -> None:
    world = World(FIRING)
    world.vendor.gate = asyncio.Event()
    old = world.worker()
    run = asyncio.create_task(run_notifier(old, world.source))
    await asyncio.sleep(0.01)
    revoke = asyncio.create_task(old.revoked({0}, deadline=5.0))
    await asyncio.sleep(0.01)
    assert not revoke.done()
    world.vendor.gate.set()
    await asyncio.gather(run, revoke)
    world.source.acked.clear()
    world.source.committed = 0  # the new owner starts from what was committed before the move
    await run_notifier(world.worker(), world.source)
    assert world.sends() == Counter({(FIRING.event_id, c.type) for c in ALERT.channels})


async def test_deliveries_cut_off_by_the_revoke_deadline_are_left_to_the_next_owner() -> None:
    world = World(FIRING)
    world.vendor.gate = asyncio.Event()
    old = world.worker()
    run = asyncio.create_task(run_notifier(old, world.source))
    await asyncio.sleep(0.01)
    await old.revoked({0}, deadline=0.01)
    with pytest.raises(asyncio.CancelledError):
        await run
    assert world.source.committed == 0 and world.vendor.sends == []
    world.vendor.gate.set()
    await run_notifier(world.worker(), world.source)
    assert world.sends() == Counter({(FIRING.event_id, c.type) for c in ALERT.channels})
    assert world.source.committed == 1


@pytest.mark.parametrize(
    "case",
    ["malformed", "deleted alert", "older than the delivery log remembers"],
)
async def test_events_not_to_deliver_are_acked_without_a_send(case: str) -> None:
    world = World(FIRING)
    if case == "malformed":
        world.source.values[0] = b'{"event_id": 1}'
    elif case == "deleted alert":
        world.configs.alerts.clear()
    else:
        world.log.forget_before = FIRING.occurred_at + timedelta(seconds=1)
    await run_notifier(world.worker(), world.source)
    assert world.vendor.sends == [] and world.log.attempts == []
    assert world.source.committed == 1
