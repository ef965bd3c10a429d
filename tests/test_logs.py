import io
import logging
import logging.config

import orjson

from streamalert.logs import logging_config
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
