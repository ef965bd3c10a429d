import logging
from pathlib import Path

import pytest
from aiohttp import web

from streamalert.auth import TokenStore
from streamalert.settings import Settings
from streamalert.web.ui.middleware import SESSION_KEY
from streamalert.web.ui.pages import add_ui_routes


def settings(data_dir: Path, **values: object) -> Settings:
    return Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]


def tokens() -> TokenStore:
    return TokenStore({"bootstrap_servers": "127.0.0.1:1"}, "p.tokens")


def test_the_configured_secret_signs_sessions(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    application = web.Application()
    with caplog.at_level(logging.WARNING):
        add_ui_routes(application, settings(tmp_path, session_secret="s3cret"), tokens())
    assert application[SESSION_KEY] == b"s3cret"
    assert "STREAMALERT_SESSION_SECRET" not in caplog.text


def test_without_a_secret_the_worker_says_sessions_are_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    application = web.Application()
    with caplog.at_level(logging.WARNING):
        add_ui_routes(application, settings(tmp_path), tokens())
    assert application[SESSION_KEY] == (tmp_path / "session.key").read_bytes()
    assert "STREAMALERT_SESSION_SECRET is not set" in caplog.text


def test_a_read_only_data_directory_falls_back_to_a_key_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # the key file cannot be made under a regular file, even by root
    application = web.Application()
    with caplog.at_level(logging.WARNING):
        add_ui_routes(application, settings(blocker), tokens())
    assert len(application[SESSION_KEY]) == 32
    assert "cannot keep a session key" in caplog.text
