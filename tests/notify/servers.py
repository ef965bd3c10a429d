"""Local stand-ins for the vendors, strict the way the vendors are, plus the notify test fixtures.

Each HTTP server listens on 127.0.0.1, validates every request as its vendor would (an invalid
request gets the vendor's 400, whatever the script says), then answers from its script: a list
of `Reply` (or `HANG`) consumed one per valid request, then the vendor's success. Every request
is recorded with its arrival time (time.monotonic()).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from jsonschema import Draft202012Validator

from streamalert.evaluation.state import event_id
from streamalert.records.outputs import AlertFired, ChangeObserved, RateObserved, Subject, Window
from tests.notify.pagerduty_contract import ENQUEUE, PAYLOAD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- scripted HTTP vendors ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


HANG = Reply(status=-1)
"""Accept the request and never answer (until the server stops)."""
HOLD = Reply(status=-2)
"""Accept the request and answer it as a success once `gate` is set."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    problem: str | None = None
    """Why the vendor would reject it; None for a valid request."""

    def json(self) -> Any:
        return json.loads(self.body)


class VendorServer:
    """Base of the HTTP vendors: subclasses define `validate` and `success`."""

    content_type = "text/plain"

    def __init__(self, script: list[Reply] | None = None) -> None:
        self.script: list[Reply] = list(script or [])
        self.received: list[Received] = []
        self._release = asyncio.Event()
        self.gate = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def valid(self) -> list[Received]:
        return [request for request in self.received if request.problem is None]

    def validate(self, request: web.Request, body: bytes) -> str | None:
        raise NotImplementedError

    def success(self, body: bytes) -> Reply:
        raise NotImplementedError

    def rejection(self, problem: str) -> Reply:
        raise NotImplementedError

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        problem = self.validate(request, body)
        self.received.append(
            Received(request.path_qs, dict(request.headers), body, time.monotonic(), problem)
        )
        if problem is not None:
            reply = self.rejection(problem)
        elif self.script:
            reply = self.script.pop(0)
        else:
            reply = self.success(body)
        if reply is HANG:
            await self._release.wait()
            reply = Reply(503, "stopped")
        elif reply is HOLD:
            await self.gate.wait()
            reply = self.success(body)
        return web.Response(
            status=reply.status, text=reply.body, headers=reply.headers, content_type=self.content_type
        )

    async def start(self) -> VendorServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)  # the vendor's log, not ours
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


def _json_object(request: web.Request, body: bytes) -> tuple[dict[str, Any] | None, str | None]:
    if request.method != "POST":
        return None, "method must be POST"
    if request.content_type != "application/json":
        return None, f"content type {request.content_type!r} is not application/json"
    try:
        data = json.loads(body)
    except ValueError:
        return None, "body is not JSON"
    if not isinstance(data, dict):
        return None, "body is not a JSON object"
    return data, None


def _text_object(value: Any, limit: int, *, types: tuple[str, ...] = ("plain_text", "mrkdwn")) -> str | None:
    if not isinstance(value, dict) or value.get("type") not in types:
        return f"text object must be one of {types}"
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return "text object needs a non-empty text"
    if len(text) > limit:
        return f"text longer than {limit}"
    return None


def slack_block_problem(block: Any) -> str | None:
    """Block Kit rules for the block types streamalert sends (header, section, actions, context, divider)."""
    if not isinstance(block, dict):
        return "block is not an object"
    kind = block.get("type")
    if kind == "divider":
        return None
    if kind == "header":
        return _text_object(block.get("text"), 150, types=("plain_text",))
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            return "section needs text or fields"
        if text is not None and (problem := _text_object(text, 3000)):
            return problem
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                return "section fields must be 1 to 10 items"
            for item in fields:
                if problem := _text_object(item, 2000):
                    return problem
        return None
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return "actions need 1 to 25 elements"
        for element in elements:
            if not isinstance(element, dict) or element.get("type") != "button":
                return "only buttons are expected in actions"
            if problem := _text_object(element.get("text"), 75, types=("plain_text",)):
                return problem
            url = element.get("url")
            if url is not None and (not isinstance(url, str) or len(url) > 3000):
                return "button url must be a string of at most 3000"
        return None
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return "context needs 1 to 10 elements"
        for element in elements:
            if problem := _text_object(element, 3000):
                return problem
        return None
    return f"unexpected block type {kind!r}"


class SlackWebhook(VendorServer):
    """An incoming webhook: `{"text", "blocks"}`, 200 `ok`; 400 `invalid_payload` / `invalid_blocks`."""

    def validate(self, request: web.Request, body: bytes) -> str | None:
        data, problem = _json_object(request, body)
        if data is None:
            return problem
        text, blocks = data.get("text"), data.get("blocks")
        if text is None and blocks is None:
            return "no_text"
        if text is not None and (not isinstance(text, str) or len(text) > 40_000):
            return "text must be a string of at most 40000 characters"
        if blocks is not None:
            if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
                return "blocks must be a list of 1 to 50"
            for block in blocks:
                if problem := slack_block_problem(block):
                    return problem
        return None

    def success(self, body: bytes) -> Reply:
        return Reply(200, "ok")

    def rejection(self, problem: str) -> Reply:
        return Reply(400, "no_text" if problem == "no_text" else "invalid_payload")


class SlackWorkflowWebhook(VendorServer):
    """A workflow trigger: a flat JSON object of string values, else 400."""

    content_type = "application/json"

    def validate(self, request: web.Request, body: bytes) -> str | None:
        data, problem = _json_object(request, body)
        if data is None:
            return problem
        for key, value in data.items():
            if not isinstance(value, str):
                return f"variable {key} is not a string"
        return None

    def success(self, body: bytes) -> Reply:
        return Reply(200, '{"ok":true}')

    def rejection(self, problem: str) -> Reply:
        return Reply(400, '{"ok":false,"error":"invalid_webhook_format"}')


def pagerduty_validator() -> Draft202012Validator:
    """The request schema of POST /v2/enqueue (`pagerduty_contract.py`)."""
    return Draft202012Validator(ENQUEUE, format_checker=Draft202012Validator.FORMAT_CHECKER)


class PagerDuty(VendorServer):
    """Events API v2 `POST /v2/enqueue`: schema-valid bodies get 202, others 400.

    Beyond the schema it checks what PagerDuty documents in prose: no unknown fields, a
    32-character routing key, dedup_key on resolve and ≤ 255 characters, summary ≤ 1024.
    """

    content_type = "application/json"
    validator = pagerduty_validator()
    _top_fields = frozenset(ENQUEUE["properties"])
    _payload_fields = frozenset(PAYLOAD["properties"])

    def validate(self, request: web.Request, body: bytes) -> str | None:
        if request.path != "/v2/enqueue":
            return f"unknown path {request.path}"
        data, problem = _json_object(request, body)
        if data is None:
            return problem
        errors = sorted(error.message for error in self.validator.iter_errors(data))
        if errors:
            return "; ".join(errors)
        if unknown := set(data) - self._top_fields:
            return f"unknown fields {sorted(unknown)}"
        if unknown := set(data.get("payload", {})) - self._payload_fields:
            return f"unknown payload fields {sorted(unknown)}"
        if data["event_action"] == "trigger" and "payload" not in data:
            return "a trigger needs a payload"
        if data["event_action"] != "trigger" and not data.get("dedup_key"):
            return "dedup_key is required unless event_action is trigger"
        if len(data.get("dedup_key", "")) > 255:
            return "dedup_key longer than 255"
        if len(data.get("payload", {}).get("summary", "")) > 1024:
            return "summary longer than 1024"
        if len(data["routing_key"]) != 32:
            return "routing_key must be 32 characters"
        return None

    def success(self, body: bytes) -> Reply:
        key = json.loads(body).get("dedup_key") or secrets.token_hex(16)
        return Reply(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": key}))

    def rejection(self, problem: str) -> Reply:
        return Reply(
            400,
            json.dumps(
                {"status": "invalid event", "message": "Event object is invalid", "errors": [problem]}
            ),
        )


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes


class SmtpRecorder:
    """An aiosmtpd handler recording accepted mails; `script` holds DATA replies to give first."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.script: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.script:
                return self.script.pop(0)
            self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def slack_server() -> AsyncIterator[SlackWebhook]:
    server = SlackWebhook()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def workflow_server() -> AsyncIterator[SlackWorkflowWebhook]:
    server = SlackWorkflowWebhook()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def pagerduty_server() -> AsyncIterator[PagerDuty]:
    server = PagerDuty()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


# --- alert-fired events ---------------------------------------------------------------------

H = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def change_event(state: str = "firing", incident: int = 1, **changes: Any) -> AlertFired:
    """A source volume alert: 80 events against 100, threshold 4 %."""
    fields: dict[str, Any] = {
        "event_id": event_id("alert-src-volume", incident, state),
        "incident": incident,
        "alert_id": "alert-src-volume",
        "workspace_id": "ws-1",
        "kind": "source_volume",
        "name": "Orders source volume",
        "state": state,
        "threshold_pct": Decimal("4"),
        "baseline": "previous_day",
        "subject": Subject(source_id="src-orders"),
        "window": Window(start=H - timedelta(hours=24), end=H),
        "baseline_window": Window(start=H - timedelta(hours=48), end=H - timedelta(hours=24)),
        "observed": ChangeObserved(current=80, baseline=100, change_pct=Decimal("-20.00"))
        if state == "firing"
        else ChangeObserved(current=101, baseline=100, change_pct=Decimal("1.00")),
        "occurred_at": H + timedelta(minutes=1),
        "summary": "[Orders source volume] Source volume change for source src-orders: 80 events in the last 24 h "
        "vs 100 the day before (\u221220.00 %), threshold ±4 %"
        if state == "firing"
        else "Resolved: [Orders source volume] Source volume change for source src-orders: 101 events in the "
        "last 24 h vs 100 the day before (+1.00 %), within ±4 %",
    }
    return AlertFired(**(fields | changes))


def rate_event(state: str = "firing", incident: int = 1, **changes: Any) -> AlertFired:
    """A destination delivery rate alert: 98.5 % against a 99 % threshold."""
    fields: dict[str, Any] = {
        "event_id": event_id("alert-dst-rate", incident, state),
        "incident": incident,
        "alert_id": "alert-dst-rate",
        "workspace_id": "ws-1",
        "kind": "destination_delivery_rate",
        "name": "Warehouse delivery rate",
        "state": state,
        "threshold_pct": Decimal("99"),
        "baseline": "previous_day",
        "subject": Subject(destination_id="dst-warehouse", source_id="src-orders"),
        "window": Window(start=H - timedelta(hours=24), end=H),
        "baseline_window": Window(start=H - timedelta(hours=48), end=H - timedelta(hours=24)),
        "observed": RateObserved(delivered=9850, failed=150, success_rate_pct=Decimal("98.50"))
        if state == "firing"
        else RateObserved(delivered=9990, failed=10, success_rate_pct=Decimal("99.90")),
        "occurred_at": H + timedelta(minutes=1),
        "summary": "[Warehouse delivery rate] Destination delivery success rate for destination dst-warehouse from "
        "source src-orders: 98.50 % (9,850 delivered, 150 failed) in the last 24 h, below 99 %"
        if state == "firing"
        else "Resolved: [Warehouse delivery rate] Destination delivery success rate for destination "
        "dst-warehouse from source src-orders: 99.90 % (9,990 delivered, 10 failed) in the last 24 h, "
        "back at or above 99 %",
    }
    return AlertFired(**(fields | changes))


ALL_EVENTS: list[Callable[[], AlertFired]] = [
    change_event,
    lambda: change_event("resolved"),
    rate_event,
    lambda: rate_event("resolved"),
]


def routing_key() -> str:
    return secrets.token_hex(16)


def webhook_path() -> str:
    return f"/services/T0TEST/B0TEST/{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"
