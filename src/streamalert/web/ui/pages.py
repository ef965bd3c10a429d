"""The UI's pages: sign-in and sign-out, the alerting table, the alert page, static assets."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from streamalert.auth import Principal, TokenStore, digest
from streamalert.kinds import KINDS
from streamalert.settings import Settings
from streamalert.web.ui.middleware import SESSION_KEY, TOKENS, SignedIn, signed_in
from streamalert.web.ui.session import (
    COOKIE,
    LIFETIME,
    csrf_token,
    csrf_valid,
    safe_next,
    session_key,
    sign_session,
)

log = logging.getLogger(__name__)

SETTINGS: web.AppKey[Settings] = web.AppKey("ui_settings", Settings)
TEMPLATES = Environment(
    loader=PackageLoader("streamalert.web.ui", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# Everything the page loads comes from this worker; inline scripts never run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def add_ui_routes(application: web.Application, settings: Settings, tokens: TokenStore) -> None:
    application[SETTINGS] = settings
    application[TOKENS] = tokens
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    if secret is None:
        log.warning(
            "STREAMALERT_SESSION_SECRET is not set: web sessions are valid on this worker only; "
            "set the same secret on every worker so that each accepts every session"
        )
    try:
        application[SESSION_KEY] = session_key(secret, settings.data_dir)
    except OSError as error:
        # A read-only data directory: the UI still works, but a restart signs everyone out.
        log.warning("cannot keep a session key in %s (%s)", settings.data_dir, error.strerror)
        application[SESSION_KEY] = secrets.token_bytes(32)
    application.router.add_get("/", alerts_page)
    application.router.add_get("/alerts/{id}", alert_page)
    application.router.add_get("/sign-in", sign_in_page)
    application.router.add_post("/sign-in", sign_in)
    application.router.add_post("/sign-out", sign_out)
    application.router.add_get("/ui/static/{name}", static)


def _page(template: str, status: int = 200, **context: Any) -> web.Response:
    body = TEMPLATES.get_template(template).render(**context)
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


def _to_sign_in(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound(f"/sign-in?next={quote(request.rel_url.path_qs, safe='/')}")


def _kinds() -> str:
    """What the side sheet needs to know of each kind, from the registry the API checks against."""
    return orjson.dumps(
        {
            name: {
                "name": kind.default_name,
                "rate": kind.decision == "rate",
                "required": kind.required,
                "allowed": kind.allowed,
                "rule": kind.rule,
                "baseline_choice": kind.baseline_choice,
                "week_rule": kind.week_rule,
            }
            for name, kind in KINDS.items()
        }
    ).decode()


def _shell(request: web.Request, session: SignedIn) -> dict[str, Any]:
    principal: Principal = session.principal
    return {
        "principal": principal,
        "csrf": csrf_token(request.app[SESSION_KEY], session.cookie),
        "kinds": _kinds(),
        "kind_names": {name: kind.default_name for name, kind in KINDS.items()},
    }


async def alerts_page(request: web.Request) -> web.Response:
    session = signed_in(request)
    if session is None:
        raise _to_sign_in(request)
    return _page("alerts.html", title="Alerting", **_shell(request, session))


async def alert_page(request: web.Request) -> web.Response:
    session = signed_in(request)
    if session is None:
        raise _to_sign_in(request)
    return _page("alert.html", title="Alert", alert_id=request.match_info["id"], **_shell(request, session))


async def sign_in_page(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next"))
    if signed_in(request) is not None:
        raise web.HTTPFound(target)
    return _page("sign_in.html", title="Sign in", next=target, error=None)


def _same_origin(request: web.Request) -> bool:
    """A form post from another site (login CSRF) carries its own Origin; browsers always send one.

    This site is the host the request names, or the public URL's (behind a proxy).
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc
    return host in (request.host, urlsplit(request.app[SETTINGS].public_url).netloc)


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    target = safe_next(str(form.get("next", "")))
    token = str(form.get("token", "")).strip()
    if not _same_origin(request):
        return _page(
            "sign_in.html", status=403, title="Sign in", next=target, error="Sign in from this page."
        )
    tokens = request.app[TOKENS]
    principal = tokens.authenticate(token) if token else None
    if principal is None and token:
        await tokens.sync()  # created a moment ago, on another host? (as the API does)
        principal = tokens.authenticate(token)
    if principal is None:
        return _page(
            "sign_in.html", status=401, title="Sign in", next=target, error="Unknown or revoked token."
        )
    cookie = sign_session(request.app[SESSION_KEY], digest(token), datetime.now(UTC) + LIFETIME)
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].public_url.startswith("https://"),
    )
    raise response


async def sign_out(request: web.Request) -> web.Response:
    session = signed_in(request)
    form = await request.post()
    if session is not None and not csrf_valid(
        request.app[SESSION_KEY], session.cookie, str(form.get("csrf", ""))
    ):
        raise web.HTTPForbidden(reason="sign out from the page's own button")
    response = web.HTTPSeeOther("/sign-in")
    response.del_cookie(COOKIE, path="/")
    raise response


_STATIC = files("streamalert.web.ui") / "static"


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    suffix = name[name.rfind(".") :] if "." in name else ""
    resource = _STATIC / name
    if "/" in name or suffix not in STATIC_TYPES or not resource.is_file():
        raise web.HTTPNotFound()
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    return web.Response(body=resource.read_bytes(), content_type=STATIC_TYPES[suffix], headers=headers)
