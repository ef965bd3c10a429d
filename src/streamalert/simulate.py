"""`streamalert simulate`: realistic pipeline metrics for demos and benchmarks (to be written)."""

from __future__ import annotations

import click


@click.command("simulate")
def simulate_command() -> None:
    """Publish realistic metrics: backfilled history, a daily shape, anomalies on demand."""
    raise click.ClickException("not implemented yet")
