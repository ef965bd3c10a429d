import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streamalert.web.ui.session import (
    csrf_token,
    csrf_valid,
    safe_next,
    session_key,
    sign_session,
    verify_session,
)

KEY = b"k" * 32
OTHER = b"o" * 32
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
DIGEST = "ab" * 32
VALID = sign_session(KEY, DIGEST, NOW + timedelta(hours=1))


def _tampered(value: str, index: int) -> str:
    parts = value.split(".")
    parts[index] = parts[index][:-1] + ("0" if parts[index][-1] != "0" else "1")
    return ".".join(parts)


@pytest.mark.parametrize(
    ("key", "value", "now", "expected"),
    [
        (KEY, VALID, NOW, DIGEST),
        (KEY, VALID, NOW + timedelta(minutes=59), DIGEST),
        (KEY, VALID, NOW + timedelta(hours=1), None),  # expired at the instant it ends
        (KEY, VALID, NOW + timedelta(days=1), None),
        (OTHER, VALID, NOW, None),  # signed with another worker group's key
        (KEY, _tampered(VALID, 0), NOW, None),  # another token's digest
        (KEY, _tampered(VALID, 1), NOW, None),  # a later expiry
        (KEY, _tampered(VALID, 2), NOW, None),
        (KEY, "", NOW, None),
        (KEY, "a.b", NOW, None),
        (KEY, "a.b.c.d", NOW, None),
        (KEY, f"{DIGEST}.-5.{'0' * 64}", NOW, None),
    ],
)
def test_verify_session(key: bytes, value: str, now: datetime, expected: str | None) -> None:
    assert verify_session(key, value, now) == expected


def test_the_cookie_holds_no_token_and_the_csrf_token_is_bound_to_it() -> None:
    token = "sat_0011aabb_secret-part"
    assert token not in VALID and "secret" not in VALID
    other = sign_session(KEY, "cd" * 32, NOW + timedelta(hours=1))
    assert csrf_valid(KEY, VALID, csrf_token(KEY, VALID))
    assert not csrf_valid(KEY, other, csrf_token(KEY, VALID))
    assert not csrf_valid(OTHER, VALID, csrf_token(KEY, VALID))
    assert not csrf_valid(KEY, VALID, None)
    assert not csrf_valid(KEY, VALID, "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("/alerts/al-1", "/alerts/al-1"),
        ("/alerts/al-1?tab=history#x", "/alerts/al-1?tab=history#x"),
        (None, "/"),
        ("", "/"),
        ("alerts/al-1", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("https://evil.example/alerts/1", "/"),
        ("javascript:alert(1)", "/"),
        ("/alerts/1\r\nSet-Cookie: x=1", "/"),
        ("/\tevil", "/"),
        ("/sign-in?next=/", "/"),
    ],
)
def test_safe_next(raw: str | None, expected: str) -> None:
    assert safe_next(raw) == expected


def test_a_configured_secret_wins(tmp_path: Path) -> None:
    assert session_key("configured", tmp_path) == b"configured"
    assert not (tmp_path / "session.key").exists()


def test_without_a_secret_a_worker_keeps_one_generated_key(tmp_path: Path) -> None:
    data = tmp_path / "state"
    first = session_key(None, data)
    second = session_key(None, data)  # after a restart
    path = data / "session.key"
    assert first == second and len(first) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["session.key"]  # no temporary left
    assert session_key(None, tmp_path / "other") != first
