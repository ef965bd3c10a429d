"""Local vendor servers (Slack, Slack workflow, PagerDuty, SMTP) on a background event loop,
so they serve a worker process for a whole test module."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

from tests.notify.servers import (
    PagerDuty,
    SlackWebhook,
    SlackWorkflowWebhook,
    SmtpRecorder,
    VendorServer,
    free_port,
)

T = TypeVar("T")
V = TypeVar("V", bound=VendorServer)


class Vendors:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="vendors", daemon=True)
        self._thread.start()
        self._servers: list[VendorServer] = []
        self.smtp = SmtpRecorder()
        self.smtp_port = free_port()
        self._smtp = Controller(self.smtp, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        self.pagerduty = self.start(PagerDuty())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self, server: V) -> V:
        self.run(server.start())
        self._servers.append(server)
        return server

    def slack(self) -> SlackWebhook:
        return self.start(SlackWebhook())

    def workflow(self) -> SlackWorkflowWebhook:
        return self.start(SlackWorkflowWebhook())

    def close(self) -> None:
        for server in self._servers:
            self.run(server.stop())
        self._smtp.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
