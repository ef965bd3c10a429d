"""Worker logging: readable text by default, one JSON object per line when asked for.

Every line is safe to read in a terminal and to parse by line: control characters in a
message (a newline or ANSI escape in an alert name, a header, a record) are written escaped,
as `\\n` or `\\x1b`, by a filter on every handler of the root logger (`SafeLines`), so no
call site has to remember it. Tracebacks keep their own line breaks.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from streamalert.settings import Settings

# C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """`text` with every character that could break or recolour a log line escaped."""
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group(), m.group().encode("unicode_escape").decode()), text)


class SafeLines(logging.Filter):
    """Escapes control characters in each record's message, before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: the handler reports it, as without this filter
            return True
        safe = escape_controls(message)
        if safe != message:
            record.msg, record.args = safe, ()
        return True


def install_safe_lines(logger: logging.Logger) -> None:
    """Put `SafeLines` on every handler of `logger` (records propagate to handlers, not filters)."""
    for handler in logger.handlers:
        if not any(isinstance(f, SafeLines) for f in handler.filters):
            handler.addFilter(SafeLines())


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
