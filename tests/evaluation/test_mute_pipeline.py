"""Muting through crash points, without Kafka: the expiry notification is published exactly once."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from streamalert.evaluation.mute import expiry_event_id
from streamalert.evaluation.state import event_id
from tests.evaluation.test_pipeline import TICK, World, alert, count, tick
from tests.fakes import CrashAfter, Killed

MUTED_ALERT = alert("a1", "web").model_copy(update={"muted_until": TICK + timedelta(minutes=10)})


def published(world: World) -> list[tuple[str, bool, str]]:
    return [
        (event["state"], event["muted"], event["event_id"])
        for event in (orjson.loads(value) for _, _, value in world.topic.events)
    ]


@pytest.mark.parametrize("crash_at_expiry", [False, True])
async def test_the_expiry_notification_is_published_once(crash_at_expiry: bool) -> None:
    world = World(MUTED_ALERT)
    count(world.subjects, "web", baseline=100, current=10)
    worker = world.worker()
    for minute in range(0, 10, 3):  # muted: one muted firing, however many ticks
        await tick(worker, "web", TICK + timedelta(minutes=minute))
    assert published(world) == [("firing", True, event_id("a1", 1, "firing"))]
    expired = TICK + timedelta(minutes=10)  # the first tick at muted_until
    if crash_at_expiry:
        world.topic.crash = CrashAfter(0)  # killed after the broker acknowledged, before persist
        with pytest.raises(Killed):
            await tick(worker, "web", expired)
        world.topic.crash = CrashAfter()
        state = world.state("a1")
        assert state is not None and state.muted_firing  # the state never learnt of it
        worker = world.worker()  # another worker takes the partition over
        await tick(worker, "web", expired)  # the replayed tick
    else:
        await tick(worker, "web", expired)
    for minute in range(11, 15):
        await tick(worker, "web", TICK + timedelta(minutes=minute))
    assert published(world) == [
        ("firing", True, event_id("a1", 1, "firing")),
        ("firing", False, expiry_event_id("a1", 1)),
    ]
    state = world.state("a1")
    assert state is not None and (state.incident, state.open, state.muted_firing) == (1, True, False)


async def test_a_muted_firing_published_before_a_crash_is_not_republished_unmuted() -> None:
    """Killed after publishing the muted firing; the alert is unmuted before the replay: the new
    owner adopts the muted firing from alert-fired and sends the expiry notification instead."""
    world = World(MUTED_ALERT)
    count(world.subjects, "web", baseline=100, current=10)
    world.topic.crash = CrashAfter(0)
    with pytest.raises(Killed):
        await tick(world.worker(), "web")
    assert world.state("a1") is None
    world.topic.crash = CrashAfter()
    world.configs.alerts = [MUTED_ALERT.model_copy(update={"muted_until": None, "version": 2})]
    restarted = world.worker()
    await tick(restarted, "web")
    await tick(restarted, "web", TICK + timedelta(minutes=1))
    assert published(world) == [
        ("firing", True, event_id("a1", 1, "firing")),
        ("firing", False, expiry_event_id("a1", 1)),
    ]


async def test_a_muted_resolve_is_published_once_across_a_crash() -> None:
    world = World(MUTED_ALERT)
    count(world.subjects, "web", baseline=100, current=10)
    await tick(world.worker(), "web")
    count(world.subjects, "web", baseline=100, current=100)
    world.topic.crash = CrashAfter(0)
    with pytest.raises(Killed):
        await tick(world.worker(), "web", TICK + timedelta(minutes=1))
    world.topic.crash = CrashAfter()
    restarted = world.worker()
    await tick(restarted, "web", TICK + timedelta(minutes=1))
    await tick(restarted, "web", TICK + timedelta(minutes=20))  # the mute ends while ok: nothing
    assert published(world) == [
        ("firing", True, event_id("a1", 1, "firing")),
        ("resolved", True, event_id("a1", 1, "resolved")),
    ]
