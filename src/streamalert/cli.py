"""The `streamalert` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from streamalert import __version__
from streamalert.settings import get_settings


@click.group()
@click.version_option(__version__, prog_name="streamalert")
def main() -> None:
    """Watch data pipelines through Kafka and alert when traffic fluctuates."""


@main.command()
def worker() -> None:
    """Run a worker: the Faust app, its HTTP API and UI (settings from STREAMALERT_* variables)."""
    import faust

    from streamalert.app import build
    from streamalert.topics import ensure_topics

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Topics exist before Faust subscribes, with the partitions and policies of the catalogue.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(settings))
    finally:
        loop.close()
    wiring = build(settings)
    faust.Worker(
        wiring.app,
        loglevel=settings.log_level,
        quiet=not sys.stdout.isatty(),  # no banner or spinner in logs collected by a supervisor
        # Faust's default would re-route stdout into the log at WARN level.
        redirect_stdouts=False,
    ).execute_from_commandline()


@main.group()
def topics() -> None:
    """The topics of the catalogue."""


@topics.command("create")
def topics_create() -> None:
    """Create any missing topic (the worker also does this when it starts)."""
    from streamalert.topics import catalogue, ensure_topics

    settings = get_settings()
    created = asyncio.run(ensure_topics(settings))
    for spec in catalogue(settings):
        state = "created" if spec.name in created else "exists"
        click.echo(f"{spec.name:40} {state}")


@topics.command("list")
def topics_list() -> None:
    """Print the topic catalogue: name, key and purpose."""
    from streamalert.topics import catalogue

    for spec in catalogue(get_settings()):
        click.echo(f"{spec.name:40} key={spec.key:40} {spec.description}")


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"), show_default=True
)
def schemas(out: Path) -> None:
    """Write the JSON Schema of every record type."""
    from streamalert.records.schemas import write_schemas

    for path in write_schemas(out):
        click.echo(str(path))


if __name__ == "__main__":
    main()
