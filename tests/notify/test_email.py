"""Email through a real SMTP server (aiosmtpd in this process): parts, headers, threading, errors."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from streamalert.evaluation.state import event_id
from streamalert.notify.email import EmailIntegration, SmtpServer, message_id
from streamalert.notify.pipeline import RetryPolicy, deliver
from streamalert.records.alerts import EmailChannel
from streamalert.records.outputs import AlertFired, DeliveryAttempt, MaskedTarget
from tests.notify.servers import SmtpRecorder, change_event, free_port, rate_event, smtp_server

__all__ = ["smtp_server"]

Smtp = tuple[SmtpRecorder, int]
CHANNEL = EmailChannel(type="email", address="oncall@example.com")


def mailer(port: int, **kwargs: object) -> EmailIntegration:
    return EmailIntegration(
        CHANNEL,
        smtp_url=f"smtp://127.0.0.1:{port}",
        sender="streamalert@example.com",
        **kwargs,  # type: ignore[arg-type]
    )


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def test_a_firing_mail_has_both_parts_and_the_headers(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    result = await mailer(port, public_url="https://alerts.example.com").send(change_event())
    assert result.delivered, result.error
    (mail,) = recorder.mails
    assert (mail.sender, mail.recipients) == ("streamalert@example.com", ["oncall@example.com"])
    message = parse(mail.data)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "[FIRING] Orders source volume"
    assert message["From"] == "streamalert@example.com" and message["To"] == "oncall@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == f"<{change_event().event_id}@streamalert>"
    assert message["In-Reply-To"] is None and message["Date"]
    text, html = parts(message)
    assert "Source volume change for source src-orders: 80 events" in text
    assert "Change: \u221220.00 %" in text and "Threshold: change beyond ±4 %" in text
    assert "https://alerts.example.com/alerts/alert-src-volume" in text
    assert '<a href="https://alerts.example.com/alerts/alert-src-volume">' in html
    assert "<th" in html and "\u221220.00 %" in html


async def test_the_resolved_mail_threads_to_its_firing_mail(smtp_server: Smtp) -> None:
    """By default the firing's event id is derived from the resolve's alert id and incident."""
    recorder, port = smtp_server
    firing, resolved = rate_event(incident=3), rate_event("resolved", incident=3)
    integration = mailer(port)
    assert (await integration.send(firing)).delivered
    assert (await integration.send(resolved)).delivered
    first, second = (parse(mail.data) for mail in recorder.mails)
    assert first["Message-ID"] == f"<{event_id('alert-dst-rate', 3, 'firing')}@streamalert>"
    assert second["Subject"] == "[RESOLVED] Warehouse delivery rate"
    assert second["Message-ID"] == f"<{resolved.event_id}@streamalert>" != first["Message-ID"]
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    assert second["Auto-Submitted"] == "auto-generated"
    assert "Success rate: 99.90 %" in parts(second)[0]


async def test_a_caller_lookup_decides_the_thread(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    known = {change_event("resolved").event_id: "custom-firing-id"}
    integration = mailer(port, firing_event_id=lambda event: known.get(event.event_id))
    assert (await integration.send(change_event("resolved"))).delivered
    assert (await integration.send(rate_event("resolved"))).delivered
    threaded, unthreaded = (parse(mail.data) for mail in recorder.mails)
    assert threaded["In-Reply-To"] == threaded["References"] == "<custom-firing-id@streamalert>"
    assert unthreaded["In-Reply-To"] is None and unthreaded["References"] is None


async def test_a_test_mail_says_so(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    assert (
        await mailer(port, firing_event_id=lambda e: "x").send(change_event("resolved"), test=True)
    ).delivered
    message = parse(recorder.mails[0].data)
    assert message["Subject"] == "[TEST] [RESOLVED] Orders source volume"
    assert message["Message-ID"] == f"<test.{change_event('resolved').event_id}@streamalert>"
    assert message["In-Reply-To"] is None
    text, html = parts(message)
    assert text.startswith("This is a test notification") and "test notification" in html


async def test_everything_in_the_html_part_is_escaped(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    event = change_event(name="<script>alert(1)</script>", summary='"quoted" & <b>bold</b>')
    assert (await mailer(port).send(event)).delivered
    message = parse(recorder.mails[0].data)
    assert message["Subject"] == "[FIRING] <script>alert(1)</script>"
    _, html = parts(message)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&quot;quoted&quot; &amp; &lt;b&gt;" in html


async def test_a_name_with_newlines_cannot_inject_headers(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    assert (await mailer(port).send(change_event(name="Orders\r\nBcc: victim@example.com"))).delivered
    message = parse(recorder.mails[0].data)
    assert message["Bcc"] is None and message["Subject"] == "[FIRING] Orders Bcc: victim@example.com"


def test_message_ids_are_deterministic_and_valid() -> None:
    assert message_id("evt-1") == message_id("evt-1") == "<evt-1@streamalert>"
    odd = message_id("alert 1 <firing> @ 09:00")
    assert odd == message_id("alert 1 <firing> @ 09:00")
    assert odd.startswith("<") and odd.endswith("@streamalert>") and " " not in odd and odd.count("@") == 1


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("451 4.3.0 Try again later", True),
        ("452 Insufficient storage", True),
        ("550 5.1.1 No such user", False),
        ("554 Rejected", False),
    ],
)
async def test_smtp_replies_are_classified(smtp_server: Smtp, reply: str, retryable: bool) -> None:
    recorder, port = smtp_server
    recorder.script = [reply]
    result = await mailer(port).send(change_event())
    code = int(reply[:3])
    assert (result.delivered, result.retryable, result.status_code) == (False, retryable, code)
    assert result.error is not None and result.error.startswith(f"SMTP server answered {code}")


async def test_a_4xx_reply_is_retried_by_the_pipeline(smtp_server: Smtp) -> None:
    recorder, port = smtp_server
    recorder.script = ["451 Try again later"]
    attempts: list[DeliveryAttempt] = []

    async def record(attempt: DeliveryAttempt) -> None:
        attempts.append(attempt)

    async def no_sleep(seconds: float) -> None:
        return None

    target = MaskedTarget(type="email", target="oncall@example.com")
    final = await deliver(mailer(port), change_event(), target, record=record, sleep=no_sleep)
    assert [(a.outcome, a.status_code) for a in attempts] == [("retrying", 451), ("delivered", None)]
    assert final.outcome == "delivered" and len(recorder.mails) == 1


async def test_an_unreachable_server_is_retryable() -> None:
    result = await mailer(free_port()).send(change_event())
    assert (result.delivered, result.retryable) == (False, True)
    assert result.error is not None and result.error.startswith("could not reach the SMTP server")


async def test_the_password_never_appears_in_an_error(smtp_server: Smtp) -> None:
    _, port = smtp_server
    secret = "hunter2-very-secret"
    for url in (f"smtp://bot:{secret}@127.0.0.1:{port}", f"smtp://bot:{secret}@127.0.0.1:{free_port()}"):
        integration = EmailIntegration(CHANNEL, smtp_url=url, sender="s@example.com")
        result = await deliver(
            integration,
            change_event(),
            MaskedTarget(type="email", target="oncall@example.com"),
            policy=RetryPolicy(max_attempts=1),
            record=_ignore,
        )
        assert result.outcome == "failed" and result.error
        assert secret not in result.model_dump_json()


async def _ignore(attempt: DeliveryAttempt) -> None:
    return None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:25", SmtpServer("127.0.0.1", 25, False)),
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25, False)),
        ("smtps://mail.example.com", SmtpServer("mail.example.com", 465, True)),
        (
            "smtp://bot:p%40ss%3Aw@mail.example.com:2525",
            SmtpServer("mail.example.com", 2525, False, "bot", "p@ss:w"),
        ),
        ("smtps://bot:x@[::1]:465", SmtpServer("::1", 465, True, "bot", "x")),
    ],
)
def test_smtp_urls(url: str, expected: SmtpServer) -> None:
    assert SmtpServer.parse(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://u:secretpw@host:99999"])
def test_bad_smtp_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        SmtpServer.parse(url)
    assert "secretpw" not in str(caught.value)


def test_a_rate_event_fixture_is_an_alert_fired() -> None:
    assert isinstance(rate_event(), AlertFired)
