"""Email over SMTP: a text and an HTML part, threaded firing → resolved.

- Server: `smtp://[user:pass@]host[:port]` (port 25 by default; STARTTLS when offered) or
  `smtps://…` (implicit TLS, port 465 by default), from `settings.smtp_url`.
- Subject `[FIRING] <name>` / `[RESOLVED] <name>`, with `[TEST] ` in front for a test send.
- `Message-ID` is deterministic: `<{event_id}@streamalert>` (`<test.{event_id}@streamalert>`
  for a test send), so a retried or repeated send carries the same id and receivers can drop
  the duplicate.
- A resolved mail sets `In-Reply-To` and `References` to the Message-ID of its firing mail. The
  firing's event id is derived from the resolved event: it is
  `streamalert.evaluation.event_id(alert_id, incident, "firing")`, the rule that made it. A caller
  may pass its own `firing_event_id(resolved_event)` instead; when neither knows (no incident
  number), the mail is sent unthreaded.
- `Auto-Submitted: auto-generated` (RFC 3834) keeps auto-responders quiet.

SMTP 4xx replies and connection errors are retried; 5xx replies fail at once.
"""

from __future__ import annotations

import html
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from hashlib import sha256
from urllib.parse import unquote, urlsplit

import aiosmtplib

from streamalert.evaluation.state import event_id as transition_event_id
from streamalert.notify.base import (
    DEFAULT_PUBLIC_URL,
    Clock,
    SendResult,
    alert_url,
    facts,
    headline,
    incident_of,
    transport_failure,
    utc_now,
)
from streamalert.records.alerts import EmailChannel
from streamalert.records.outputs import AlertFired
from streamalert.text import error_detail

MESSAGE_ID_DOMAIN = "streamalert"
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
FiringLookup = Callable[[AlertFired], str | None]


def derived_firing_event_id(event: AlertFired) -> str | None:
    """The event id of the firing that `event` (a resolve) closes, by the evaluation's id rule."""
    incident = incident_of(event)
    return None if incident is None else transition_event_id(event.alert_id, incident, "firing")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """From `smtp://[user:pass@]host[:port]` or `smtps://…`; ValueError (without the password)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://[user:pass@]host:port or smtps://…")
        try:
            port = parts.port
        except ValueError as error:
            raise ValueError("SMTP URL has an invalid port") from error
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=port or (465 if use_tls else 25),
            use_tls=use_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )


def message_id(event_id: str, *, test: bool = False) -> str:
    """`<{event_id}@streamalert>`; an event id that is not a valid dot-atom is hashed."""
    local = event_id if _DOT_ATOM.fullmatch(event_id) else sha256(event_id.encode()).hexdigest()[:32]
    return f"<{'test.' if test else ''}{local}@{MESSAGE_ID_DOMAIN}>"


def _text_body(event: AlertFired, *, test: bool, link: str) -> str:
    lines = []
    if test:
        lines += ["This is a test notification from streamalert; nothing is wrong.", ""]
    lines += [headline(event, test=test), "", event.summary, ""]
    lines += [f"{label}: {value}" for label, value in facts(event)]
    lines += ["", f"View the alert: {link}", "", f"Event {event.event_id}, workspace {event.workspace_id}."]
    return "\n".join(lines) + "\n"


def _html_body(event: AlertFired, *, test: bool, link: str) -> str:
    e = html.escape
    colour = "#c0392b" if event.state == "firing" else "#27ae60"
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in facts(event)
    )
    banner = (
        "<p><strong>This is a test notification from streamalert; nothing is wrong.</strong></p>"
        if test
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html><body>"
        f"{banner}"
        f'<h2 style="color:{colour}">{e(headline(event, test=test))}</h2>'
        f"<p>{e(event.summary)}</p>"
        f"<table>{rows}</table>"
        f'<p><a href="{e(link, quote=True)}">View the alert</a></p>'
        f'<p style="color:#888">Event {e(event.event_id)}, workspace {e(event.workspace_id)}.</p>'
        "</body></html>\n"
    )


def email_message(
    event: AlertFired,
    *,
    sender: str,
    recipient: str,
    test: bool = False,
    public_url: str = DEFAULT_PUBLIC_URL,
    firing_event_id: str | None = None,
    clock: Clock = utc_now,
) -> EmailMessage:
    """The mail for `event`: multipart/alternative, text then HTML."""
    link = alert_url(public_url, event.alert_id)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = headline(event, test=test)
    message["Date"] = format_datetime(clock())
    message["Message-ID"] = message_id(event.event_id, test=test)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    if event.state == "resolved" and firing_event_id and not test:
        parent = message_id(firing_event_id)
        message["In-Reply-To"] = parent
        message["References"] = parent
    message.set_content(_text_body(event, test=test, link=link))
    message.add_alternative(_html_body(event, test=test, link=link), subtype="html")
    return message


class EmailIntegration:
    """Mails one address through the configured SMTP server."""

    vendor = "the SMTP server"

    def __init__(
        self,
        channel: EmailChannel,
        *,
        smtp_url: str,
        sender: str,
        public_url: str = DEFAULT_PUBLIC_URL,
        firing_event_id: FiringLookup = derived_firing_event_id,
        clock: Clock = utc_now,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._recipient = str(channel.address)
        self._server = SmtpServer.parse(smtp_url)
        self._sender = sender
        self._public_url = public_url
        self._firing_event_id = firing_event_id
        self._clock = clock
        self._tls_context = tls_context
        self._secrets = tuple(s for s in (self._server.password, smtp_url) if s)

    async def send(self, event: AlertFired, *, test: bool = False) -> SendResult:
        firing = self._firing_event_id(event) if event.state == "resolved" and not test else None
        message = email_message(
            event,
            sender=self._sender,
            recipient=self._recipient,
            test=test,
            public_url=self._public_url,
            firing_event_id=firing,
            clock=self._clock,
        )
        server = self._server
        try:
            await aiosmtplib.send(
                message,
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                tls_context=self._tls_context,
                timeout=None,
            )
        except aiosmtplib.SMTPResponseException as error:
            return self._reply_failure(error.code, error.message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients] or [550]
            return self._reply_failure(max(codes), "; ".join(r.message for r in error.recipients))
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPConnectError,
            OSError,
            TimeoutError,
        ) as error:
            return transport_failure(self.vendor, error, self._secrets)
        except aiosmtplib.SMTPException as error:
            detail = error_detail(str(error), self._secrets)
            return SendResult.failure(f"SMTP failed: {detail or type(error).__name__}", retryable=False)
        return SendResult.success()

    def _reply_failure(self, code: int, text: str) -> SendResult:
        detail = error_detail(text, self._secrets)
        return SendResult.failure(
            f"SMTP server answered {code}" + (f": {detail}" if detail else ""),
            retryable=400 <= code < 500,
            status_code=code,
        )
