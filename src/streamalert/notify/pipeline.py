"""Delivering one alert-fired event to one channel: attempts, retries, backoff, the delivery log.

Written once for every integration. Each attempt is bounded by a timeout and recorded
(`deliveries`, SPEC §3.5) before the next one starts. A failure the integration calls
retryable is tried again after an exponential backoff with full jitter; a 429's Retry-After is
waited for at least. Nothing here is shared between deliveries: the caller runs each
(event, channel) delivery as its own task, and a slow endpoint delays only its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
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
) -> DeliveryAttempt:
    """Deliver `event` through `integration`, retrying as `policy` says; every attempt is passed to
    `record` (an exception there stops the delivery and propagates). Returns the last attempt."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
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
