"""Every error leaves the API as `{"error": {"code", "message", "details"?}}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from streamalert.alerts.editing import InvalidRequest, VersionConflict
from streamalert.topic_view import ViewLagging
from streamalert.web.responses import error_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def not_found(what: str = "not found") -> ApiError:
    return ApiError(404, "not_found", what)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.code, error.message, error.details)
    except InvalidRequest as error:
        return error_response(422, "validation_error", str(error), error.details)
    except VersionConflict as error:
        return error_response(409, "conflict", str(error))
    except ViewLagging as error:
        return error_response(503, "unavailable", str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = HTTP_CODES.get(error.status, "error")
        response = error_response(error.status, code, error.reason or code)
        if "Allow" in error.headers:  # a 405 says which methods the resource has
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error")


async def json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        raise ApiError(400, "bad_request", "the request needs a JSON body")
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
