"""The send-time webhook guard: https, vendor host, public addresses, pinned connection."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from streamalert.notify.guard import WebhookBlocked, WebhookGuard, is_public, system_resolver
from streamalert.notify.pipeline import deliver
from streamalert.notify.slack import SlackIntegration
from streamalert.records.alerts import SLACK_HOSTS, SlackChannel
from streamalert.records.outputs import DeliveryAttempt, MaskedTarget
from tests.notify.servers import SlackWebhook, change_event, slack_server

__all__ = ["slack_server"]

SECRET_PATH = "/services/T0SECRET/B0SECRET/verysecrettoken123"
SLACK_URL = "https://hooks.slack.com" + SECRET_PATH


def resolver_to(*addresses: str, calls: list[str] | None = None):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return list(addresses)

    return resolve


async def blocked(guard: WebhookGuard, url: str) -> WebhookBlocked:
    with pytest.raises(WebhookBlocked) as caught:
        await guard.check(url, SLACK_HOSTS)
    assert SECRET_PATH not in caught.value.reason and "verysecret" not in caught.value.reason
    return caught.value


async def test_a_public_slack_url_passes_with_the_checked_addresses() -> None:
    guard = WebhookGuard(resolver=resolver_to("34.1.2.3", "34.1.2.3", "2606:4700::1"))
    checked = await guard.check(SLACK_URL, SLACK_HOSTS)
    assert (checked.host, checked.port, checked.addresses) == (
        "hooks.slack.com",
        443,
        ("34.1.2.3", "2606:4700::1"),
    )


async def test_http_is_blocked() -> None:
    error = await blocked(
        WebhookGuard(resolver=resolver_to("34.1.2.3")), "http://hooks.slack.com" + SECRET_PATH
    )
    assert "https" in error.reason and not error.retryable


async def test_another_host_is_blocked() -> None:
    error = await blocked(
        WebhookGuard(resolver=resolver_to("34.1.2.3")), "https://hooks.evil.example" + SECRET_PATH
    )
    assert "hooks.evil.example" in error.reason and "hooks.slack.com" in error.reason


async def test_a_non_default_port_is_blocked() -> None:
    await blocked(
        WebhookGuard(resolver=resolver_to("34.1.2.3")), "https://hooks.slack.com:8443" + SECRET_PATH
    )


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "127.0.0.1", "169.254.169.254", "192.168.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1",
     "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "ff02::1"],
)  # fmt: skip
async def test_a_vendor_host_resolving_to_a_non_public_address_is_blocked(address: str) -> None:
    guard = WebhookGuard(resolver=resolver_to("34.1.2.3", address))
    error = await blocked(guard, SLACK_URL)
    assert "non-public" in error.reason and not error.retryable


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1", True),
        ("10.0.0.1", False),
        ("239.1.1.1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


async def test_allowing_127_0_0_1_lets_it_through_but_not_10_0_0_1() -> None:
    guard = WebhookGuard(["127.0.0.1"], resolver=resolver_to("127.0.0.1"))
    assert (await guard.check(SLACK_URL, SLACK_HOSTS)).addresses == ("127.0.0.1",)
    checked = await guard.check(f"http://127.0.0.1:8080{SECRET_PATH}", SLACK_HOSTS)
    assert (checked.host, checked.port, checked.addresses) == ("127.0.0.1", 8080, ("127.0.0.1",))
    await blocked(WebhookGuard(["127.0.0.1"], resolver=resolver_to("10.0.0.1")), SLACK_URL)
    await blocked(WebhookGuard(["127.0.0.1"]), f"http://10.0.0.1:8080{SECRET_PATH}")
    await blocked(WebhookGuard(), f"http://127.0.0.1:8080{SECRET_PATH}")


async def test_an_allowed_cidr_must_contain_the_resolved_address() -> None:
    guard = WebhookGuard(["10.0.0.0/8"], resolver=resolver_to("10.1.2.3"))
    assert (await guard.check(SLACK_URL, SLACK_HOSTS)).addresses == ("10.1.2.3",)
    await blocked(WebhookGuard(["10.0.0.0/8"], resolver=resolver_to("192.168.0.1")), SLACK_URL)
    # a name resolving into the CIDR still needs https on the vendor's host
    await blocked(guard, "http://hooks.internal" + SECRET_PATH)


async def test_an_allowed_host_name_lifts_every_rule_for_that_host() -> None:
    guard = WebhookGuard(["hooks.internal"], resolver=resolver_to("10.9.9.9"))
    checked = await guard.check("http://hooks.internal:8080" + SECRET_PATH, SLACK_HOSTS)
    assert checked.addresses == ("10.9.9.9",)
    await blocked(guard, "http://other.internal" + SECRET_PATH)


async def test_a_literal_address_is_not_resolved() -> None:
    calls: list[str] = []
    guard = WebhookGuard(["127.0.0.1"], resolver=resolver_to("10.0.0.1", calls=calls))
    await guard.check(f"http://127.0.0.1:1{SECRET_PATH}", SLACK_HOSTS)
    assert calls == []


async def test_dns_failure_is_retryable() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    error = await blocked(WebhookGuard(resolver=failing), SLACK_URL)
    assert error.retryable and "hooks.slack.com" in error.reason
    assert (await blocked(WebhookGuard(resolver=resolver_to()), SLACK_URL)).retryable


@pytest.mark.parametrize("url", ["ftp://hooks.slack.com/x", "hooks.slack.com/services/x", "https://[::1/x"])
async def test_malformed_urls_are_blocked(url: str) -> None:
    with pytest.raises(WebhookBlocked):
        await WebhookGuard(resolver=resolver_to("34.1.2.3")).check(url, SLACK_HOSTS)


async def test_the_default_resolver_uses_getaddrinfo() -> None:
    assert "127.0.0.1" in await system_resolver("localhost", 80) or "::1" in await system_resolver(
        "localhost", 80
    )


async def test_a_blocked_webhook_is_a_final_failure_without_a_request() -> None:
    guard = WebhookGuard(resolver=resolver_to("10.0.0.1"))
    integration = SlackIntegration(
        SlackChannel(type="slack", webhook_url=SLACK_URL, channel="#a"), guard=guard
    )
    attempts: list[DeliveryAttempt] = []

    async def record(attempt: DeliveryAttempt) -> None:
        attempts.append(attempt)

    target = MaskedTarget(type="slack", target="#a via https://hooks.slack.com/****n123")
    final = await deliver(integration, change_event(), target, record=record)
    assert [(a.attempt, a.outcome) for a in attempts] == [(1, "failed")]
    assert final.error == "webhook host hooks.slack.com resolves to non-public address 10.0.0.1"
    assert "verysecret" not in final.model_dump_json()


async def test_the_request_goes_to_the_checked_address(slack_server: SlackWebhook) -> None:
    """`notify.test` exists only in the guard's resolver: the request reaching the local server
    proves it connected to the address the guard checked, with the URL's host in the Host header."""
    guard = WebhookGuard(["notify.test"], resolver=resolver_to("127.0.0.1"))
    url = f"http://notify.test:{slack_server.port}{SECRET_PATH}"
    integration = SlackIntegration(SlackChannel(type="slack", webhook_url=url, channel="#a"), guard=guard)
    result = await integration.send(change_event())
    assert result.delivered, result.error
    (request,) = slack_server.received
    assert request.headers["Host"] == f"notify.test:{slack_server.port}"
    assert request.path == SECRET_PATH
