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
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from yarl import URL

from streamalert.alerts.editing import AlertCreate, Channels, InvalidRequest, new_alert, parse_request
from streamalert.counting.buckets import SubjectState, alert_subject_key
from streamalert.evaluation.backtest import MAX_DAYS, backtest
from streamalert.faust_adapter.owners import TableOwners
from streamalert.ingest.validation import home_partition
from streamalert.kinds import KINDS
from streamalert.records.alerts import AlertConfig, Creator, InAppChannel
from streamalert.web.api import PRINCIPAL, WIRING
from streamalert.web.errors import ApiError, json_body
from streamalert.web.responses import json_response

if TYPE_CHECKING:
    from streamalert.auth import Principal
    from streamalert.wiring import StreamAlert

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
    """The alert as create would store it, with every rule of create checked."""
    channels = request.channels or [InAppChannel(type="in_app")]  # never sent: the model wants one
    return new_alert(
        request.model_copy(update={"channels": channels}), workspace_id, creator, now, PREVIEW_ID
    )


async def preview_alert(request: web.Request) -> web.StreamResponse:
    wiring: StreamAlert = request.app[WIRING]
    principal: Principal = request[PRINCIPAL]
    days = preview_days(request.query.get("days"))
    payload = parse_request(AlertPreview, await json_body(request), wiring.settings.webhook_allow)
    now = datetime.now(UTC)
    alert = preview_config(
        payload, principal.workspace_id, Creator(user_id=principal.user_id, name=principal.name), now
    )
    partition = home_partition(KINDS[alert.kind].record_key(alert).encode(), wiring.settings.partitions)
    owners = TableOwners(wiring.app, wiring.counts)
    if owners.holds(partition):
        raw = wiring.counts.get(alert_subject_key(alert).encode())
        state = SubjectState.from_bytes(raw) if raw is not None else None
        response = json_response(backtest(alert, state, now, days).model_dump(mode="json", by_alias=True))
        response.headers[ANSWERED_BY] = str(owners.own_url)
        return response
    if FORWARDED in request.headers:
        raise ApiError(
            503, "unavailable", f"this worker no longer holds partition {partition} of the counts; retry"
        )
    owner = owners.owner_of(partition)
    if owner is None or owner == owners.own_url:
        raise ApiError(
            503, "unavailable", f"partition {partition} of the counts is being assigned or recovered; retry"
        )
    return await forward(request, owner, partition)


async def forward(request: web.Request, owner: URL, partition: int) -> web.Response:
    """The owner's answer to the same request, passed back as it is."""
    headers = {name: request.headers[name] for name in _PASSED_ON if name in request.headers}
    headers[FORWARDED] = "1"
    url = f"{str(owner).rstrip('/')}{request.path_qs}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FORWARD_TIMEOUT)) as session,
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
            f"{FORWARD_TIMEOUT:g} s; retry",
        ) from None
    if status == 401:
        # This worker accepted the caller: the owner refusing them is a configuration fault
        # (a session key of its own), not a reason to sign the browser out.
        log.warning("preview: the worker holding partition %d refused the caller's credentials", partition)
        raise ApiError(
            503,
            "unavailable",
            f"the worker holding partition {partition} of the counts refused this session; "
            "its STREAMALERT_SESSION_SECRET must be the same as this worker's",
        )
    response = web.Response(body=body, status=status, content_type=content_type)
    if answered_by is not None:
        response.headers[ANSWERED_BY] = answered_by
    return response
