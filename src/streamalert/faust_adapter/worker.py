"""The Faust worker that runs a built app in the foreground."""

from __future__ import annotations

import logging
import sys

import faust

from streamalert.logs import install_safe_lines, logging_config
from streamalert.settings import Settings


class Worker(faust.Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        # Faust's terminal spinner lowers the root logger to DEBUG so that every record
        # spins it; every debug() call in aiokafka and Faust then builds a record. No spinner.
        self.spinner = None
        install_safe_lines(logger)


def run(app: faust.App, settings: Settings) -> None:
    """Run `app` until it is stopped."""
    Worker(
        app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings),
        quiet=not sys.stdout.isatty(),  # no banner or spinner in logs collected by a supervisor
        # Faust's default would re-route stdout into the log at WARN level.
        redirect_stdouts=False,
    ).execute_from_commandline()
