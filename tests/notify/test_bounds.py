"""The notifier's bounds: sends in progress per channel type and in total, tries after an
unexpected exception, recording that cannot be written, and the revoke deadline."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from streamalert.notify.base import SendResult
from streamalert.notify.pipeline import (
    DEFAULT_SETTLE,
    Limits,
    RetryPolicy,
    SettlePolicy,
    deliver,
    drain,
    longest_delivery,
    settle,
)
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget
from tests.notify.servers import change_event

T0 = datetime(2026, 11, 28, 9, 1, tzinfo=UTC)


class Meter:
    """An integration that holds each send until released and counts sends in progress."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.release = asyncio.Event()

    def integration(self, channel_type: str) -> Sending:
        return Sending(self, channel_type)


class Sending:
    def __init__(self, meter: Meter, channel_type: str) -> None:
        self.meter, self.type = meter, channel_type

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        meter = self.meter
        meter.now[self.type] += 1
        meter.now["all"] += 1
        meter.peak[self.type] = max(meter.peak[self.type], meter.now[self.type])
        meter.peak["all"] = max(meter.peak["all"], meter.now["all"])
        try:
            await meter.release.wait()
        finally:
            meter.now[self.type] -= 1
            meter.now["all"] -= 1
        return SendResult.success(200)


async def ignore(attempt: DeliveryAttempt) -> None:
    return None


def target(channel_type: str, n: int) -> MaskedTarget:
    return MaskedTarget(type=channel_type, target=f"{channel_type}-{n}")


async def test_sends_in_progress_are_bounded_per_channel_type_and_in_total() -> None:
    meter = Meter()
    limits = Limits(total=3, per_channel=2)
    deliveries = [
        asyncio.create_task(
            deliver(meter.integration(kind), change_event(), target(kind, n), record=ignore, limits=limits)
        )
        for kind in ("slack", "email", "pagerduty")
        for n in range(4)
    ]
    await asyncio.sleep(0.05)
    assert meter.now["all"] == 3  # the shared bound is full ...
    assert max(meter.now[kind] for kind in ("slack", "email", "pagerduty")) <= 2  # ... none over its own
    meter.release.set()
    finals = await asyncio.gather(*deliveries)
    assert [final.outcome for final in finals] == ["delivered"] * 12
    assert meter.peak["all"] == 3
    assert max(meter.peak[kind] for kind in ("slack", "email", "pagerduty")) == 2


async def test_a_full_channel_type_does_not_hold_shared_slots() -> None:
    meter = Meter()
    limits = Limits(total=3, per_channel=2)
    slack = [
        asyncio.create_task(
            deliver(
                meter.integration("slack"), change_event(), target("slack", n), record=ignore, limits=limits
            )
        )
        for n in range(5)
    ]
    await asyncio.sleep(0.05)
    assert meter.now["slack"] == 2
    # Three slack deliveries wait for a slack slot; the third shared slot is still free.
    email = asyncio.create_task(
        deliver(meter.integration("email"), change_event(), target("email", 0), record=ignore, limits=limits)
    )
    await asyncio.sleep(0.05)
    assert meter.now["email"] == 1
    meter.release.set()
    await asyncio.gather(email, *slack)


async def test_no_slot_is_held_during_a_backoff() -> None:
    limits = Limits(total=1, per_channel=1)
    backing_off = asyncio.Event()
    resume = asyncio.Event()

    class FailsOnce:
        calls = 0

        async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
            self.calls += 1
            if self.calls == 1:
                return SendResult.failure("HTTP 503", retryable=True, status_code=503)
            return SendResult.success(200)

    async def long_sleep(seconds: float) -> None:
        backing_off.set()
        await resume.wait()

    first = asyncio.create_task(
        deliver(
            FailsOnce(), change_event(), target("slack", 1), record=ignore, sleep=long_sleep, limits=limits
        )
    )
    await backing_off.wait()
    # The only slot is free while the first delivery waits out its backoff.
    other = await asyncio.wait_for(
        deliver(Succeeds(), change_event(), target("slack", 2), record=ignore, limits=limits), timeout=1
    )
    assert other.outcome == "delivered"
    resume.set()
    assert (await first).outcome == "delivered"


class Succeeds:
    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        return SendResult.success(200)


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(total=0, per_channel=1)
    with pytest.raises(ValueError):
        Limits(total=1, per_channel=0)


@pytest.mark.parametrize(
    ("policy", "seconds"),
    [
        (RetryPolicy(), 5 * 10 + 4 * 300),
        (RetryPolicy(max_attempts=1, attempt_timeout=2), 2),
        (RetryPolicy(max_attempts=3, attempt_timeout=1, max_delay=30, max_retry_after=5), 3 + 2 * 30),
    ],
)
def test_longest_delivery(policy: RetryPolicy, seconds: float) -> None:
    assert longest_delivery(policy) == seconds


# --- settle: bounded tries after an unexpected exception -----------------------------------


def final(outcome: str = "delivered", error: str | None = None) -> DeliveryAttempt:
    return DeliveryAttempt(
        event_id="e1",
        alert_id="a1",
        channel=target("slack", 1),
        attempt=1,
        outcome=outcome,  # type: ignore[arg-type]
        error=error,
        at=T0,
    )


class Script:
    """Runs that raise `failures` times, then succeed; records of the give-up that raise too."""

    def __init__(self, run_failures: int, record_failures: int = 0) -> None:
        self.run_failures, self.record_failures = run_failures, record_failures
        self.runs = 0
        self.give_ups: list[str] = []
        self.sleeps: list[float] = []
        self.stalls: list[bool] = []

    async def run(self) -> DeliveryAttempt:
        self.runs += 1
        if self.runs <= self.run_failures:
            raise RuntimeError("https://hooks.slack.com/services/SECRET")
        return final()

    async def give_up(self, reason: str) -> DeliveryAttempt:
        self.give_ups.append(reason)
        if len(self.give_ups) <= self.record_failures:
            raise ConnectionError("kafka down")
        return final("failed", reason)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def settle(self, policy: SettlePolicy = DEFAULT_SETTLE) -> DeliveryAttempt:
        return await settle(
            self.run, self.give_up, what="e1", policy=policy, sleep=self.sleep, stalled=self.stalls.append
        )


@pytest.mark.parametrize(
    ("run_failures", "record_failures", "outcome", "runs", "give_ups", "sleeps", "stalls"),
    [
        (0, 0, "delivered", 1, 0, [], []),
        (2, 0, "delivered", 3, 0, [1.0, 2.0], []),
        # Three exceptions: recorded as failed, named by type only, and the event can be acked.
        (3, 0, "failed", 3, 1, [1.0, 2.0], []),
        (99, 0, "failed", 3, 1, [1.0, 2.0], []),
        # Recording is impossible for a while: it is tried again, visibly, until it works.
        (99, 4, "failed", 3, 5, [1.0, 2.0, 1.0, 2.0, 4.0, 8.0], [True, False]),
    ],
)
async def test_settle_tries_a_bounded_number_of_times(
    run_failures: int,
    record_failures: int,
    outcome: str,
    runs: int,
    give_ups: int,
    sleeps: list[float],
    stalls: list[bool],
) -> None:
    script = Script(run_failures, record_failures)
    result = await script.settle()
    assert result.outcome == outcome
    assert (script.runs, len(script.give_ups), script.sleeps, script.stalls) == (
        runs,
        give_ups,
        sleeps,
        stalls,
    )
    assert all(reason == "internal error: RuntimeError" for reason in script.give_ups)
    assert "SECRET" not in (result.error or "")


async def test_a_cancelled_settle_is_no_longer_counted_as_stalled() -> None:
    script = Script(run_failures=99, record_failures=99)
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        if script.stalls:
            await gate.wait()  # stalled: wait here until cancelled

    task = asyncio.create_task(
        settle(script.run, script.give_up, what="e1", sleep=sleep, stalled=script.stalls.append)
    )
    while not script.stalls:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert script.stalls == [True, False]


def test_settle_pause_doubles_up_to_the_cap() -> None:
    policy = SettlePolicy(base_pause=1.0, max_pause=5.0)
    assert [policy.pause(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


# --- drain: the revoke deadline -------------------------------------------------------------


async def test_drain_lets_tasks_finish_within_the_deadline_and_cancels_the_rest() -> None:
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.05)
        finished.append("quick")

    async def hanging() -> None:
        await asyncio.Event().wait()

    tasks = {asyncio.create_task(quick()), asyncio.create_task(hanging())}
    started = asyncio.get_running_loop().time()
    cancelled = await drain(tasks, deadline=0.3)
    elapsed = asyncio.get_running_loop().time() - started
    assert cancelled == 1 and finished == ["quick"]
    assert 0.3 <= elapsed < 1.0
    assert all(task.done() for task in tasks)
    assert sum(task.cancelled() for task in tasks) == 1


async def test_drain_returns_at_once_when_everything_finished() -> None:
    assert await drain(set(), deadline=10) == 0
