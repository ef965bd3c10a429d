"""An aiohttp server run as a service of the Faust app, up before tables recover.

It starts early on purpose: `/healthz` must answer during a long recovery so that
an orchestrator does not kill a worker that is busy catching up. `/readyz` says whether the
API can answer (the views are loaded, which does not change during a rebalance), and
`/readyz/partitions` whether this worker holds recovered partitions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streamalert import __version__
from streamalert.faust_adapter.counting import TableStore
from streamalert.faust_adapter.owners import TableOwners
from streamalert.metrics import REGISTRY
from streamalert.web import preview
from streamalert.web.api import WIRING, add_routes, auth_middleware
from streamalert.web.errors import HTTP_CODES, error_middleware
from streamalert.web.openapi import openapi_document
from streamalert.web.responses import error_response, json_response
from streamalert.web.ui import add_ui_routes, session_middleware

if TYPE_CHECKING:
    from streamalert.wiring import StreamAlert

log = logging.getLogger(__name__)


def create_web_app(wiring: StreamAlert) -> web.Application:
    application = web.Application(
        middlewares=[error_middleware, session_middleware, auth_middleware(wiring.tokens)]
    )
    application[WIRING] = wiring
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/readyz", readyz)
    application.router.add_get("/readyz/partitions", readyz_partitions)
    application.router.add_get("/openapi.json", openapi)
    application.router.add_get("/metrics", metrics)
    route = preview.PreviewRoute(
        counts=TableStore(wiring.counts),
        owners=TableOwners(wiring.app, wiring.counts),
        partitions=wiring.settings.partitions,
        webhook_allow=wiring.settings.webhook_allow,
    )
    application.router.add_post(preview.PATH, route.handle)  # before `alerts/{id}`
    add_routes(application)
    add_ui_routes(application, wiring.settings, wiring.tokens)
    return application


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    return readiness_response(request.app[WIRING].readiness.check())


async def readyz_partitions(request: web.Request) -> web.Response:
    return readiness_response(request.app[WIRING].partitions.check())


def readiness_response(checks: dict[str, bool]) -> web.Response:
    ready = all(checks.values())
    return json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())


class SafeRequestHandler(web.RequestHandler):
    """Answers requests aiohttp cannot parse in the house error shape, echoing nothing.

    aiohttp answers a malformed request (a header over 8190 bytes, a bad request line) itself,
    before any middleware: `text/plain` quoting the start of the offending line, logged at
    ERROR with the same text. That line may be `Authorization: Bearer <token>`.
    """

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if isinstance(exc, HttpProcessingError) or status < 500:
            # The class only: the exception's text quotes the request.
            log.warning("refused a malformed HTTP request (%s): %d", type(exc).__name__, status)
        else:
            log.error("HTTP request failed: %d", status, exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started")
        code = HTTP_CODES.get(status, "error")
        reason = "the request could not be parsed" if status == 400 else "internal error"
        response = error_response(status, code, reason if status in (400, 500) else code)
        response.force_close()
        return response


class _SafeServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return SafeRequestHandler(self, loop=self._loop, **self._kwargs)


class _SafeRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _SafeServer  # same state, only the handler class differs
        return server


class WebServer(Service):
    def __init__(self, wiring: StreamAlert) -> None:
        super().__init__()
        self.wiring = wiring
        self._runner: _SafeRunner | None = None

    async def on_start(self) -> None:
        settings = self.wiring.settings
        self._runner = _SafeRunner(create_web_app(self.wiring), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.web_bind, settings.web_port)
        await site.start()
        log.info("HTTP API listening on http://%s:%d", settings.web_bind, settings.web_port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
