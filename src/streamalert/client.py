"""A small client of the HTTP API, for the CLI."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import orjson


class ApiFailure(Exception):
    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") or f"HTTP {status}"
        details = error.get("details") or []
        lines = [f"{d.get('field')}: {d.get('message')}" for d in details if isinstance(d, dict)]
        super().__init__("\n".join([f"error {status}: {message}", *lines[1:]]))
        self.status = status


class ApiUnreachable(Exception):
    """No answer from the API: refused connection, unknown host, timeout, or not an API at all."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach the API at {base_url}: {reason}")


@dataclass
class ApiClient:
    base_url: str
    token: str
    timeout: float = 30.0

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(
            self.base_url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                parsed = None
            raise ApiFailure(error.code, parsed) from None
        except urllib.error.URLError as error:
            raise ApiUnreachable(self.base_url, str(error.reason)) from None
        except OSError as error:  # timeouts and resets after connecting
            raise ApiUnreachable(self.base_url, str(error) or type(error).__name__) from None
        try:
            return orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise ApiUnreachable(
                self.base_url, "the answer is not JSON: is this a streamalert API?"
            ) from None

    def workspace(self) -> str:
        workspace: str = self.request("GET", "/v1/me")["workspace_id"]
        return workspace
