"""The send-time webhook guard: the webhook rule (`streamalert.webhook_rule`), public addresses only.

A webhook URL is checked again each time it is used, because what its host resolves to can
change after the alert was saved. The checked addresses are then the only ones the request may
connect to (`pinned_connector`), so a second DNS answer cannot point it elsewhere (rebinding).

The operator's allow list (`settings.webhook_allow`) relaxes the rule for the hosts it names:
- an entry equal to the URL's host name lifts every rule for that host (scheme, vendor host,
  port and address);
- an IP or CIDR entry lifts the scheme/host/port rule for a URL whose host is an address inside
  it, and lets a resolved address inside it pass the public-address rule; the address actually
  connected to must still match it.

Errors name the host and the reason, never the URL's path (the secret part of a webhook).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from streamalert.webhook_rule import Address, AllowList, WebhookRuleBroken, check_webhook, parse_address

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) → the IP addresses (text) the host resolves to; raises OSError on failure."""

NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookBlocked(Exception):
    """The URL breaks the webhook rule. The message is safe to record: it holds no URL path."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL that passed the guard, with the only addresses it may be connected to."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast, reserved, shared."""
    embedded = _embedded_v4(address)
    if embedded is not None and not is_public(embedded):
        return False
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
        and not address.is_loopback
        and not address.is_link_local
    )


class WebhookGuard:
    """Checks webhook URLs against the rule and the operator's allow list, resolving hosts
    through `resolver` (the system's getaddrinfo by default)."""

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self._allow = AllowList.of(allow)
        self._resolver = resolver

    async def check(self, url: str, vendor_hosts: frozenset[str]) -> CheckedUrl:
        """The checked URL, or WebhookBlocked (retryable only when DNS failed)."""
        try:
            target = check_webhook(url, vendor_hosts, self._allow)
        except WebhookRuleBroken as broken:
            raise WebhookBlocked(str(broken)) from None
        host, port, literal, named_allowed = target.host, target.port, target.address, target.named
        if literal is not None:
            resolved = [str(literal)]
        else:
            try:
                resolved = await self._resolver(host, port)
            except OSError as error:
                raise WebhookBlocked(f"could not resolve webhook host {host}", retryable=True) from error
        addresses: list[str] = []
        for text in resolved:
            address = parse_address(text)
            if address is None:
                raise WebhookBlocked(f"webhook host {host} resolved to something that is not an address")
            if not (named_allowed or self._allow.holds_address(address) or is_public(address)):
                raise WebhookBlocked(f"webhook host {host} resolves to non-public address {address}")
            if str(address) not in addresses:
                addresses.append(str(address))
        if not addresses:
            raise WebhookBlocked(f"webhook host {host} resolved to no address", retryable=True)
        return CheckedUrl(url=url, host=host, port=port, addresses=tuple(addresses))


class _PinnedResolver(AbstractResolver):
    """Answers for the checked host with the checked addresses, and for nothing else."""

    def __init__(self, checked: CheckedUrl) -> None:
        self._checked = checked

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.lower() != self._checked.host:
            raise OSError(f"host {host} was not checked by the webhook guard")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self._checked.addresses
        ]

    async def close(self) -> None:
        return None


def pinned_connector(checked: CheckedUrl) -> aiohttp.TCPConnector:
    """A connector that can only reach the addresses of `checked` (TLS still verifies its host)."""
    return aiohttp.TCPConnector(resolver=_PinnedResolver(checked), use_dns_cache=False)
