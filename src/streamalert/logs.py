"""Worker logging: readable text by default, one JSON object per line when asked for."""

from __future__ import annotations

from typing import Any

from streamalert.settings import Settings


def logging_config(settings: Settings) -> dict[str, Any] | None:
    """A `logging.config.dictConfig` for the worker; None keeps Faust's text format."""
    if settings.log_format != "json":
        return None
    level = {"warn": "WARNING"}.get(settings.log_level, settings.log_level.upper())
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }
