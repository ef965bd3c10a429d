"""What every integration shares: the interface, the result of a send, HTTP classification, wording.

An integration only builds its request, sends it once and says whether a failure is worth
retrying (`SendResult.retryable`). Retries, backoff, timeouts and the delivery log are the
pipeline's job (`streamalert.notify.pipeline`), written once for all of them.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import orjson

from streamalert.kinds import KINDS
from streamalert.notify.guard import CheckedUrl, pinned_connector
from streamalert.records.common import format_timestamp
from streamalert.records.outputs import AlertFired, ChangeObserved
from streamalert.text import clip, count, error_detail, number, pct, redact, signed, threshold

log = logging.getLogger("streamalert.notify")

Clock = Callable[[], datetime]
DEFAULT_PUBLIC_URL = "http://127.0.0.1:6066"
TEST_MARK = "[TEST]"
MAX_ERROR_CHARS = 300
MAX_BODY_BYTES = 64 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one send. `error` never holds a secret (webhook URL, key, password)."""

    delivered: bool
    retryable: bool = False
    status_code: int | None = None
    retry_after: float | None = None
    """Seconds the vendor asked us to wait (a 429's Retry-After), if it said."""
    error: str | None = None

    @classmethod
    def success(cls, status_code: int | None = None) -> SendResult:
        return cls(delivered=True, status_code=status_code)

    @classmethod
    def failure(
        cls,
        error: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> SendResult:
        return cls(
            delivered=False,
            retryable=retryable,
            status_code=status_code,
            retry_after=retry_after,
            error=clip(error, MAX_ERROR_CHARS),
        )


class Integration(Protocol):
    """One notification channel. `send` makes exactly one attempt and never raises for a
    vendor or network failure; it reports it in the result instead."""

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult: ...


def incident_of(event: AlertFired) -> int | None:
    """The incident number an event carries (a firing and its resolve share it), if the record has one."""
    value = getattr(event, "incident", None)
    return value if isinstance(value, int) else None


# --- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    text: str
    retry_after: str | None


TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)
"""What a request can raise when the vendor cannot be reached: always worth a retry."""


async def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    pin: CheckedUrl | None = None,
    headers: dict[str, str] | None = None,
) -> HttpReply:
    """POST `payload` as JSON once, without following redirects.

    With `pin`, the connection goes only to the addresses the webhook guard checked (the URL's
    host still names the TLS server and the Host header), so DNS cannot be rebound in between.
    Raises one of TRANSPORT_ERRORS when the server cannot be reached.
    """
    connector = pinned_connector(pin) if pin is not None else aiohttp.TCPConnector()
    request_headers = {"Content-Type": "application/json", "User-Agent": "streamalert"} | (headers or {})
    async with (
        aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session,
        session.post(url, data=orjson.dumps(payload), headers=request_headers, allow_redirects=False) as resp,
    ):
        body = await resp.content.read(MAX_BODY_BYTES)
        return HttpReply(resp.status, body.decode("utf-8", "replace"), resp.headers.get("Retry-After"))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date; None if absent or bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify_http(
    reply: HttpReply, *, expected: int, now: datetime, vendor: str, secrets: Iterable[str]
) -> SendResult:
    """The shared rule: `expected` succeeds; 429 and 5xx retry (429 with its Retry-After);
    anything else (other 4xx, redirects, unexpected 2xx) fails at once."""
    if reply.status == expected:
        return SendResult.success(reply.status)
    detail = error_detail(reply.text, secrets)
    error = f"{vendor} answered HTTP {reply.status}" + (f": {detail}" if detail else "")
    if reply.status == 429:
        return SendResult.failure(
            error,
            retryable=True,
            status_code=429,
            retry_after=parse_retry_after(reply.retry_after, now),
        )
    return SendResult.failure(error, retryable=reply.status >= 500, status_code=reply.status)


def transport_failure(vendor: str, exc: BaseException, secrets: Iterable[str]) -> SendResult:
    """A retryable failure describing a network error by its kind, never by its text (which may
    quote the URL)."""
    kind = type(exc).__name__
    reason = ""
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or ""
    elif isinstance(exc, OSError) and not isinstance(exc, aiohttp.ClientError):
        reason = exc.strerror or ""
    text = f"could not reach {vendor}: {kind}" + (f" ({reason})" if reason else "")
    return SendResult.failure(redact(text, secrets), retryable=True)


# --- wording shared by every message --------------------------------------------------------


def alert_url(public_url: str, alert_id: str) -> str:
    return f"{public_url.rstrip('/')}/alerts/{quote(alert_id, safe='')}"


def headline(event: AlertFired, *, test: bool = False) -> str:
    """`[FIRING] name`, `[RESOLVED] name`, with `[TEST] ` in front of a test send."""
    name = " ".join(event.name.split())
    return f"{TEST_MARK + ' ' if test else ''}[{event.state.upper()}] {name}"


def human_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def subject_text(event: AlertFired) -> str:
    """`source src-1, destination dst-2`: the subject ids present on the event."""
    parts = [
        f"{field.removesuffix('_id')} {value}"
        for field, value in event.subject.model_dump(exclude_none=True).items()
    ]
    return ", ".join(parts) or "-"


def threshold_text(event: AlertFired) -> str:
    limit = pct(threshold(event.threshold_pct))
    if isinstance(event.observed, ChangeObserved):
        return f"change beyond ±{limit}"
    return f"success rate below {limit}"


BASELINE_LABELS = {
    "previous_day": "Baseline (previous 24 h)",
    "same_day_last_week": "Baseline (same day last week)",
}
"""What the baseline row says it compared (the alert's `baseline`)."""


def facts(event: AlertFired) -> list[tuple[str, str]]:
    """Label/value pairs describing the event, in display order (at most 10: Slack's field limit)."""
    observed = event.observed
    rows = [("Kind", KINDS[event.kind].default_name), ("Subject", subject_text(event))]
    if isinstance(observed, ChangeObserved):
        rows += [
            ("Current (24 h)", count(observed.current)),
            (BASELINE_LABELS[event.baseline], count(observed.baseline)),
            ("Change", pct(signed(observed.change_pct))),
        ]
    else:
        rows += [
            ("Success rate", pct(number(observed.success_rate_pct))),
            ("Delivered / failed", f"{count(observed.delivered)} / {count(observed.failed)}"),
        ]
    rows += [
        ("Threshold", threshold_text(event)),
        ("Window", f"{human_time(event.window.start)} to {human_time(event.window.end)}"),
        ("Occurred at", human_time(event.occurred_at)),
    ]
    return rows


def machine_time(value: datetime) -> str:
    return format_timestamp(value)
