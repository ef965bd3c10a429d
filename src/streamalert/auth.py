"""API tokens: each belongs to one user in one workspace with a role, and may expire.

Only hashes are stored, as records on the compacted `tokens` topic (key = token id, a tombstone
revokes it), which every worker follows in full: a token created or revoked from any host is
known to every worker within a second, with no file to copy. A request with a token this worker
has not seen yet first catches up with the topic, so a token works on every worker at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, StringConstraints, ValidationError

from streamalert.records.common import Id, Timestamp
from streamalert.topic_view import TopicView

Role = Literal["owner", "member"]
TOKEN_PREFIX = "sat_"


class Principal(BaseModel):
    """Who is calling: the user and workspace a token belongs to."""

    workspace_id: Id
    user_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Role


class StoredToken(Principal):
    """A token as the `tokens` topic holds it: who it is for and its hash, never the token."""

    token_id: str
    sha256: str
    created_at: Timestamp
    expires_at: Timestamp | None = None

    def principal(self) -> Principal:
        return Principal.model_validate(self.model_dump(include=set(Principal.model_fields)))

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(
    principal: Principal, now: datetime, expires_in: timedelta | None = None
) -> tuple[str, StoredToken]:
    """A fresh token (shown only once) and the record that stores its hash."""
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    stored = StoredToken(
        **principal.model_dump(),
        token_id=token_id,
        sha256=digest(token),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    return token, stored


async def publish_token(
    kafka: Mapping[str, Any], topic: str, stored: StoredToken | None, token_id: str
) -> None:
    """Write a token record (or, with `stored` None, the tombstone revoking `token_id`);
    `kafka`: the client options of `streamalert.kafka_config.client_options`."""
    producer = AIOKafkaProducer(**kafka, client_id="streamalert-tokens-cli", acks="all")
    await producer.start()
    try:
        value = orjson.dumps(stored.model_dump(mode="json")) if stored is not None else None
        await producer.send_and_wait(topic, key=token_id.encode(), value=value)
    finally:
        await producer.stop()


class TokenStore(TopicView):
    """Every worker's view of the `tokens` topic, looked up by hash."""

    def __init__(self, kafka: Mapping[str, Any], topic: str) -> None:
        super().__init__(kafka, topic, client_id="streamalert-tokens", writable=True)
        self._by_id: dict[str, StoredToken] = {}
        self._by_hash: dict[str, StoredToken] = {}

    def authenticate(self, token: str, now: datetime | None = None) -> Principal | None:
        # Tokens are printable ASCII; a header that is not (aiohttp keeps undecodable bytes as
        # surrogates) cannot be one, and must not reach `digest`, which cannot encode it.
        if not (token.isascii() and token.isprintable()):
            return None
        stored = self._by_hash.get(digest(token))
        if stored is None or stored.expired(now or datetime.now(UTC)):
            return None
        return stored.principal()

    def by_digest(self, token_digest: str, now: datetime | None = None) -> Principal | None:
        """The holder of the token with this SHA-256 (a browser session names its token so)."""
        stored = self._by_hash.get(token_digest)
        if stored is None or stored.expired(now or datetime.now(UTC)):
            return None
        return stored.principal()

    def all(self) -> list[StoredToken]:
        return sorted(self._by_id.values(), key=lambda stored: (stored.created_at, stored.token_id))

    async def add(self, stored: StoredToken) -> None:
        await self.write(stored.token_id.encode(), orjson.dumps(stored.model_dump(mode="json")))

    async def revoke(self, token_id: str) -> bool:
        if token_id not in self._by_id:
            return False
        await self.write(token_id.encode(), None)
        return True

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.key is None:
            return
        token_id = record.key.decode("utf-8", "replace")
        known = self._by_id.pop(token_id, None)
        if known is not None:
            self._by_hash.pop(known.sha256, None)
        if record.value is None:
            return
        try:
            stored = StoredToken.model_validate_json(record.value)
        except ValidationError:
            return  # not a token record: it authenticates nobody
        self._by_id[token_id] = stored
        self._by_hash[stored.sha256] = stored
