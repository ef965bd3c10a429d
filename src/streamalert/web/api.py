"""The alerts API: `/v1/workspaces/{ws}/…`, Bearer tokens, read-your-writes."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from streamalert.alerts.editing import AlertCreate, VersionConflict, new_alert, parse_request, patched_alert
from streamalert.alerts.responses import alert_body, alert_row, history_body
from streamalert.auth import Principal, TokenStore
from streamalert.evaluation.series import series_of
from streamalert.notify import integration_for, target_of
from streamalert.notify.pipeline import RetryPolicy, deliver
from streamalert.notify.sample import sample_event
from streamalert.records.alerts import AlertConfig, Channel, Creator
from streamalert.records.outputs import DeliveryAttempt
from streamalert.web.errors import ApiError, Handler, json_body, not_found
from streamalert.web.responses import json_response

if TYPE_CHECKING:
    from streamalert.wiring import StreamAlert

log = logging.getLogger(__name__)

WIRING: web.AppKey[StreamAlert] = web.AppKey("wiring", object)  # type: ignore[arg-type]
PRINCIPAL = "principal"


def add_routes(application: web.Application) -> None:
    application.router.add_get("/v1/me", me)
    alerts = "/v1/workspaces/{ws}/alerts"
    application.router.add_post(alerts, create_alert)
    application.router.add_get(alerts, list_alerts)
    application.router.add_get(alerts + "/{id}", get_alert)
    application.router.add_patch(alerts + "/{id}", patch_alert)
    application.router.add_delete(alerts + "/{id}", delete_alert)
    application.router.add_get(alerts + "/{id}/history", alert_history)
    application.router.add_post(alerts + "/{id}/test", test_alert)
    application.router.add_get(alerts + "/{id}/series", alert_series)
    application.router.add_get("/v1/workspaces/{ws}/notifications", list_notifications)
    application.router.add_post("/v1/workspaces/{ws}/notifications/{nid}/read", read_notification)


def auth_middleware(tokens: TokenStore) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if PRINCIPAL in request:  # a browser session (web/ui/middleware.py) already named the caller
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token>")
        principal = tokens.authenticate(token.strip())
        if principal is None:
            await tokens.sync()  # created a moment ago, on another host?
            principal = tokens.authenticate(token.strip())
        if principal is None:
            raise ApiError(401, "unauthenticated", "unknown or revoked token")
        workspace = request.match_info.get("ws")
        if workspace is not None and workspace != principal.workspace_id:
            # Another workspace's resources do not exist as far as this token can tell.
            raise not_found("workspace not found")
        request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


def _principal(request: web.Request) -> Principal:
    principal: Principal = request[PRINCIPAL]
    return principal


def _wiring(request: web.Request) -> StreamAlert:
    return request.app[WIRING]


async def me(request: web.Request) -> web.Response:
    return json_response(_principal(request).model_dump())


async def create_alert(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    payload = parse_request(AlertCreate, await json_body(request), wiring.settings.webhook_allow)
    creator = Creator(user_id=principal.user_id, name=principal.name)
    alert = new_alert(payload, principal.workspace_id, creator, datetime.now(UTC))
    if alert.key is None:
        stored = await wiring.config_view.put(alert)
    else:
        stored = await _create_keyed(wiring, alert)
    log.info("alert %s created by %s: %s", stored.id, principal.user_id, stored.name)
    return json_response(alert_body(stored), status=201)


def _key_taken(key: str) -> ApiError:
    message = f"an alert with key {key} already exists in this workspace"
    return ApiError(409, "conflict", message, [{"field": "key", "message": "is taken by another alert"}])


async def _create_keyed(wiring: StreamAlert, alert: AlertConfig) -> AlertConfig:
    """A keyed alert's id derives from its key, so a second create of the key is a second version 1
    of the same record: refused here when this view holds the first, and otherwise lost in the
    topic's compare-and-set (every worker keeps the first), which the writer learns from `put`."""
    assert alert.key is not None
    await wiring.config_view.sync()
    if wiring.config_view.get(alert.id) is not None:
        raise _key_taken(alert.key)
    try:
        return await wiring.config_view.put(alert)
    except VersionConflict:
        raise _key_taken(alert.key) from None


async def list_alerts(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    await wiring.config_view.sync()
    await wiring.state_view.sync()
    key = request.query.get("key")
    rows = [
        alert_row(alert, wiring.state_view.of(alert), datetime.now(UTC)).model_dump(mode="json")
        for alert in wiring.config_view.in_workspace(principal.workspace_id)
        if key is None or alert.key == key
    ]
    return json_response({"alerts": rows})


async def _find(request: web.Request) -> AlertConfig:
    wiring, principal = _wiring(request), _principal(request)
    await wiring.config_view.sync()
    alert = wiring.config_view.get(request.match_info["id"])
    if alert is None or alert.workspace_id != principal.workspace_id:
        raise not_found("alert not found")
    return alert


async def get_alert(request: web.Request) -> web.Response:
    return json_response(alert_body(await _find(request)))


async def patch_alert(request: web.Request) -> web.Response:
    wiring = _wiring(request)
    body = await json_body(request)
    for attempt in range(1, PATCH_ATTEMPTS + 1):
        current = await _find(request)
        updated = patched_alert(current, body, wiring.settings.webhook_allow, datetime.now(UTC))
        try:
            stored = await wiring.config_view.put(updated)
            break
        except VersionConflict:
            # Another worker wrote this version first. With a `version` the client asked for
            # compare-and-set: 409. Without one, apply the patch again to what won.
            if "version" in body or attempt == PATCH_ATTEMPTS:
                raise
    log.info(
        "alert %s edited by %s (version %d): %s",
        stored.id,
        _principal(request).user_id,
        stored.version,
        stored.name,
    )
    return json_response(alert_body(stored))


PATCH_ATTEMPTS = 3


async def delete_alert(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    alert = await _find(request)
    if principal.role != "owner" and alert.created_by.user_id != principal.user_id:
        raise ApiError(403, "forbidden", "only the alert's creator or a workspace owner can delete it")
    await wiring.config_view.delete(alert.id)
    log.info("alert %s deleted by %s", alert.id, principal.user_id)
    return web.Response(status=204)


async def alert_history(request: web.Request) -> web.Response:
    wiring = _wiring(request)
    alert = await _find(request)
    await wiring.state_view.sync()
    await wiring.delivery_log.sync()
    # Attempts before the alert was created are a deleted alert's that had the same key (and id).
    deliveries = [d for d in wiring.delivery_log.for_alert(alert.id) if d.at >= alert.created_at]
    body = history_body(alert, wiring.state_view.of(alert), deliveries)
    return json_response(body)


async def alert_series(request: web.Request) -> web.Response:
    """The hourly points the last evaluation compared: from this worker's view of every state."""
    wiring = _wiring(request)
    alert = await _find(request)
    await wiring.state_view.sync()
    return json_response(series_of(alert, wiring.state_view.of(alert)).model_dump(mode="json"))


# A test send answers within the request: one quick retry at most.
TEST_POLICY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0, attempt_timeout=10.0)


async def test_alert(request: web.Request) -> web.Response:
    """Send a clearly marked test notification to each channel now; report each outcome."""
    wiring = _wiring(request)
    alert = await _find(request)
    event = sample_event(alert, wiring.state_view.of(alert), datetime.now(UTC))
    settings = wiring.settings

    async def send(channel: Channel) -> dict[str, object]:
        integration = integration_for(
            channel, settings, append=wiring.inbox.append, public_url=settings.public_url
        )
        target = target_of(channel)
        final = await deliver(integration, event, target, record=_ignore, policy=TEST_POLICY, test=True)
        log.info("test send of alert %s to %s %s: %s", alert.id, target.type, target.target, final.outcome)
        return {
            "channel": target.model_dump(),
            "outcome": final.outcome,
            "attempts": final.attempt,
            "status_code": final.status_code,
            "error": final.error,
        }

    results = await asyncio.gather(*(send(channel) for channel in alert.channels))
    return json_response({"alert_id": alert.id, "event_id": event.event_id, "results": list(results)})


async def _ignore(_: DeliveryAttempt) -> None:
    """Test sends are answered to the caller, not written to `deliveries`."""


async def list_notifications(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    await wiring.inbox.sync()
    entries, unread = wiring.inbox.list(principal.workspace_id)
    return json_response({"notifications": entries, "unread": unread})


async def read_notification(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    await wiring.inbox.sync()
    entry = await wiring.inbox.mark_read(principal.workspace_id, request.match_info["nid"])
    if entry is None:
        raise not_found("notification not found")
    return json_response(entry)
