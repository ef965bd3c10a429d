"""The `streamalert` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from streamalert import __version__
from streamalert.kinds import ALERT_KINDS
from streamalert.settings import Settings, get_settings

if TYPE_CHECKING:
    from streamalert.app import StreamAlert
    from streamalert.client import ApiClient


@click.group()
@click.version_option(__version__, prog_name="streamalert")
def main() -> None:
    """Watch data pipelines through Kafka and alert when traffic fluctuates."""


@main.command()
def worker() -> None:
    """Run a worker: the Faust app and its HTTP API (settings from STREAMALERT_* variables)."""
    from streamalert.app import build

    settings = _settings_or_exit()
    prepare_worker(settings)
    run_worker(build(settings))


def prepare_worker(settings: Settings) -> None:
    """The data directory and the topics exist before Faust subscribes, with the partitions and
    policies of the catalogue. This is also the worker's first connection: a wrong address,
    password or CA, or topics with the wrong partitions, end it here with one line rather than in
    Faust's retry loops."""
    from streamalert.kafka_config import KafkaSetupError
    from streamalert.topics import ensure_topics

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(settings))
    except KafkaSetupError as error:
        click.echo(f"streamalert worker: {error}", err=True)
        sys.exit(1)
    finally:
        loop.close()


def run_worker(wiring: StreamAlert) -> None:
    """Run the built app in the foreground until it is stopped."""
    import faust

    from streamalert.logs import logging_config

    settings = wiring.settings

    class Worker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # Faust's terminal spinner lowers the root logger to DEBUG so that every record
            # spins it; every debug() call in aiokafka and Faust then builds a record. No spinner.
            self.spinner = None

    Worker(
        wiring.app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings),
        quiet=not sys.stdout.isatty(),  # no banner or spinner in logs collected by a supervisor
        # Faust's default would re-route stdout into the log at WARN level.
        redirect_stdouts=False,
    ).execute_from_commandline()


def _settings_or_exit() -> Settings:
    """The settings, or one line per invalid `STREAMALERT_*` variable and exit status 2."""
    from pydantic import ValidationError

    from streamalert.settings import describe_settings_error

    try:
        return get_settings()
    except ValidationError as error:
        click.echo(f"streamalert: invalid settings:\n{describe_settings_error(error)}", err=True)
        sys.exit(2)


def _kafka_setup(coroutine: Any) -> Any:
    """Run a coroutine that talks to Kafka; a KafkaSetupError is a one-line CLI error."""
    from streamalert.kafka_config import KafkaSetupError

    try:
        return asyncio.run(coroutine)
    except KafkaSetupError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def topics() -> None:
    """The topics of the catalogue."""


@topics.command("create")
def topics_create() -> None:
    """Create any missing topic (the worker also does this when it starts)."""
    from streamalert.topics import catalogue, ensure_topics, faust_topics

    settings = _settings_or_exit()
    created = _kafka_setup(ensure_topics(settings))
    for spec in catalogue(settings) + faust_topics(settings):
        state = "created" if spec.name in created else "exists"
        click.echo(f"{spec.name:40} {state}")


@topics.command("list")
def topics_list() -> None:
    """Print the topic catalogue: name, key and purpose."""
    from streamalert.topics import catalogue

    for spec in catalogue(get_settings()):
        click.echo(f"{spec.name:40} key={spec.key:40} {spec.description}")


@topics.command("tail")
@click.argument("name")
@click.option("--from-beginning", is_flag=True, help="start at the oldest record instead of now")
def topics_tail(name: str, from_beginning: bool) -> None:
    """Print the records of a topic as they arrive (NAME without the prefix, e.g. alert-fired)."""
    from aiokafka import AIOKafkaConsumer

    from streamalert.kafka_config import check_connection, client_options
    from streamalert.topics import topic_name

    settings = _settings_or_exit()
    topic = topic_name(settings, name)

    async def follow() -> None:
        await check_connection(settings)
        consumer = AIOKafkaConsumer(
            topic,
            **client_options(settings),
            group_id=None,
            auto_offset_reset="earliest" if from_beginning else "latest",
        )
        await consumer.start()
        try:
            click.echo(f"following {topic} (Ctrl-C stops)", err=True)
            async for record in consumer:
                key = record.key.decode(errors="replace") if record.key else "-"
                value = record.value.decode(errors="replace") if record.value else "(tombstone)"
                click.echo(f"{record.partition}:{record.offset} {key} {value}")
        finally:
            await consumer.stop()

    with contextlib.suppress(KeyboardInterrupt):
        _kafka_setup(follow())


@main.group()
def tokens() -> None:
    """API tokens, stored hashed on the compacted tokens topic that every worker follows."""


def _duration(text: str | None) -> timedelta | None:
    """`90m`, `12h`, `30d`, `2w` → a timedelta; None for no expiry."""
    if text is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise click.BadParameter("use a number and a unit: 90m, 12h, 30d or 2w", param_hint="--expires-in")
    return timedelta(**{units[unit]: int(number)})


@tokens.command("create")
@click.option("--workspace", required=True, help="workspace id the token belongs to")
@click.option("--user-id", required=True, help="id of the user the token acts as")
@click.option("--name", required=True, help="the user's display name")
@click.option("--role", type=click.Choice(["owner", "member"]), default="member", show_default=True)
@click.option("--expires-in", help="lifetime, e.g. 90m, 12h, 30d, 2w (default: no expiry)")
def tokens_create(workspace: str, user_id: str, name: str, role: str, expires_in: str | None) -> None:
    """Create a token; it is printed once, alone on the last line, and works on every worker."""
    from pydantic import ValidationError

    from streamalert.auth import Principal, new_token, publish_token
    from streamalert.kafka_config import client_options
    from streamalert.topics import ensure_topics, topic_name

    settings = get_settings()
    try:
        principal = Principal(workspace_id=workspace, user_id=user_id, name=name, role=role)
    except ValidationError as error:
        raise click.BadParameter(str(error)) from None
    token, stored = new_token(principal, datetime.now(UTC), _duration(expires_in))

    async def store() -> None:
        await ensure_topics(settings)
        await publish_token(client_options(settings), topic_name(settings, "tokens"), stored, stored.token_id)

    _kafka_setup(store())
    until = f", expires {stored.expires_at.isoformat()}" if stored.expires_at else ""
    click.echo(f"token {stored.token_id} for {name} ({user_id}, {role} of {workspace}){until}", err=True)
    click.echo(token)


def _stored_tokens() -> list[Any]:
    from streamalert.auth import TokenStore
    from streamalert.kafka_config import client_options
    from streamalert.topics import ensure_topics, topic_name

    settings = get_settings()

    async def read() -> list[Any]:
        await ensure_topics(settings)
        store = TokenStore(client_options(settings), topic_name(settings, "tokens"))
        await store.start()
        try:
            await store.wait_loaded()
            return store.all()
        finally:
            await store.stop()

    return list(_kafka_setup(read()))


@tokens.command("list")
@click.option("--workspace", help="only this workspace's tokens")
def tokens_list(workspace: str | None) -> None:
    """Print the tokens (their ids, never the tokens themselves)."""
    now = datetime.now(UTC)
    rows = [stored for stored in _stored_tokens() if workspace in (None, stored.workspace_id)]
    click.echo(f"{'ID':10} {'WORKSPACE':20} {'USER':20} {'ROLE':7} {'CREATED':20} EXPIRES")
    for stored in rows:
        expires = "never" if stored.expires_at is None else stored.expires_at.strftime("%Y-%m-%d %H:%M")
        if stored.expired(now):
            expires += " (expired)"
        created = stored.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{stored.token_id:10} {stored.workspace_id:20} {stored.user_id:20} {stored.role:7} {created:20} {expires}"
        )


@tokens.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id (the part after `sat_`): every worker refuses it within seconds."""
    from streamalert.auth import publish_token
    from streamalert.kafka_config import client_options
    from streamalert.topics import topic_name

    if token_id not in {stored.token_id for stored in _stored_tokens()}:
        raise click.ClickException(f"no token with id {token_id}")
    settings = get_settings()
    _kafka_setup(publish_token(client_options(settings), topic_name(settings, "tokens"), None, token_id))
    click.echo(f"revoked {token_id}")


def _client(url: str | None, token: str | None) -> ApiClient:
    from streamalert.client import ApiClient

    if not token:
        raise click.UsageError("no token: pass --token or set STREAMALERT_TOKEN")
    return ApiClient(url or f"http://127.0.0.1:{get_settings().web_port}", token)


api_options = [
    click.option("--url", envvar="STREAMALERT_API_URL", help="API base URL (default: this host's worker)"),
    click.option("--token", envvar="STREAMALERT_TOKEN", help="API token (or STREAMALERT_TOKEN)"),
]


def with_api(function: Any) -> Any:
    for option in reversed(api_options):
        function = option(function)
    return function


@main.group()
def alerts() -> None:
    """Manage alerts through the HTTP API."""


@alerts.command("list")
@with_api
def alerts_list(url: str | None, token: str | None) -> None:
    """Print the alerting table."""
    from streamalert.cli_format import alert_table

    client = _client(url, token)
    rows = _call(lambda: client.request("GET", f"/v1/workspaces/{client.workspace()}/alerts"))["alerts"]
    click.echo(alert_table(rows))


@alerts.command("create")
@with_api
@click.option("--kind", type=click.Choice(list(ALERT_KINDS)), help="alert kind")
@click.option("--name", help="alert name (default: one per kind)")
@click.option("--threshold", "threshold_pct", help="threshold in percent, e.g. 4 or 99.5")
@click.option("--source-id")
@click.option("--destination-id")
@click.option("--mapping-id")
@click.option("--audience-id")
@click.option("--disabled", is_flag=True, help="create it disabled")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    help="in_app | email:ADDRESS | slack:CHANNEL:URL | slack_workflow:URL | pagerduty:KEY | a JSON object",
)
@click.option("--file", "body_file", type=click.File("rb"), help="a JSON request body instead of the options")
def alerts_create(
    url: str | None, token: str | None, body_file: Any, channels: tuple[str, ...], **fields: Any
) -> None:
    """Create an alert and print it (secrets masked)."""
    import orjson

    from streamalert.cli_format import parse_channel

    if body_file is not None:
        body = orjson.loads(body_file.read())
    else:
        disabled = fields.pop("disabled")
        body = {key: value for key, value in fields.items() if value is not None}
        body["enabled"] = not disabled
        body["channels"] = [parse_channel(spec) for spec in channels]
    client = _client(url, token)
    created = _call(lambda: client.request("POST", f"/v1/workspaces/{client.workspace()}/alerts", body))
    click.echo(orjson.dumps(created, option=orjson.OPT_INDENT_2).decode())


@alerts.command("delete")
@with_api
@click.argument("alert_id")
def alerts_delete(url: str | None, token: str | None, alert_id: str) -> None:
    """Delete an alert (its creator or a workspace owner)."""
    client = _client(url, token)
    _call(lambda: client.request("DELETE", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}"))
    click.echo(f"deleted {alert_id}")


@alerts.command("test")
@with_api
@click.argument("alert_id")
def alerts_test(url: str | None, token: str | None, alert_id: str) -> None:
    """Send a test notification to every channel of an alert and print each outcome."""
    client = _client(url, token)
    path = f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}/test"
    results = _call(lambda: client.request("POST", path))["results"]
    for result in results:
        channel = result["channel"]
        detail = f" ({result['error']})" if result.get("error") else ""
        click.echo(f"{channel['type']:15} {channel['target']:50} {result['outcome']}{detail}")
    if any(result["outcome"] != "delivered" for result in results):
        raise SystemExit(1)


def _call(action: Callable[[], Any]) -> Any:
    from streamalert.client import ApiFailure

    try:
        return action()
    except ApiFailure as failure:
        raise click.ClickException(str(failure)) from None
    except OSError as error:
        raise click.ClickException(f"cannot reach the API: {error}") from None


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"), show_default=True
)
def schemas(out: Path) -> None:
    """Write the JSON Schema of every record type."""
    from streamalert.records.schemas import write_schemas

    for path in write_schemas(out):
        click.echo(str(path))


def _register_commands() -> None:
    from streamalert.simulate import simulate_command
    from streamalert.sink import sink_command

    main.add_command(simulate_command)
    main.add_command(sink_command)


_register_commands()

if __name__ == "__main__":
    main()
