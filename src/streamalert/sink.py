"""`streamalert sink`: a local catch-all for notifications, for the demo and for trying things.

It answers like the vendors do (Slack `ok`, PagerDuty 202) and prints one line per
message received: Slack and Slack workflow webhooks (any path under /slack/ and
/workflow/), PagerDuty's `/v2/enqueue`, and mail on an SMTP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
from typing import Any

import click
import orjson
from aiohttp import web

SINK_EXTRA = "streamalert sink needs the 'sink' extra: pip install 'streamalert[sink]' (make install has it)"


def say(kind: str, text: str) -> None:
    click.echo(f"{click.style(f'[sink:{kind}]', fg='cyan')} {text}", err=False)


async def slack(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    say("slack", body.get("text", "").splitlines()[0] if body.get("text") else "(blocks only)")
    return web.Response(text="ok")


async def workflow(request: web.Request) -> web.Response:
    body: dict[str, Any] = orjson.loads(await request.read())
    say("slack-workflow", f"{body.get('state', '?')}: {body.get('summary', '')}")
    return web.Response(text="ok")


async def pagerduty(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    say(
        "pagerduty",
        f"{body.get('event_action')} {body.get('dedup_key')}: {body.get('payload', {}).get('summary', '')}",
    )
    return web.json_response(
        {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")}, status=202
    )


class MailPrinter:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        say("email", f"to {', '.join(envelope.rcpt_tos)}: {message['Subject']}")
        return "250 Message accepted for delivery"


@click.command("sink")
@click.option(
    "--http-port", default=8025, show_default=True, help="port for the webhook and PagerDuty endpoints"
)
@click.option("--smtp-port", default=2525, show_default=True, help="port for SMTP")
@click.option("--host", default="127.0.0.1", show_default=True)
def sink_command(http_port: int, smtp_port: int, host: str) -> None:
    """Receive notifications locally and print them (Slack, workflows, PagerDuty, email)."""
    try:
        # An extra, not a runtime dependency: the worker never needs an SMTP server.
        from aiosmtpd.controller import Controller
    except ImportError:
        raise click.ClickException(SINK_EXTRA) from None

    async def serve() -> None:
        application = web.Application()
        application.router.add_post("/slack/{tail:.*}", slack)
        application.router.add_post("/workflow/{tail:.*}", workflow)
        application.router.add_post("/v2/enqueue", pagerduty)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, http_port).start()
        mail = Controller(MailPrinter(), hostname=host, port=smtp_port)
        mail.start()
        say(
            "ready",
            f"webhooks on http://{host}:{http_port}/slack/… /workflow/… /v2/enqueue, SMTP on {host}:{smtp_port}",
        )
        try:
            await asyncio.Event().wait()
        finally:
            mail.stop()
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
