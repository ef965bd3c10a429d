"""Browser sessions: a signed cookie naming a token by its digest, never the token itself. Pure.

The cookie value is `<token sha256>.<expiry, epoch seconds>.<HMAC-SHA256 of both>`. A session is
only as good as its token: the caller looks the digest up in the tokens file on every request,
so revoking the token ends every session signed in with it. The CSRF token is an HMAC of the
cookie value, so it is bound to the session and needs no server-side storage.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

COOKIE = "streamalert_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)


def _mac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def sign_session(key: bytes, token_digest: str, expires_at: datetime) -> str:
    payload = f"{token_digest}.{int(expires_at.timestamp())}"
    return f"{payload}.{_mac(key, 'session', payload)}"


def verify_session(key: bytes, value: str, now: datetime) -> str | None:
    """The token digest a valid, unexpired cookie names; None for anything else."""
    parts = value.split(".")
    if len(parts) != 3:
        return None
    token_digest, expiry, mac = parts
    if not hmac.compare_digest(mac, _mac(key, "session", f"{token_digest}.{expiry}")):
        return None
    if not expiry.isdigit() or int(expiry) <= now.timestamp():
        return None
    return token_digest


def csrf_token(key: bytes, session: str) -> str:
    return _mac(key, "csrf", session)


def csrf_valid(key: bytes, session: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(sent, csrf_token(key, session))


def safe_next(raw: str | None) -> str:
    """Where to go after sign-in: a path on this site, else `/` (no open redirect)."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in raw):
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or raw.startswith("/sign-in"):
        return "/"
    return raw


def session_key(secret: str | None, data_dir: Path) -> bytes:
    """The key sessions are signed with: the configured secret (the same on every worker, so a
    session works on all), else this worker's own key file in its data directory (mode 0600),
    which keeps its sessions across restarts. The file is created atomically: it appears only
    with its whole content.
    """
    if secret:
        return secret.encode()
    path = data_dir / "session.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".session.key.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(temporary, path)  # fails if another worker made it first: then read theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes().strip()
