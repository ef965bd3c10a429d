"""The notifier with muted events, without Kafka: who is sent what, and the `muted` records."""

from __future__ import annotations

import orjson
import pytest

from streamalert.evaluation.mute import expiry_event_id
from streamalert.notify import target_of
from streamalert.records.outputs import AlertFired
from tests.fakes import CrashAfter, Killed, run_notifier
from tests.notify.servers import change_event
from tests.notify.test_notifier import ALERT, World

EXPIRY = change_event("firing", event_id=expiry_event_id(ALERT.id, 1))
CHANNELS = [channel.type for channel in ALERT.channels]


def world_of(*events: AlertFired) -> World:
    world = World()
    world.source.values = [orjson.dumps(e.model_dump(mode="json", by_alias=True)) for e in events]
    return world


@pytest.mark.parametrize(
    ("events", "sent"),
    [
        pytest.param([change_event("firing", muted=True)], [], id="muted firing"),
        pytest.param(
            [change_event("firing", muted=True), change_event("resolved", muted=True)],
            [],
            id="muted resolve of a muted firing",
        ),
        pytest.param(
            [change_event("firing"), change_event("resolved", muted=True)],
            ["firing", "resolved"],
            id="muted resolve of a notified firing",
        ),
        pytest.param(
            [change_event("firing", muted=True), EXPIRY, change_event("resolved")],
            ["expiry", "resolved"],
            id="expiry then resolve",
        ),
        pytest.param(
            [change_event("firing", muted=True), EXPIRY, change_event("resolved", muted=True)],
            ["expiry", "resolved"],
            id="expiry then a muted resolve",
        ),
    ],
)
async def test_what_each_channel_is_sent(events: list[AlertFired], sent: list[str]) -> None:
    world = world_of(*events)
    await run_notifier(world.worker(), world.source)
    names = {e.event_id: ("expiry" if e.event_id == EXPIRY.event_id else e.state) for e in events}
    assert sorted(world.vendor.sends) == sorted(
        (event.event_id, channel) for event in events if names[event.event_id] in sent for channel in CHANNELS
    )
    assert world.source.committed == len(events)  # every event acknowledged
    # Every channel of every event ends final: delivered, or recorded as muted with no send.
    for event in events:
        outcomes = {a.channel.type: a.outcome for a in world.log.attempts if a.event_id == event.event_id}
        expected = "delivered" if names[event.event_id] in sent else "muted"
        assert outcomes == dict.fromkeys(CHANNELS, expected)


async def test_a_muted_record_is_not_written_twice_after_a_crash() -> None:
    muted = change_event("firing", muted=True)
    world = world_of(muted)
    world.log.crash = CrashAfter(1)  # killed after the first channel's muted record
    with pytest.raises(Killed):
        await run_notifier(world.worker(), world.source)
    world.log.crash = CrashAfter()
    await run_notifier(world.worker(), world.source)
    assert world.vendor.sends == []
    recorded = [(a.channel, a.outcome) for a in world.log.attempts]
    assert sorted(r[0].type for r in recorded) == sorted(CHANNELS)
    assert {outcome for _, outcome in recorded} == {"muted"}
    assert all(world.log.is_final(muted.event_id, target_of(c)) for c in ALERT.channels)
