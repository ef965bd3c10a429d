"""The shared delivery pipeline: backoff arithmetic, attempt log, timeouts, independence."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from streamalert.notify.base import SendResult
from streamalert.notify.guard import WebhookGuard
from streamalert.notify.pipeline import DEFAULT_POLICY, RetryPolicy, backoff_delay, deliver, retry_delay
from streamalert.notify.slack import SlackIntegration
from streamalert.records.alerts import SlackChannel
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget
from tests.notify.servers import HANG, SlackWebhook, change_event, slack_server, webhook_path

__all__ = ["slack_server"]

TARGET = MaskedTarget(type="slack", target="#alerts via https://hooks.slack.com/****abcd")
T0 = datetime(2026, 11, 28, 9, 1, tzinfo=UTC)


class Ceiling(random.Random):
    """Always draws the top of the range, so the backoff ceiling itself is observable."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Scripted:
    """An integration answering from a list of results (or raising an exception from it)."""

    def __init__(self, *results: SendResult | Exception) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, bool]] = []

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        self.calls.append((event.event_id, test))
        result = self.results.pop(0) if self.results else SendResult.success(200)
        if isinstance(result, Exception):
            raise result
        return result


class Log:
    def __init__(self) -> None:
        self.attempts: list[DeliveryAttempt] = []
        self.sleeps: list[float] = []

    async def record(self, attempt: DeliveryAttempt) -> None:
        self.attempts.append(attempt)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def ticking_clock() -> object:
    ticks = iter(range(1000))
    return lambda: T0 + timedelta(seconds=next(ticks))


async def run(
    integration: Scripted, log: Log, policy: RetryPolicy = DEFAULT_POLICY, **kwargs: object
) -> DeliveryAttempt:
    return await deliver(
        integration,
        change_event(),
        TARGET,
        policy=policy,
        record=log.record,
        sleep=log.sleep,
        clock=ticking_clock(),  # type: ignore[arg-type]
        rng=kwargs.pop("rng", Ceiling()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


RETRY = SendResult.failure("HTTP 503", retryable=True, status_code=503)
FATAL = SendResult.failure("HTTP 400", retryable=False, status_code=400)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (6, 16.0), (7, 30.0), (20, 30.0), (500, 30.0)],
)
def test_backoff_ceiling_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert backoff_delay(RetryPolicy(), attempt, Ceiling()) == ceiling


def test_backoff_is_full_jitter() -> None:
    rng = random.Random(1)
    draws = [backoff_delay(RetryPolicy(), 4, rng) for _ in range(500)]
    assert all(0 <= draw <= 4.0 for draw in draws)
    assert min(draws) < 0.5 and max(draws) > 3.5


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, 0.5), (2.0, 2.0), (0.1, 0.5), (299.0, 299.0), (5000.0, 300.0)],
)
def test_retry_after_is_a_floor_capped_by_the_policy(retry_after: float | None, expected: float) -> None:
    result = SendResult.failure("429", retryable=True, status_code=429, retry_after=retry_after)
    assert retry_delay(RetryPolicy(), 1, result, Ceiling()) == expected


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(attempt_timeout=0)


async def test_every_attempt_is_recorded_with_its_outcome_and_time() -> None:
    log = Log()
    final = await run(Scripted(RETRY, RETRY, SendResult.success(200)), log)
    assert [(a.attempt, a.outcome, a.status_code) for a in log.attempts] == [
        (1, "retrying", 503),
        (2, "retrying", 503),
        (3, "delivered", 200),
    ]
    assert [a.at for a in log.attempts] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    assert log.sleeps == [0.5, 1.0]
    assert final == log.attempts[-1]
    assert all(
        a.event_id == change_event().event_id and a.alert_id == "alert-src-volume" for a in log.attempts
    )
    assert all(a.channel == TARGET for a in log.attempts)


async def test_gives_up_after_max_attempts() -> None:
    log = Log()
    final = await run(Scripted(*[RETRY] * 9), log, RetryPolicy(max_attempts=5))
    assert [a.outcome for a in log.attempts] == ["retrying"] * 4 + ["failed"]
    assert final.outcome == "failed" and final.error == "HTTP 503"
    assert len(log.sleeps) == 4


async def test_a_single_attempt_policy_never_sleeps() -> None:
    log = Log()
    await run(Scripted(RETRY), log, RetryPolicy(max_attempts=1))
    assert [a.outcome for a in log.attempts] == ["failed"] and log.sleeps == []


async def test_a_non_retryable_failure_stops_at_once() -> None:
    log = Log()
    final = await run(Scripted(FATAL), log)
    assert [(a.attempt, a.outcome) for a in log.attempts] == [(1, "failed")]
    assert final.status_code == 400 and log.sleeps == []


async def test_an_exception_in_an_integration_is_a_final_failure_named_by_type_only() -> None:
    log = Log()
    final = await run(Scripted(RuntimeError("https://hooks.slack.com/services/SECRET")), log)
    assert (final.outcome, final.error) == ("failed", "internal error: RuntimeError")


async def test_the_attempt_timeout_makes_a_slow_send_retryable() -> None:
    class Slow(Scripted):
        async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
            if not self.calls:
                self.calls.append((event.event_id, test))
                await asyncio.sleep(10)
            return await super().send(event, test=test)

    log = Log()
    final = await run(Slow(), log, RetryPolicy(attempt_timeout=0.05))
    assert [(a.outcome, a.error) for a in log.attempts] == [
        ("retrying", "no answer within 0.05 s"),
        ("delivered", None),
    ]
    assert final.outcome == "delivered"


async def test_test_flag_reaches_the_integration() -> None:
    integration = Scripted()
    await run(integration, Log(), test=True)
    assert integration.calls == [(change_event().event_id, True)]


async def test_a_failing_record_stops_the_delivery() -> None:
    async def broken(attempt: DeliveryAttempt) -> None:
        raise ConnectionError("kafka down")

    integration = Scripted(RETRY, RETRY)
    with pytest.raises(ConnectionError):
        await deliver(integration, change_event(), TARGET, record=broken, sleep=Log().sleep)
    assert len(integration.calls) == 1


async def test_a_hanging_endpoint_does_not_delay_another_delivery(slack_server: SlackWebhook) -> None:
    hanging = await SlackWebhook([HANG, HANG]).start()
    guard = WebhookGuard(["127.0.0.1"])
    done: list[DeliveryAttempt] = []

    async def record(attempt: DeliveryAttempt) -> None:
        done.append(attempt)

    def delivery(server: SlackWebhook) -> asyncio.Task[DeliveryAttempt]:
        channel = SlackChannel(type="slack", webhook_url=server.base_url + webhook_path(), channel="#a")
        integration = SlackIntegration(channel, guard=guard)
        return asyncio.create_task(deliver(integration, change_event(), TARGET, record=record))

    try:
        slow = delivery(hanging)
        await asyncio.sleep(0.05)  # the hanging request is in flight
        assert len(hanging.received) == 1
        started = time.monotonic()
        healthy = await asyncio.wait_for(delivery(slack_server), timeout=5)
        assert time.monotonic() - started < 1.0
        assert healthy.outcome == "delivered"
        assert not slow.done()
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
    finally:
        await hanging.stop()
