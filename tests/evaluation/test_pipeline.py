"""The evaluation pipeline through crash points, without Kafka: each transition published once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from streamalert.counting.buckets import apply
from streamalert.evaluation.pipeline import EvaluationPipeline, PartitionIndex, parse_tick
from streamalert.evaluation.state import AlertState
from streamalert.ingest.validation import home_partition
from streamalert.kinds import KINDS
from streamalert.records import AlertConfig, SourceEvents
from tests.fakes import CrashAfter, Killed, MemoryAlertFired, MemoryConfigs, MemoryPublishedIndex, MemoryStore

PARTITIONS = 4
H = datetime(2026, 11, 28, 9, tzinfo=UTC)
TICK = H + timedelta(minutes=3)


def alert(alert_id: str, source: str, enabled: bool = True) -> AlertConfig:
    return AlertConfig.model_validate(
        {
            "id": alert_id,
            "workspace_id": "w",
            "kind": "source_volume",
            "source_id": source,
            "name": "n",
            "threshold_pct": 20,
            "enabled": enabled,
            "channels": [{"type": "in_app"}],
            "created_by": {"user_id": "u", "name": "U"},
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
    )


def count(store: MemoryStore, source: str, baseline: int, current: int) -> None:
    """Write the subject's state: `baseline` events 30 h before H, `current` 2 h before."""
    records = [
        SourceEvents(type="source_events", workspace_id="w", source_id=source, timestamp=at, count=n)
        for at, n in ((H - timedelta(hours=30), baseline), (H - timedelta(hours=2), current))
    ]
    key = KINDS["source_volume"].key("w", source)
    store.data[key.encode()] = apply(None, "events", list(enumerate(records)), H).to_bytes()


class World:
    """The stores and topic one worker group shares; each `worker()` is a fresh process."""

    def __init__(self, *alerts: AlertConfig) -> None:
        self.subjects, self.states = MemoryStore(), MemoryStore()
        self.topic = MemoryAlertFired()
        self.configs = MemoryConfigs(list(alerts))

    def worker(self) -> EvaluationPipeline:
        return EvaluationPipeline(
            subjects=self.subjects,
            states=self.states,
            configs=self.configs,
            published=MemoryPublishedIndex(self.topic),
            publisher=self.topic,
            index=PartitionIndex(PARTITIONS),
            stale_after=timedelta(seconds=15),
        )

    def state(self, alert_id: str) -> AlertState | None:
        raw = self.states.get(alert_id.encode())
        return AlertState.from_bytes(raw) if raw is not None else None


def home(source: str) -> int:
    return home_partition(source.encode(), PARTITIONS)


async def tick(worker: EvaluationPipeline, source: str, at: datetime = TICK) -> bool:
    return await worker.on_tick(home(source), at, at)


async def test_a_firing_alert_publishes_once_over_many_ticks() -> None:
    world = World(alert("a1", "web"))
    count(world.subjects, "web", baseline=100, current=10)
    worker = world.worker()
    for minute in range(5):
        await tick(worker, "web", TICK + timedelta(minutes=minute))
    assert [(p, k) for p, k, _ in world.topic.events] == [(home("web"), b"a1")]
    state = world.state("a1")
    assert state is not None and (state.status, state.incident, state.open) == ("firing", 1, True)


async def test_killed_after_publish_before_persist_publishes_nothing_twice() -> None:
    world = World(alert("a1", "web"))
    count(world.subjects, "web", baseline=100, current=10)
    world.topic.crash = CrashAfter(0)
    with pytest.raises(Killed):
        await tick(world.worker(), "web")
    assert len(world.topic.events) == 1 and world.state("a1") is None
    world.topic.crash = CrashAfter()
    restarted = world.worker()  # takes the partition over: reads alert-fired first
    await tick(restarted, "web")  # the replayed tick
    await tick(restarted, "web", TICK + timedelta(minutes=1))
    assert len(world.topic.events) == 1
    state = world.state("a1")
    assert state is not None and (state.incident, state.open) == (1, True)
    # It resolves once, and a crash after that publish repeats nothing either.
    count(world.subjects, "web", baseline=100, current=100)
    world.topic.crash = CrashAfter(0)
    with pytest.raises(Killed):
        await tick(restarted, "web", TICK + timedelta(minutes=2))
    world.topic.crash = CrashAfter()
    await tick(world.worker(), "web", TICK + timedelta(minutes=2))
    states = [value for _, _, value in world.topic.events]
    assert len(states) == 2 and b'"resolved"' in states[1]
    assert len(set(world.topic.event_ids())) == 2
    state = world.state("a1")
    assert state is not None and (state.status, state.open) == ("ok", False)


async def test_a_send_that_raised_but_was_published_is_not_published_again() -> None:
    world = World(alert("a1", "web"), alert("a2", "web"))
    count(world.subjects, "web", baseline=100, current=10)
    world.topic.fail_after_send = 1
    worker = world.worker()
    await tick(worker, "web")  # a1's send raises; a2 goes on
    assert world.state("a1") is None and world.state("a2") is not None
    await tick(worker, "web", TICK + timedelta(minutes=1))
    assert sorted(k for _, k, _ in world.topic.events) == [b"a1", b"a2"]
    assert worker.published.reads == 2  # type: ignore[attr-defined]  # read anew after the error


async def test_a_revoke_waits_for_the_evaluation_in_progress_to_publish() -> None:
    world = World(alert("a1", "web"))
    count(world.subjects, "web", baseline=100, current=10)
    world.topic.gate = asyncio.Event()
    old = world.worker()
    evaluation = asyncio.create_task(tick(old, "web"))
    await asyncio.sleep(0.01)
    revoke = asyncio.create_task(old.revoked({home("web")}))
    await asyncio.sleep(0.01)
    assert not revoke.done()  # the partition is not released while its evaluation publishes
    world.topic.gate.set()
    await asyncio.gather(evaluation, revoke)
    assert len(world.topic.events) == 1
    new_owner = world.worker()
    await tick(new_owner, "web")  # the same tick, replayed on the new owner
    assert len(world.topic.events) == 1


async def test_a_partition_evaluates_exactly_the_enabled_alerts_of_its_subjects() -> None:
    sources = [f"s{i}" for i in range(12)]
    alerts = [alert(f"a{i}", s) for i, s in enumerate(sources)] + [alert("off", sources[0], enabled=False)]
    world = World(*alerts)
    for source in sources:
        count(world.subjects, source, baseline=100, current=10)
    worker = world.worker()
    for partition in range(PARTITIONS):
        await worker.on_tick(partition, TICK, TICK)
        expected = {f"a{i}".encode() for i, s in enumerate(sources) if home(s) == partition}
        assert {k for p, k, _ in world.topic.events if p == partition} == expected
    assert len(world.topic.events) == len(sources)
    assert world.state("off") is None


async def test_stale_ticks_are_not_evaluated() -> None:
    world = World(alert("a1", "web"))
    count(world.subjects, "web", baseline=100, current=10)
    assert not await world.worker().on_tick(home("web"), TICK, TICK + timedelta(seconds=16))
    assert world.topic.events == [] and world.state("a1") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'{"at": "2026-11-28T09:03:00Z"}', TICK),
        (b'{"at": "yesterday"}', None),
        (b'{"when": "2026-11-28T09:03:00Z"}', None),
        (b"[]", None),
        (b"not json", None),
        (None, None),
    ],
)
def test_parse_tick(value: bytes | None, expected: datetime | None) -> None:
    assert parse_tick(value) == expected
