"""The webhook rule, checked when an alert is saved and again each time a webhook is sent. Pure.

A webhook URL must be absolute, carry no credentials, use https on the vendor's host and its
default port. The operator's allow list (`settings.webhook_allow`) lifts the rule for the hosts
it names: an entry equal to the URL's host name, or an IP/CIDR entry holding the URL's host
address. At send time the host's addresses are checked as well (`streamalert.notify.guard`).

Reasons name the host at most, never the URL's path (the secret part of a webhook).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebhookRuleBroken(ValueError):
    """The URL breaks the rule; the message is safe to show and record."""


def parse_address(text: str) -> Address | None:
    """`text` as an IP address (brackets and an IPv6 zone are ignored), None if it is not one."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AllowList:
    """The operator's allow list: host names and IP networks (a bare address is a /32 or /128)."""

    names: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> AllowList:
        names: set[str] = set()
        networks: list[Network] = []
        for entry in (entry.strip().lower() for entry in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def holds_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A URL that passed the rule: where it connects, and whether the allow list named its host."""

    host: str
    port: int
    address: Address | None
    """The host when it is an IP literal."""
    named: bool
    """The host name is on the allow list: every rule is lifted, the address rule too."""


def check_webhook(url: str, vendor_hosts: frozenset[str], allow: AllowList) -> WebhookTarget:
    """The URL's target, or WebhookRuleBroken saying which part of the rule it breaks."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as error:
        raise WebhookRuleBroken("webhook URL is malformed") from error
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookRuleBroken("webhook URL must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise WebhookRuleBroken("webhook URL must not contain credentials")
    address = parse_address(host)
    named = host in allow.names
    if not (named or (address is not None and allow.holds_address(address))):
        if parts.scheme != "https":
            raise WebhookRuleBroken(f"webhook to {host} must use https")
        if host not in vendor_hosts:
            raise WebhookRuleBroken(f"webhook host {host} is not one of {', '.join(sorted(vendor_hosts))}")
        if port not in (None, 443):
            raise WebhookRuleBroken(f"webhook to {host} must use the default https port")
    port = port or (443 if parts.scheme == "https" else 80)
    return WebhookTarget(host=host, port=port, address=address, named=named)
