"""Browser sessions on the API: the cookie names the caller, and a CSRF header guards writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from streamalert.auth import Principal, TokenStore
from streamalert.web.api import PRINCIPAL
from streamalert.web.errors import ApiError, Handler, not_found
from streamalert.web.ui.session import COOKIE, CSRF_HEADER, csrf_valid, verify_session

SESSION_KEY: web.AppKey[bytes] = web.AppKey("session_key", bytes)
TOKENS: web.AppKey[TokenStore] = web.AppKey("ui_tokens", TokenStore)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    cookie: str


def signed_in(request: web.Request) -> SignedIn | None:
    """The session of a valid cookie whose token still exists; None otherwise."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    token_digest = verify_session(request.app[SESSION_KEY], cookie, datetime.now(UTC))
    if token_digest is None:
        return None
    principal = request.app[TOKENS].by_digest(token_digest)
    return SignedIn(principal, cookie) if principal is not None else None


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate `/v1/` calls that carry the session cookie instead of a Bearer token."""
    if not request.path.startswith("/v1/") or "Authorization" in request.headers:
        return await handler(request)
    session = signed_in(request)
    if session is None:
        return await handler(request)  # the API's own middleware answers 401
    if request.method not in SAFE_METHODS and not csrf_valid(
        request.app[SESSION_KEY], session.cookie, request.headers.get(CSRF_HEADER)
    ):
        raise ApiError(403, "forbidden", f"a signed-in browser must send the {CSRF_HEADER} header")
    workspace = request.match_info.get("ws")
    if workspace is not None and workspace != session.principal.workspace_id:
        raise not_found("workspace not found")
    request[PRINCIPAL] = session.principal
    return await handler(request)
