"""The preview route's choice: answer here, forward once to the owner, or a bounded 503.

Real HTTP on both sides (aiohttp servers on loopback), the owner lookup faked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from streamalert.auth import Principal
from streamalert.counting.buckets import SubjectState, hour_index
from streamalert.web.api import PRINCIPAL
from streamalert.web.errors import error_middleware
from streamalert.web.preview import ANSWERED_BY, FORWARDED, PATH, PreviewRoute

# The API's own middleware keys the principal by a string too (web/api.py); not this test's concern.
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

BODY = {"kind": "source_volume", "source_id": "web", "threshold_pct": 10}
PARTITIONS = 4
SELF = URL("http://self.test:6066")


@dataclass
class FakeOwners:
    holding: bool
    owner: URL | None
    own_url: URL = SELF
    asked: list[int] = field(default_factory=list)

    def owner_of(self, partition: int) -> URL | None:
        self.asked.append(partition)
        return self.owner

    def holds(self, partition: int) -> bool:
        return self.holding


class Counts(dict[bytes, bytes]):
    pass


@web.middleware
async def as_eve(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    request[PRINCIPAL] = Principal(workspace_id="ws", user_id="eve", name="Eve", role="member")
    return await handler(request)


async def serve(route: PreviewRoute) -> TestServer:
    application = web.Application(middlewares=[error_middleware, as_eve])
    application.router.add_post(PATH, route.handle)
    server = TestServer(application, host="127.0.0.1")
    await server.start_server()
    return server


@dataclass
class Owner:
    """A stand-in for the worker holding the partition: records what it was sent."""

    answer: Callable[[web.Request], Awaitable[web.StreamResponse]]
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.path_qs, dict(request.headers), await request.read()))
        return await self.answer(request)


@pytest.fixture
async def owner_server() -> AsyncIterator[Callable[[Owner], Awaitable[URL]]]:
    servers: list[TestServer] = []

    async def start(owner: Owner) -> URL:
        application = web.Application()
        application.router.add_post(PATH, owner.handle)
        server = TestServer(application, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return URL(str(server.make_url("/")))

    yield start
    for server in servers:
        await server.close()


async def ask(
    server: TestServer, headers: dict[str, str] | None = None, query: str = "?days=2"
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            str(server.make_url(PATH.format(ws="ws") + query)),
            data=orjson.dumps(BODY),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Bearer sat_x_y",
                **(headers or {}),
            },
        ) as response,
    ):
        return response.status, dict(response.headers), orjson.loads(await response.read())


async def test_the_owner_answers_from_its_own_counts() -> None:
    from datetime import UTC, datetime

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    state = SubjectState(
        counter="events", applied_offset=0, base=hour_index(hour) - 48, values=[10] * 24 + [20] * 24
    )
    counts = Counts({b"src|ws|web": state.to_bytes()})
    server = await serve(PreviewRoute(counts, FakeOwners(holding=True, owner=SELF), PARTITIONS, []))
    try:
        status, headers, body = await ask(server)
    finally:
        await server.close()
    assert status == 200 and headers[ANSWERED_BY] == str(SELF)
    assert len(body["evaluations"]) == 48
    assert body["evaluations"][-1]["observed"] == {"current": 480, "baseline": 240, "change_pct": 100}


async def test_another_worker_forwards_once_with_the_callers_credentials(
    owner_server: Callable[[Owner], Awaitable[URL]],
) -> None:
    async def answer(request: web.Request) -> web.Response:
        response = web.json_response({"fired": 3}, status=200)
        response.headers[ANSWERED_BY] = "http://owner.test:6066"
        return response

    owner = Owner(answer)
    owners = FakeOwners(holding=False, owner=await owner_server(owner))
    server = await serve(PreviewRoute(Counts(), owners, PARTITIONS, []))
    try:
        status, headers, body = await ask(server, {"Cookie": "streamalert_session=abc", "X-CSRF-Token": "t"})
    finally:
        await server.close()
    assert (status, body, headers[ANSWERED_BY]) == (200, {"fired": 3}, "http://owner.test:6066")
    ((path_qs, sent, raw),) = owner.seen
    assert path_qs == "/v1/workspaces/ws/alerts/preview?days=2"
    assert orjson.loads(raw) == BODY
    assert sent["Authorization"] == "Bearer sat_x_y" and sent[FORWARDED] == "1"
    assert sent["Cookie"] == "streamalert_session=abc" and sent["X-CSRF-Token"] == "t"


@pytest.mark.parametrize(
    ("owner_status", "passed_back"),
    [(200, 200), (422, 422), (404, 404), (503, 503), (500, 500), (401, 503)],
)
async def test_the_owners_answer_is_passed_back_but_a_refused_session_is_a_503(
    owner_server: Callable[[Owner], Awaitable[URL]], owner_status: int, passed_back: int
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "x", "message": "m"}}, status=owner_status)

    owners = FakeOwners(holding=False, owner=await owner_server(Owner(answer)))
    server = await serve(PreviewRoute(Counts(), owners, PARTITIONS, []))
    try:
        status, _, body = await ask(server)
    finally:
        await server.close()
    assert status == passed_back
    if owner_status == 401:
        assert body["error"]["code"] == "unavailable"
        assert "STREAMALERT_SESSION_SECRET" in body["error"]["message"]


async def test_an_owner_that_does_not_answer_in_time_is_a_503(
    owner_server: Callable[[Owner], Awaitable[URL]],
) -> None:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    owners = FakeOwners(holding=False, owner=await owner_server(Owner(answer)))
    server = await serve(PreviewRoute(Counts(), owners, PARTITIONS, [], timeout=0.3))
    started = time.monotonic()
    try:
        status, _, body = await ask(server)
    finally:
        await server.close()
    assert time.monotonic() - started < 2
    assert (status, body["error"]["code"]) == (503, "unavailable")
    assert "did not answer within 0.3 s" in body["error"]["message"]


@pytest.mark.parametrize(
    ("owners", "headers", "message"),
    [
        # Forwarded here, but this worker is not the owner (any more): never a second hop.
        (FakeOwners(holding=False, owner=URL("http://other.test:6066")), {FORWARDED: "1"}, "no longer holds"),
        # No worker holds the partition (a rebalance), or the map still names this one.
        (FakeOwners(holding=False, owner=None), {}, "being assigned or recovered"),
        (FakeOwners(holding=False, owner=SELF), {}, "being assigned or recovered"),
    ],
)
async def test_no_owner_to_ask_is_a_503(owners: FakeOwners, headers: dict[str, str], message: str) -> None:
    server = await serve(PreviewRoute(Counts(), owners, PARTITIONS, []))
    try:
        status, _, body = await ask(server, headers)
    finally:
        await server.close()
    assert status == 503 and message in body["error"]["message"], body


async def test_a_bad_request_is_refused_before_any_owner_is_asked() -> None:
    owners = FakeOwners(holding=False, owner=URL("http://127.0.0.1:9"))
    server = await serve(PreviewRoute(Counts(), owners, PARTITIONS, []))
    try:
        status, _, body = await ask(server, query="?days=8")
    finally:
        await server.close()
    assert status == 422 and body["error"]["details"] == [
        {"field": "days", "message": "must be a whole number from 1 to 7"}
    ]
    assert owners.asked == []
