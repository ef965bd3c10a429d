"""The contract every HTTP integration passes, each against its local vendor server.

Success, retries on 5xx, no retry on 4xx, Retry-After honoured, per-attempt timeout, unreachable
endpoint, and no secret (webhook path, routing key) in any result, delivery record or log line.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from streamalert.alerts.masking import masked_target
from streamalert.notify.base import Integration, SendResult
from streamalert.notify.guard import WebhookGuard
from streamalert.notify.pagerduty import PagerDutyIntegration
from streamalert.notify.pipeline import RetryPolicy, deliver
from streamalert.notify.slack import SlackIntegration
from streamalert.notify.slack_workflow import SlackWorkflowIntegration
from streamalert.records.alerts import PagerDutyChannel, SlackChannel, SlackWorkflowChannel
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget
from tests.notify.servers import (
    HANG,
    PagerDuty,
    Reply,
    SlackWebhook,
    SlackWorkflowWebhook,
    VendorServer,
    change_event,
    free_port,
    rate_event,
    routing_key,
    webhook_path,
)

GUARD = WebhookGuard(["127.0.0.1"])
FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, attempt_timeout=2.0)
NOW = datetime(2026, 11, 28, 9, 1, tzinfo=UTC)


@dataclass
class Case:
    """One integration wired to its vendor server."""

    name: str
    server: VendorServer
    integration: Integration
    target: MaskedTarget
    secrets: list[str]
    success_status: int
    sleeps: list[float] = field(default_factory=list)
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    async def record(self, attempt: DeliveryAttempt) -> None:
        self.attempts.append(attempt)

    async def fake_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def deliver(
        self, policy: RetryPolicy = FAST, *, real_sleep: bool = False, **kwargs: object
    ) -> DeliveryAttempt:
        extra: dict[str, object] = {} if real_sleep else {"sleep": self.fake_sleep}
        return await deliver(
            self.integration,
            change_event(),
            self.target,
            policy=policy,
            record=self.record,
            clock=lambda: NOW,
            rng=random.Random(7),
            **(extra | kwargs),  # type: ignore[arg-type]
        )


def build_case(name: str, server: VendorServer, base_url: str | None = None) -> Case:
    base_url = base_url or server.base_url
    if name == "pagerduty":
        channel_pd = PagerDutyChannel(type="pagerduty", integration_key=routing_key())
        integration: Integration = PagerDutyIntegration(channel_pd, base_url=base_url, clock=lambda: NOW)
        return Case(
            name, server, integration, _target(channel_pd), [channel_pd.integration_key], success_status=202
        )
    path = webhook_path()
    url = base_url + path
    secrets = [url, path, path.rsplit("/", 1)[1]]
    if name == "slack":
        channel_slack = SlackChannel(type="slack", webhook_url=url, channel="#alerts")
        integration = SlackIntegration(channel_slack, guard=GUARD, clock=lambda: NOW)
        return Case(name, server, integration, _target(channel_slack), secrets, success_status=200)
    channel_flow = SlackWorkflowChannel(type="slack_workflow", webhook_url=url)
    integration = SlackWorkflowIntegration(channel_flow, guard=GUARD, clock=lambda: NOW)
    return Case(name, server, integration, _target(channel_flow), secrets, success_status=200)


def _target(channel: SlackChannel | SlackWorkflowChannel | PagerDutyChannel) -> MaskedTarget:
    return MaskedTarget(type=channel.type, target=masked_target(channel))


SERVERS: dict[str, type[VendorServer]] = {
    "slack": SlackWebhook,
    "slack_workflow": SlackWorkflowWebhook,
    "pagerduty": PagerDuty,
}


@pytest.fixture(params=sorted(SERVERS))
async def case(request: pytest.FixtureRequest) -> AsyncIterator[Case]:
    server = await SERVERS[request.param]().start()
    yield build_case(request.param, server)
    await server.stop()


def outcomes(case: Case) -> list[tuple[int, str]]:
    return [(attempt.attempt, attempt.outcome) for attempt in case.attempts]


async def test_success_is_one_delivered_attempt(case: Case) -> None:
    final = await case.deliver()
    assert (final.outcome, final.attempt, final.status_code) == ("delivered", 1, case.success_status)
    assert outcomes(case) == [(1, "delivered")]
    assert len(case.server.valid) == len(case.server.received) == 1
    assert case.attempts[0].at == NOW
    assert case.attempts[0].channel == case.target


@pytest.mark.parametrize("event", [change_event, rate_event], ids=["change", "rate"])
async def test_every_event_shape_is_accepted_by_the_vendor(case: Case, event: object) -> None:
    for state in ("firing", "resolved"):
        for test in (False, True):
            result = await case.integration.send(event(state), test=test)  # type: ignore[operator]
            assert result.delivered, result.error
    assert all(request.problem is None for request in case.server.received)


async def test_server_errors_are_retried_until_delivered(case: Case) -> None:
    case.server.script = [Reply(500, "oops"), Reply(502), Reply(503)]
    final = await case.deliver()
    assert final.outcome == "delivered"
    assert outcomes(case) == [(1, "retrying"), (2, "retrying"), (3, "retrying"), (4, "delivered")]
    assert [attempt.status_code for attempt in case.attempts] == [500, 502, 503, case.success_status]
    assert len(case.sleeps) == 3
    assert len(case.server.received) == 4


async def test_retries_stop_at_max_attempts(case: Case) -> None:
    case.server.script = [Reply(500)] * 10
    final = await case.deliver(RetryPolicy(max_attempts=3, base_delay=0.01, attempt_timeout=2))
    assert outcomes(case) == [(1, "retrying"), (2, "retrying"), (3, "failed")]
    assert (final.outcome, final.status_code) == ("failed", 500)
    assert len(case.server.received) == 3


async def test_client_errors_fail_at_once(case: Case) -> None:
    case.server.script = [Reply(400, "invalid_payload")]
    final = await case.deliver()
    assert outcomes(case) == [(1, "failed")]
    assert final.status_code == 400
    assert final.error is not None and "400" in final.error
    assert case.sleeps == []
    assert len(case.server.received) == 1


async def test_retry_after_is_waited_for(case: Case) -> None:
    case.server.script = [Reply(429, "rate_limited", {"Retry-After": "2"})]
    final = await case.deliver()
    assert final.outcome == "delivered"
    assert outcomes(case) == [(1, "retrying"), (2, "delivered")]
    assert case.attempts[0].status_code == 429
    assert case.sleeps and case.sleeps[0] >= 2.0


async def test_retry_after_in_real_time(case: Case) -> None:
    case.server.script = [Reply(429, "rate_limited", {"Retry-After": "2"})]
    final = await case.deliver(real_sleep=True)
    assert final.outcome == "delivered"
    first, second = case.server.received
    assert second.at - first.at >= 2.0


async def test_a_hanging_endpoint_times_out_and_is_retried(case: Case) -> None:
    case.server.script = [HANG]
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, attempt_timeout=0.3)
    started = time.monotonic()
    final = await case.deliver(policy)
    assert time.monotonic() - started < 2.0
    assert outcomes(case) == [(1, "retrying"), (2, "delivered")]
    assert case.attempts[0].status_code is None
    assert case.attempts[0].error == "no answer within 0.3 s"
    assert final.outcome == "delivered"


async def test_an_unreachable_endpoint_is_retried() -> None:
    for name in sorted(SERVERS):
        dead = build_case(name, SERVERS[name](), base_url=f"http://127.0.0.1:{free_port()}")
        final = await dead.deliver(RetryPolicy(max_attempts=2, base_delay=0.01, attempt_timeout=2))
        assert outcomes(dead) == [(1, "retrying"), (2, "failed")], name
        assert final.error is not None and "could not reach" in final.error


async def test_no_secret_leaks_into_results_records_or_logs(
    case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = " ".join(case.secrets)  # a vendor error body quoting the secret back
    case.server.script = [
        Reply(500, f"internal error for {echo}"),
        Reply(429, echo, {"Retry-After": "0"}),
        HANG,
        Reply(404, f"no_service {echo}"),
    ]
    results: list[SendResult] = []
    inner = case.integration

    class Spy:
        async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
            result = await inner.send(event, test=test)
            results.append(result)
            return result

    case.integration = Spy()
    await case.deliver(RetryPolicy(max_attempts=5, base_delay=0.01, attempt_timeout=0.3))
    dead = build_case(case.name, SERVERS[case.name](), base_url=f"http://127.0.0.1:{free_port()}")
    results.append(await dead.integration.send(change_event()))
    assert outcomes(case)[-1] == (4, "failed")
    texts = [result.error or "" for result in results]
    texts += [attempt.model_dump_json() for attempt in case.attempts]
    texts += [caplog.text]
    assert any(result.error for result in results)
    for secret in case.secrets:
        for text in texts:
            assert secret not in text
