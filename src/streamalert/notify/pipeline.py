"""Delivering one alert-fired event to one channel: attempts, retries, backoff, the delivery log.

Written once for every integration. Each attempt is bounded by a timeout and recorded
(`deliveries`) before the next one starts. A failure the integration calls
retryable is tried again after an exponential backoff with full jitter; a 429's Retry-After is
waited for at least. The caller runs each (event, channel) delivery as its own task, so a
slow endpoint delays only its own; what they share is `Limits`, the number of sends in
progress at once (per channel type and in total). `settle` bounds what an unexpected
exception (the delivery log cannot be written, a bug) can cost: a few tries, then the
delivery is recorded as failed. `drain` lets in-flight deliveries finish before a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

from streamalert.notify.base import Clock, Integration, SendResult, log, utc_now
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget

Record = Callable[[DeliveryAttempt], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    """Backoff before the second attempt is drawn from [0, base_delay]; it doubles each time."""
    max_delay: float = 30.0
    """Cap of the backoff drawn for any one wait."""
    attempt_timeout: float = 10.0
    """Seconds one attempt may take before it counts as a retryable failure."""
    max_retry_after: float = 300.0
    """The longest Retry-After honoured; a longer one is waited for this long."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0 or self.attempt_timeout <= 0:
            raise ValueError("delays must be non-negative and the attempt timeout positive")


DEFAULT_POLICY = RetryPolicy()


def longest_delivery(policy: RetryPolicy) -> float:
    """The most seconds one delivery can take: every attempt timing out, every wait the longest."""
    waits = policy.max_attempts - 1
    return policy.max_attempts * policy.attempt_timeout + waits * max(
        policy.max_delay, policy.max_retry_after
    )


class Limits:
    """At most `per_channel` sends of one channel type and `total` sends in all at once.

    A slot is held for one attempt only, never during a backoff. The channel type's slot is
    taken before the shared one, so a type at its own limit does not hold shared slots.
    """

    def __init__(self, total: int, per_channel: int) -> None:
        if total < 1 or per_channel < 1:
            raise ValueError("limits must be at least 1")
        self.total = total
        self.per_channel = per_channel
        self._all = asyncio.Semaphore(total)
        self._per_type: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_channel)
        )

    @asynccontextmanager
    async def slot(self, channel_type: str) -> AsyncIterator[None]:
        async with self._per_type[channel_type], self._all:
            yield


UNLIMITED = Limits(total=1 << 30, per_channel=1 << 30)


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max_delay, base_delay · 2^(attempt-1))] after `attempt` failed."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(attempt - 1, 62))
    return rng.uniform(0.0, ceiling)


def retry_delay(policy: RetryPolicy, attempt: int, result: SendResult, rng: random.Random) -> float:
    """How long to wait after failed attempt `attempt`: the backoff, or the vendor's Retry-After
    when longer (capped by max_retry_after)."""
    delay = backoff_delay(policy, attempt, rng)
    if result.retry_after is not None:
        delay = max(delay, min(result.retry_after, policy.max_retry_after))
    return delay


async def attempt_once(
    integration: Integration, event: AlertFired, *, test: bool, timeout: float
) -> SendResult:
    """One send bounded by `timeout`; an unexpected exception is a final failure named by its type
    (its text might quote a secret)."""
    try:
        async with asyncio.timeout(timeout):
            return await integration.send(event, test=test)
    except TimeoutError:
        return SendResult.failure(f"no answer within {timeout:g} s", retryable=True)
    except Exception as error:
        log.error("notification integration raised %s for event %s", type(error).__name__, event.event_id)
        return SendResult.failure(f"internal error: {type(error).__name__}", retryable=False)


async def deliver(
    integration: Integration,
    event: AlertFired,
    channel_target: MaskedTarget,
    *,
    record: Record,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    test: bool = False,
    limits: Limits = UNLIMITED,
) -> DeliveryAttempt:
    """Deliver `event` through `integration`, retrying as `policy` says; every attempt is passed to
    `record` (an exception there stops the delivery and propagates). Returns the last attempt."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        async with limits.slot(channel_target.type):
            result = await attempt_once(integration, event, test=test, timeout=policy.attempt_timeout)
        will_retry = not result.delivered and result.retryable and attempt < policy.max_attempts
        outcome = "delivered" if result.delivered else "retrying" if will_retry else "failed"
        entry = DeliveryAttempt(
            event_id=event.event_id,
            alert_id=event.alert_id,
            channel=channel_target,
            attempt=attempt,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error,
            at=clock(),
        )
        # The final outcome is the caller's to log (one line per delivery); retries are logged here.
        log.log(
            logging.INFO if will_retry else logging.DEBUG,
            "delivery %s: event %s alert %s to %s %s, attempt %d, status %s%s",
            outcome,
            event.event_id,
            event.alert_id,
            channel_target.type,
            channel_target.target,
            attempt,
            result.status_code,
            f", error: {result.error}" if result.error else "",
        )
        await record(entry)
        if not will_retry:
            return entry
        await sleep(retry_delay(policy, attempt, result, rng))


@dataclass(frozen=True, slots=True)
class SettlePolicy:
    """How often a delivery that raised is tried again before it is recorded as failed."""

    max_tries: int = 3
    base_pause: float = 1.0
    """Pause after the first exception; it doubles after each one."""
    max_pause: float = 60.0

    def pause(self, failures: int) -> float:
        return min(self.max_pause, self.base_pause * 2.0 ** min(failures - 1, 62))


DEFAULT_SETTLE = SettlePolicy()


async def settle(
    run: Callable[[], Awaitable[DeliveryAttempt]],
    give_up: Callable[[str], Awaitable[DeliveryAttempt]],
    *,
    what: str,
    policy: SettlePolicy = DEFAULT_SETTLE,
    sleep: Sleep = asyncio.sleep,
    stalled: Callable[[bool], None] = lambda _: None,
) -> DeliveryAttempt:
    """`run()` the delivery; when it raises, try again up to `policy.max_tries` times in all,
    then `give_up(reason)` (records the delivery as failed). Should recording fail too (Kafka
    unreachable), keep trying it, with `stalled(True)` until it succeeds, so the event is never
    acknowledged before its outcome is written."""
    reason = ""
    for tries in range(1, policy.max_tries + 1):
        try:
            return await run()
        except Exception as error:
            # By type only: an exception's text may quote a webhook URL or a record.
            reason = f"internal error: {type(error).__name__}"
            log.error(
                "delivery %s raised %s (try %d of %d)", what, type(error).__name__, tries, policy.max_tries
            )
            if tries < policy.max_tries:
                await sleep(policy.pause(tries))
    failures = 0
    try:
        while True:
            try:
                return await give_up(reason)
            except Exception as error:
                failures += 1
                if failures == 1:
                    stalled(True)
                log.error(
                    "delivery %s: its failure cannot be recorded (%s); trying again",
                    what,
                    type(error).__name__,
                )
                await sleep(policy.pause(failures))
    finally:
        if failures:  # recorded at last, or cancelled (a revoke): no longer waiting here
            stalled(False)


async def drain(tasks: Collection[asyncio.Task[None]], deadline: float) -> int:
    """Wait up to `deadline` seconds for `tasks` to finish, then cancel the rest; returns how
    many were cancelled."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    return len(pending)
