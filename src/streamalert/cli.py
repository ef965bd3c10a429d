"""The `streamalert` command."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from streamalert import __version__
from streamalert.cli_format import CliError, ExitCode, as_json, output_option
from streamalert.kinds import ALERT_KINDS, BASELINES
from streamalert.settings import Settings, get_settings

if TYPE_CHECKING:
    from streamalert.client import ApiClient
    from streamalert.wiring import StreamAlert


def user_problem(error: Exception) -> CliError | None:
    """The one-line error for a mistake of the user's that surfaced as an exception, if it is one."""
    from pydantic import ValidationError

    from streamalert.cli_format import mask_url
    from streamalert.settings import describe_settings_error

    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        problems = "; ".join(describe_settings_error(error).splitlines())
        return CliError(f"invalid setting {problems}", ExitCode.USAGE)
    if type(error).__module__.startswith("aiokafka"):
        from aiokafka.errors import KafkaConnectionError

        # Commands check the connection first (kafka_config.check_connection); this is the
        # fallback for a broker lost later.
        if isinstance(error, KafkaConnectionError):
            broker = mask_url(get_settings().broker)
            return CliError(f"cannot reach Kafka at {broker} (STREAMALERT_BROKER): {error}", ExitCode.ERROR)
    return None


class StreamAlertCli(click.Group):
    """Settings errors and an unreachable broker end any command with one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            problem = user_problem(error)
            if problem is None:
                raise
            raise problem from None


@click.group(cls=StreamAlertCli)
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
    from streamalert.faust_adapter.worker import run

    run(wiring.app, wiring.settings)


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
@output_option
def topics_list(output: str) -> None:
    """Print the topic catalogue: name, key and purpose."""
    from streamalert.topics import catalogue

    specs = catalogue(get_settings())
    if output == "json":
        click.echo(as_json([{"name": s.name, "key": s.key, "description": s.description} for s in specs]))
        return
    for spec in specs:
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


def _duration(text: str | None, option: str = "--expires-in") -> timedelta | None:
    """`90m`, `12h`, `30d`, `2w` → a timedelta; None for no expiry."""
    if text is None:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise click.BadParameter("use a number and a unit: 90m, 12h, 30d or 2w", param_hint=option)
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
@output_option
def tokens_list(workspace: str | None, output: str) -> None:
    """Print the tokens (their ids, never the tokens themselves)."""
    now = datetime.now(UTC)
    rows = [stored for stored in _stored_tokens() if workspace in (None, stored.workspace_id)]
    if output == "json":
        # Not even the hash: scripts need who a token is for and whether it still works.
        listed = [
            stored.model_dump(mode="json", exclude={"sha256"}) | {"expired": stored.expired(now)}
            for stored in rows
        ]
        click.echo(as_json(listed))
        return
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


def _path_segment(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An id as one URL path segment: `a b` or `x/y` is looked up (and not found), not a broken URL."""
    from urllib.parse import quote

    return quote(value, safe="")


def _client(url: str | None, token: str | None) -> ApiClient:
    from streamalert.client import ApiClient

    if not token:
        raise click.UsageError("no token: pass --token or set STREAMALERT_TOKEN")
    if url is not None and not url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--url")
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
@output_option
def alerts_list(url: str | None, token: str | None, output: str) -> None:
    """Print the alerting table."""
    from streamalert.cli_format import alert_table

    client = _client(url, token)
    rows = _call(lambda: client.request("GET", f"/v1/workspaces/{client.workspace()}/alerts"))["alerts"]
    click.echo(as_json(rows) if output == "json" else alert_table(rows))


@alerts.command("get")
@with_api
@output_option
@click.argument("alert_id", callback=_path_segment)
def alerts_get(url: str | None, token: str | None, output: str, alert_id: str) -> None:
    """Print one alert (secrets masked)."""
    from streamalert.cli_format import alert_detail

    client = _client(url, token)
    alert = _call(lambda: client.request("GET", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}"))
    click.echo(as_json(alert) if output == "json" else alert_detail(alert))


@alerts.command("history")
@with_api
@output_option
@click.argument("alert_id", callback=_path_segment)
def alerts_history(url: str | None, token: str | None, output: str, alert_id: str) -> None:
    """Print an alert's state, its status changes and its delivery attempts, newest first."""
    from streamalert.cli_format import history_view

    client = _client(url, token)
    history = _call(
        lambda: client.request("GET", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}/history")
    )
    click.echo(as_json(history) if output == "json" else history_view(history))


def _set_enabled(url: str | None, token: str | None, alert_id: str, enabled: bool) -> None:
    client = _client(url, token)
    _call(
        lambda: client.request(
            "PATCH", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}", {"enabled": enabled}
        )
    )
    click.echo(f"{'enabled' if enabled else 'disabled'} {alert_id}")


@alerts.command("enable")
@with_api
@click.argument("alert_id", callback=_path_segment)
def alerts_enable(url: str | None, token: str | None, alert_id: str) -> None:
    """Enable an alert: it is evaluated again from the next tick."""
    _set_enabled(url, token, alert_id, True)


@alerts.command("disable")
@with_api
@click.argument("alert_id", callback=_path_segment)
def alerts_disable(url: str | None, token: str | None, alert_id: str) -> None:
    """Disable an alert: it is no longer evaluated and keeps its last state."""
    _set_enabled(url, token, alert_id, False)


def _patch(url: str | None, token: str | None, alert_id: str, body: dict[str, Any]) -> Any:
    client = _client(url, token)
    return _call(
        lambda: client.request("PATCH", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}", body)
    )


def _muted_until(for_: str | None, until: str | None, now: datetime) -> datetime:
    from streamalert.records.common import parse_timestamp

    if (for_ is None) == (until is None):
        raise click.UsageError("give one of --for or --until")
    if until is not None:
        try:
            return parse_timestamp(until)
        except ValueError:
            raise click.BadParameter(
                "use an RFC 3339 time with an offset, e.g. 2026-11-28T14:00:00Z", param_hint="--until"
            ) from None
    duration = _duration(for_, "--for")
    assert duration is not None
    return now + duration


@alerts.command("mute")
@with_api
@output_option
@click.option("--for", "for_", help="how long, e.g. 90m, 2h, 1d, 2w")
@click.option("--until", help="until an RFC 3339 time, e.g. 2026-11-28T14:00:00Z")
@click.argument("alert_id", callback=_path_segment)
def alerts_mute(
    url: str | None, token: str | None, output: str, for_: str | None, until: str | None, alert_id: str
) -> None:
    """Mute an alert: it is still evaluated and published, but notifies no channel until then.

    A firing that started while muted is notified once when the mute ends, if it still fires;
    a resolve still reaches the channels that received the firing."""
    from streamalert.records.common import format_timestamp

    muted_until = _muted_until(for_, until, datetime.now(UTC))
    alert = _patch(url, token, alert_id, {"muted_until": format_timestamp(muted_until)})
    click.echo(as_json(alert) if output == "json" else f"muted {alert_id} until {alert['muted_until']}")


@alerts.command("unmute")
@with_api
@output_option
@click.argument("alert_id", callback=_path_segment)
def alerts_unmute(url: str | None, token: str | None, output: str, alert_id: str) -> None:
    """Unmute an alert: if it is firing since a muted firing, it notifies once on the next tick."""
    alert = _patch(url, token, alert_id, {"muted_until": None})
    click.echo(as_json(alert) if output == "json" else f"unmuted {alert_id}")


@alerts.command("create")
@with_api
@click.option("--kind", type=click.Choice(list(ALERT_KINDS)), help="alert kind")
@click.option("--name", help="alert name (default: one per kind)")
@click.option("--threshold", "threshold_pct", help="threshold in percent, e.g. 4 or 99.5")
@click.option(
    "--baseline",
    type=click.Choice(list(BASELINES)),
    help="change kinds: compare with previous_day (default) or same_day_last_week",
)
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
    from streamalert.cli_format import json_argument, parse_channel

    if body_file is not None:
        body = json_argument(body_file.read(), "--file")
    else:
        disabled = fields.pop("disabled")
        body = {key: value for key, value in fields.items() if value is not None}
        if "threshold_pct" in body:
            body["threshold_pct"] = _json_number(body["threshold_pct"])
        body["enabled"] = not disabled
        body["channels"] = [parse_channel(spec) for spec in channels]
    client = _client(url, token)
    created = _call(lambda: client.request("POST", f"/v1/workspaces/{client.workspace()}/alerts", body))
    click.echo(as_json(created))


def _json_number(text: str) -> int | float:
    """The API takes numbers as JSON numbers, not strings."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise click.BadParameter(f"not a number: {text}", param_hint="--threshold")
    return int(value) if value == value.to_integral_value() else float(value)


@alerts.command("delete")
@with_api
@click.argument("alert_id", callback=_path_segment)
def alerts_delete(url: str | None, token: str | None, alert_id: str) -> None:
    """Delete an alert (its creator or a workspace owner)."""
    client = _client(url, token)
    _call(lambda: client.request("DELETE", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}"))
    click.echo(f"deleted {alert_id}")


@alerts.command("test")
@with_api
@output_option
@click.argument("alert_id", callback=_path_segment)
def alerts_test(url: str | None, token: str | None, output: str, alert_id: str) -> None:
    """Send a test notification to every channel of an alert and print each outcome."""
    from streamalert.cli_format import channel_results_table

    client = _client(url, token)
    results = _call(
        lambda: client.request("POST", f"/v1/workspaces/{client.workspace()}/alerts/{alert_id}/test")
    )["results"]
    click.echo(as_json(results) if output == "json" else channel_results_table(results))
    failed = sum(1 for result in results if result["outcome"] != "delivered")
    if failed:
        raise CliError(f"{failed} of {len(results)} channels failed", ExitCode.CHANNEL_FAILED)


def _workspace_alerts(client: ApiClient, workspace: str) -> list[dict[str, Any]]:
    """Every alert of the workspace in full (secrets masked): the list has no channels."""
    path = f"/v1/workspaces/{workspace}/alerts"
    rows = _call(lambda: client.request("GET", path))["alerts"]
    return [_call(partial(client.request, "GET", f"{path}/{row['id']}")) for row in rows]


@alerts.command("export")
@with_api
def alerts_export(url: str | None, token: str | None) -> None:
    """Write the workspace's alerts as an `alerts apply` file (YAML, secrets masked) to stdout."""
    from streamalert.alerts.ascode import export_document

    client = _client(url, token)
    found = _workspace_alerts(client, _call(client.workspace))
    for alert in found:
        if alert.get("key") is None:
            click.echo(f"{alert['id']} has no key: exported with its id as key", err=True)
    click.echo(export_document(found), nl=False)


@alerts.command("apply")
@with_api
@click.option("-f", "--file", "alerts_file", type=click.File("r"), required=True, help="the YAML file")
@click.option("--dry-run", is_flag=True, help="print the plan, change nothing")
@click.option("--prune", is_flag=True, help="also delete the workspace's alerts the file does not name")
def alerts_apply(url: str | None, token: str | None, alerts_file: Any, dry_run: bool, prune: bool) -> None:
    """Make the workspace's alerts what the file says: print the plan, then carry it out.

    Every alert is checked before anything is written; `${VAR}` takes the environment variable's
    value (`$${VAR}` is a literal `${VAR}`); a masked secret keeps the stored one."""
    from streamalert.alerts.ascode import FileProblems, check_file, compute_plan, load_file

    name = alerts_file.name
    try:
        document = load_file(alerts_file.read())
    except FileProblems as error:
        _file_problems(name, error.problems)
    desired, problems = check_file(document)
    if problems:
        _file_problems(name, problems)
    client = _client(url, token)
    caller = _call(lambda: client.request("GET", "/v1/me"))
    workspace = caller["workspace_id"]
    plan = compute_plan(document, desired, _workspace_alerts(client, workspace), prune, caller)
    if plan.problems:
        _file_problems(name, plan.problems)
    for action in plan.actions:
        target = action.key + (
            f" ({action.alert_id})" if action.alert_id and action.alert_id != action.key else ""
        )
        changes = f": {'; '.join(action.changes)}" if action.changes else ""
        click.echo(f"{action.action:10} {target}{changes}")
    counts = f"{plan.count('create')} to create, {plan.count('update')} to update, "
    counts += f"{plan.count('unchanged')} unchanged" + (
        f", {plan.count('delete')} to delete" if prune else ""
    )
    if not plan.writes:
        click.echo(f"nothing to change ({counts})")
        return
    click.echo(f"plan: {counts}")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    _carry_out(client, workspace, plan.writes)


def _file_problems(name: str, problems: list[Any]) -> None:
    for problem in problems:
        click.echo(problem.describe(name), err=True)
    counted = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    raise CliError(f"{name}: {counted}; nothing written", ExitCode.USAGE)


def _carry_out(client: ApiClient, workspace: str, writes: list[Any]) -> None:
    """The plan's writes in order, a progress line each; a refusal stops it, saying how far it got."""
    path = f"/v1/workspaces/{workspace}/alerts"
    done = {"create": "created", "update": "updated", "delete": "deleted"}
    for number, action in enumerate(writes, 1):
        if action.action == "create":
            request = partial(client.request, "POST", path, action.body)
        elif action.action == "update":
            request = partial(client.request, "PATCH", f"{path}/{action.alert_id}", action.body)
        else:
            request = partial(client.request, "DELETE", f"{path}/{action.alert_id}")
        try:
            answer = _call(request)
        except CliError as error:
            error.message = (
                f"{action.action} {action.key} failed after {number - 1} of {len(writes)} changes: "
                + error.message
            )
            raise
        alert_id = answer["id"] if answer else action.alert_id
        click.echo(f"[{number}/{len(writes)}] {done[action.action]} {action.key} ({alert_id})", err=True)
    click.echo(f"applied {len(writes)} change(s)")


@main.group()
def notifications() -> None:
    """The workspace's in-app notifications (the bell)."""


@notifications.command("list")
@with_api
@output_option
def notifications_list(url: str | None, token: str | None, output: str) -> None:
    """Print the in-app notifications, newest first, and how many are unread."""
    from streamalert.cli_format import notification_table

    client = _client(url, token)
    body = _call(lambda: client.request("GET", f"/v1/workspaces/{client.workspace()}/notifications"))
    click.echo(as_json(body) if output == "json" else notification_table(body))


def _call(action: Callable[[], Any]) -> Any:
    from streamalert.client import ApiFailure, ApiUnreachable

    try:
        return action()
    except ApiFailure as failure:
        code = ExitCode.REFUSED if 400 <= failure.status < 500 else ExitCode.ERROR
        raise CliError(str(failure), code) from None
    except ApiUnreachable as error:
        raise CliError(str(error), ExitCode.UNREACHABLE) from None


@main.command("config")
@output_option
def config(output: str) -> None:
    """Print the effective settings and where each came from; secrets are masked."""
    import os

    from streamalert.cli_format import effective_settings, settings_table
    from streamalert.settings import Settings

    env_file = Settings.model_config.get("env_file")
    dotenv: dict[str, str | None] = {}
    if isinstance(env_file, str | Path) and Path(env_file).is_file():
        from dotenv import dotenv_values

        dotenv = dotenv_values(env_file)
    rows = effective_settings(get_settings(), os.environ, dotenv)
    click.echo(as_json([row.model_dump() for row in rows]) if output == "json" else settings_table(rows))


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
