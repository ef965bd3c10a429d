import logging
from pathlib import Path

import pytest
from aiohttp import web

from streamalert.auth import TokenStore
from streamalert.settings import Settings
from streamalert.web.ui.middleware import SESSION_KEY
from streamalert.web.ui.pages import add_ui_routes


def settings(tokens_file: Path, **values: object) -> Settings:
    return Settings(tokens_file=tokens_file, **values)  # type: ignore[arg-type]


def test_the_configured_secret_signs_sessions(tmp_path: Path) -> None:
    application = web.Application()
    add_ui_routes(
        application, settings(tmp_path / "tokens.json", session_secret="s3cret"), TokenStore(tmp_path)
    )
    assert application[SESSION_KEY] == b"s3cret"


def test_a_read_only_tokens_directory_falls_back_to_a_key_of_this_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # the key file cannot be made under a regular file, even by root
    application = web.Application()
    with caplog.at_level(logging.WARNING):
        add_ui_routes(application, settings(blocker / "tokens.json"), TokenStore(blocker / "tokens.json"))
    assert len(application[SESSION_KEY]) == 32
    assert "STREAMALERT_SESSION_SECRET" in caplog.text
