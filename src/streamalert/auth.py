"""API tokens: each belongs to one user in one workspace with a role. Only hashes are stored.

The tokens file (`STREAMALERT_TOKENS_FILE`) is JSON; workers re-read it when it changes,
so `streamalert tokens create` takes effect without a restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, Field, StringConstraints

from streamalert.records.common import Id, Timestamp

Role = Literal["owner", "member"]
TOKEN_PREFIX = "sat_"


class Principal(BaseModel):
    """Who is calling: the user and workspace a token belongs to."""

    workspace_id: Id
    user_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Role


class StoredToken(Principal):
    token_id: str
    sha256: str
    created_at: Timestamp


class TokenFile(BaseModel):
    tokens: list[StoredToken] = Field(default_factory=list)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(path: Path, principal: Principal, now: datetime | None = None) -> str:
    """Add a token for `principal` to the file and return it; it is shown only this once."""
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    stored = StoredToken(
        **principal.model_dump(), token_id=token_id, sha256=digest(token), created_at=now or datetime.now(UTC)
    )
    with _locked(path):
        current = _read(path)
        current.tokens.append(stored)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(current.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
        os.chmod(temporary, 0o600)
        temporary.replace(path)
    return token


class TokenStore:
    """Looks tokens up by hash, re-reading the file when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._by_hash: dict[str, Principal] = {}

    def authenticate(self, token: str) -> Principal | None:
        # Tokens are printable ASCII; a header that is not (aiohttp keeps undecodable bytes as
        # surrogates) cannot be one, and must not reach `digest`, which cannot encode it.
        if not (token.isascii() and token.isprintable()):
            return None
        self._refresh()
        wanted = digest(token)
        for known, principal in self._by_hash.items():
            if hmac.compare_digest(known, wanted):
                return principal
        return None

    def _refresh(self) -> None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._by_hash = None, {}
            return
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp == self._stamp:
            return
        loaded = _read(self.path)
        self._by_hash = {
            token.sha256: Principal.model_validate(token.model_dump(include=set(Principal.model_fields)))
            for token in loaded.tokens
        }
        self._stamp = stamp


def _read(path: Path) -> TokenFile:
    try:
        return TokenFile.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return TokenFile()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
