"""The webhook rule, shared by the API (when an alert is saved) and the send-time guard."""

from __future__ import annotations

import ipaddress

import pytest

from streamalert.webhook_rule import AllowList, WebhookRuleBroken, check_webhook

SLACK = frozenset({"hooks.slack.com"})


@pytest.mark.parametrize(
    ("url", "allow", "problem"),
    [
        ("http://hooks.slack.com/x", [], "must use https"),
        ("https://example.com/x", [], "host example.com is not one of hooks.slack.com"),
        ("https://hooks.slack.com:8443/x", [], "default https port"),
        ("ftp://hooks.slack.com/x", [], "absolute https URL"),
        ("hooks.slack.com/x", [], "absolute https URL"),
        ("http://127.0.0.1:9000/hook", [], "must use https"),
        ("https://bot:s3cret@hooks.slack.com/x", [], "credentials"),
        ("https://bot:s3cret@127.0.0.1/x", ["127.0.0.1"], "credentials"),
        ("https://[::1/x", [], "malformed"),
        ("https://hooks.slack.com:99999/x", [], "malformed"),
        ("http://10.1.2.3/x", ["11.0.0.0/8"], "must use https"),
    ],
)
def test_broken(url: str, allow: list[str], problem: str) -> None:
    with pytest.raises(WebhookRuleBroken, match=problem) as broken:
        check_webhook(url, SLACK, AllowList.of(allow))
    assert "/x" not in str(broken.value)  # never the path


@pytest.mark.parametrize(
    ("url", "allow", "host", "port", "address", "named"),
    [
        ("https://hooks.slack.com/services/x", [], "hooks.slack.com", 443, None, False),
        ("https://HOOKS.slack.com:443/x", [], "hooks.slack.com", 443, None, False),
        ("http://127.0.0.1:9000/hook", ["127.0.0.1"], "127.0.0.1", 9000, "127.0.0.1", False),
        ("http://10.1.2.3/x", [" 10.0.0.0/8 "], "10.1.2.3", 80, "10.1.2.3", False),
        ("http://hooks.local:8080/x", ["Hooks.Local"], "hooks.local", 8080, None, True),
        ("http://[::1]:81/x", ["::1"], "::1", 81, "::1", False),
    ],
)
def test_passes(url: str, allow: list[str], host: str, port: int, address: str | None, named: bool) -> None:
    target = check_webhook(url, SLACK, AllowList.of(allow))
    expected = ipaddress.ip_address(address) if address else None
    assert (target.host, target.port, target.address, target.named) == (host, port, expected, named)


def test_allow_list_entries() -> None:
    allow = AllowList.of(["10.0.0.0/8", "Hooks.Local", "", " fd00::1 ", "[fd00::2]"])
    assert allow.names == frozenset({"hooks.local"})
    assert allow.holds_address(ipaddress.ip_address("10.1.2.3"))
    assert not allow.holds_address(ipaddress.ip_address("11.1.2.3"))
    assert allow.holds_address(ipaddress.ip_address("fd00::1")) and allow.holds_address(
        ipaddress.ip_address("fd00::2")
    )
