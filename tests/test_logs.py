import io
import logging
import logging.config

import orjson
import pytest

from streamalert.logs import SafeLines, escape_controls, install_safe_lines, logging_config
from streamalert.settings import Settings


def test_text_logs_keep_fausts_format() -> None:
    assert logging_config(Settings(log_format="text")) is None


def test_json_logs_are_one_object_per_line() -> None:
    config = logging_config(Settings(log_format="json", log_level="warn"))
    assert config is not None
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        logging.getLogger("streamalert.test").warning("alert %s firing", "al-1")
        logging.getLogger("streamalert.test").info("not shown at warn")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = orjson.loads(lines[0])
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "streamalert.test",
        "alert al-1 firing",
    )
    assert "time" in entry


@pytest.mark.parametrize(
    ("message", "written"),
    [
        ("plain words", "plain words"),
        ("x\n2026-01-01 FAKE LINE\x1b[31m", "x\\n2026-01-01 FAKE LINE\\x1b[31m"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("tab\tstays", "tab\tstays"),
        ("nul\x00 del\x7f c1\x9b", "nul\\x00 del\\x7f c1\\x9b"),
        ("line\u2028separator", "line\\u2028separator"),
        ("accents é and 漢字 stay", "accents é and 漢字 stay"),
    ],
)
def test_control_characters_are_escaped(message: str, written: str) -> None:
    assert escape_controls(message) == written


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_record_on_the_root_handlers_is_one_safe_line(log_format: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_safe_lines(root)
        install_safe_lines(root)  # idempotent
        assert sum(isinstance(f, SafeLines) for f in handler.filters) == 1
        # From any logger, with the payload in the arguments or in the message itself.
        logging.getLogger("streamalert.anything").warning("alert %s created", "x\n2026-01-01 FAKE\x1b[31m")
        logging.getLogger("aiohttp.server").warning("raw\nline\x1b[0m")
        logging.raiseExceptions = False  # a record whose arguments do not fit: not raised here
        logging.getLogger("streamalert.anything").warning("%d items", "not a number")
    finally:
        logging.raiseExceptions = True
        root.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the bad record is dropped by the handler, as without the filter
    assert "\x1b" not in stream.getvalue()
    assert "2026-01-01 FAKE\\x1b[31m" in lines[0].replace("\\\\", "\\")
