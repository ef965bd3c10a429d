"""`POST /v1/workspaces/{ws}/alerts/preview`: a backtest of an unsaved alert (docs/design.md#preview).

Any worker answers. The counts of a subject live only on the worker that holds its partition
(and its standbys), so the worker asked validates the request, finds that partition's active
owner from the group's assignment metadata (`faust_adapter.owners`) and, when it is another
worker, forwards the request there with the caller's own credentials: the owner authenticates
it again, as any request. A forwarded request is never forwarded again; an owner that cannot
be reached within FORWARD_TIMEOUT, or a partition no worker holds right now (a rebalance),
is a 503 to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import aiohttp
from aiohttp import web
from yarl import URL

from streamalert.alerts.editing import AlertCreate, Channels, InvalidRequest, new_alert, parse_request
from streamalert.counting.buckets import SubjectState, alert_subject_key
from streamalert.evaluation.backtest import MAX_DAYS, backtest
from streamalert.ingest.validation import home_partition
from streamalert.kinds import KINDS
from streamalert.records.alerts import AlertConfig, Creator, InAppChannel
from streamalert.web.api import PRINCIPAL
from streamalert.web.errors import ApiError, json_body
from streamalert.web.responses import json_response

if TYPE_CHECKING:
    from streamalert.auth import Principal

log = logging.getLogger(__name__)

FORWARD_TIMEOUT = 10.0
"""Seconds the owner of a subject's counts has to answer a forwarded preview."""
FORWARDED = "X-StreamAlert-Forwarded"
"""Marks a request forwarded by another worker: answered here or refused, never sent on."""
ANSWERED_BY = "X-StreamAlert-Answered-By"
"""The advertised URL of the worker whose counts answered (for operators; not part of the body)."""
_PASSED_ON = ("Authorization", "Cookie", "X-CSRF-Token", "Content-Type")
PREVIEW_ID = "preview"
PATH = "/v1/workspaces/{ws}/alerts/preview"


class AlertPreview(AlertCreate):
    """`POST …/alerts/preview`: an alert as for create, channels optional; nothing is saved or sent."""

    channels: Channels | None = None  # type: ignore[assignment]


def preview_days(raw: str | None) -> int:
    if raw is None:
        return MAX_DAYS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidRequest([{"field": "days", "message": f"must be a whole number from 1 to {MAX_DAYS}"}])
    return int(raw)


def preview_config(request: AlertCreate, workspace_id: str, creator: Creator, now: datetime) -> AlertConfig:
    """The alert as create would store it, with every rule of create checked.

    Unmuted: a mute changes who is told, not what the alert decides (docs/design.md#muting),
    and a backtest counts what it decides."""
    channels = request.channels or [InAppChannel(type="in_app")]  # never sent: the model wants one
    update = {"channels": channels, "muted_until": None}
    return new_alert(request.model_copy(update=update), workspace_id, creator, now, PREVIEW_ID)


class Owners(Protocol):
    """Which worker holds each partition of the counts (`faust_adapter.owners.TableOwners`)."""

    @property
    def own_url(self) -> URL: ...

    def owner_of(self, partition: int) -> URL | None: ...

    def holds(self, partition: int) -> bool: ...


class CountsReader(Protocol):
    """Subject key → stored `SubjectState` bytes, as the evaluation reads them."""

    def get(self, key: bytes) -> bytes | None: ...


@dataclass(frozen=True)
class PreviewRoute:
    """The route, given only what it uses: the counts this worker holds and who holds the rest."""

    counts: CountsReader
    owners: Owners
    partitions: int
    webhook_allow: list[str]
    timeout: float = FORWARD_TIMEOUT

    async def handle(self, request: web.Request) -> web.StreamResponse:
        principal: Principal = request[PRINCIPAL]
        days = preview_days(request.query.get("days"))
        payload = parse_request(AlertPreview, await json_body(request), self.webhook_allow)
        now = datetime.now(UTC)
        creator = Creator(user_id=principal.user_id, name=principal.name)
        alert = preview_config(payload, principal.workspace_id, creator, now)
        partition = home_partition(KINDS[alert.kind].record_key(alert).encode(), self.partitions)
        if self.owners.holds(partition):
            raw = self.counts.get(alert_subject_key(alert).encode())
            state = SubjectState.from_bytes(raw) if raw is not None else None
            body = backtest(alert, state, now, days).model_dump(mode="json", by_alias=True)
            response = json_response(body)
            response.headers[ANSWERED_BY] = str(self.owners.own_url)
            return response
        if FORWARDED in request.headers:
            raise ApiError(
                503, "unavailable", f"this worker no longer holds partition {partition} of the counts; retry"
            )
        owner = self.owners.owner_of(partition)
        if owner is None or owner == self.owners.own_url:
            raise ApiError(
                503,
                "unavailable",
                f"partition {partition} of the counts is being assigned or recovered; retry",
            )
        return await self.forward(request, owner, partition)

    async def forward(self, request: web.Request, owner: URL, partition: int) -> web.Response:
        """The owner's answer to the same request, passed back as it is."""
        headers = {name: request.headers[name] for name in _PASSED_ON if name in request.headers}
        headers[FORWARDED] = "1"
        url = f"{str(owner).rstrip('/')}{request.path_qs}"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session,
                session.post(url, data=await request.read(), headers=headers) as answer,
            ):
                body = await answer.read()
                status, content_type = answer.status, answer.content_type
                answered_by = answer.headers.get(ANSWERED_BY)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning(
                "preview: the worker holding partition %d did not answer: %s", partition, type(error).__name__
            )
            raise ApiError(
                503,
                "unavailable",
                f"the worker holding partition {partition} of the counts did not answer within "
                f"{self.timeout:g} s; retry",
            ) from None
        if status == 401:
            # This worker accepted the caller: the owner refusing them is a configuration fault
            # (a session key of its own), not a reason to sign the browser out.
            log.warning(
                "preview: the worker holding partition %d refused the caller's credentials", partition
            )
            raise ApiError(
                503,
                "unavailable",
                f"the worker holding partition {partition} of the counts refused this session; "
                "its STREAMALERT_SESSION_SECRET must be the same as this worker's",
            )
        return _passed_back(body, status, content_type, answered_by)


def _passed_back(body: bytes, status: int, content_type: str, answered_by: str | None) -> web.Response:
    response = web.Response(body=body, status=status, content_type=content_type)
    if answered_by is not None:
        response.headers[ANSWERED_BY] = answered_by
    return response
