"""The alerts API (SPEC §5.1): `/v1/workspaces/{ws}/…`, Bearer tokens, read-your-writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from streamalert.alerts.editing import AlertCreate, new_alert, parse_request, patched_alert
from streamalert.alerts.responses import alert_body, alert_row, history_body
from streamalert.auth import Principal, TokenStore
from streamalert.records.alerts import AlertConfig, Creator
from streamalert.web.errors import ApiError, Handler, json_body, not_found
from streamalert.web.responses import json_response

if TYPE_CHECKING:
    from streamalert.app import StreamAlert

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


def auth_middleware(tokens: TokenStore) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token>")
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
    stored = await wiring.config_view.put(alert)
    return json_response(alert_body(stored), status=201)


async def list_alerts(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    await wiring.config_view.sync()
    await wiring.state_view.sync()
    rows = [
        alert_row(alert, wiring.state_view.get(alert.id)).model_dump(mode="json")
        for alert in wiring.config_view.in_workspace(principal.workspace_id)
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
    current = await _find(request)
    updated = patched_alert(
        current, await json_body(request), wiring.settings.webhook_allow, datetime.now(UTC)
    )
    stored = await wiring.config_view.put(updated)
    return json_response(alert_body(stored))


async def delete_alert(request: web.Request) -> web.Response:
    wiring, principal = _wiring(request), _principal(request)
    alert = await _find(request)
    if principal.role != "owner" and alert.created_by.user_id != principal.user_id:
        raise ApiError(403, "forbidden", "only the alert's creator or a workspace owner can delete it")
    await wiring.config_view.delete(alert.id)
    return web.Response(status=204)


async def alert_history(request: web.Request) -> web.Response:
    wiring = _wiring(request)
    alert = await _find(request)
    await wiring.state_view.sync()
    return json_response(history_body(alert, wiring.state_view.get(alert.id)))
