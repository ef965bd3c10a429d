"""Tokens: only hashes are stored; the store authenticates, expires and revokes (no Kafka here:
records are applied to the store as its topic view would)."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from streamalert.auth import Principal, StoredToken, TokenStore, new_token

ALICE = Principal(workspace_id="ws", user_id="alice", name="Alice", role="owner")
BOB = Principal(workspace_id="ws", user_id="bob", name="Bob", role="member")
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def record(offset: int, key: str, stored: StoredToken | bytes | None) -> ConsumerRecord[bytes, bytes]:
    value = orjson.dumps(stored.model_dump(mode="json")) if isinstance(stored, StoredToken) else stored
    return ConsumerRecord(
        topic="p.tokens",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key.encode(),
        value=value,  # type: ignore[arg-type]
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value or b""),
        headers=(),
    )


def store_with(*records: ConsumerRecord[bytes, bytes]) -> TokenStore:
    store = TokenStore({"bootstrap_servers": "127.0.0.1:1"}, "p.tokens")
    for item in records:
        store.apply(item)
    return store


def test_a_token_is_stored_by_its_hash_only() -> None:
    token, stored = new_token(ALICE, NOW)
    assert token.startswith("sat_") and token.split("_", 2)[1] == stored.token_id
    serialized = orjson.dumps(stored.model_dump(mode="json"))
    assert token.encode() not in serialized and token.split("_", 2)[2].encode() not in serialized
    store = store_with(record(0, stored.token_id, stored))
    assert store.authenticate(token, NOW) == ALICE
    assert store.authenticate(token + "x", NOW) is None
    assert store.authenticate("", NOW) is None


def test_a_tombstone_revokes_and_a_new_record_replaces() -> None:
    alice_token, alice = new_token(ALICE, NOW)
    bob_token, bob = new_token(BOB, NOW)
    store = store_with(record(0, alice.token_id, alice), record(1, bob.token_id, bob))
    assert store.authenticate(alice_token, NOW) == ALICE and store.authenticate(bob_token, NOW) == BOB
    store.apply(record(2, alice.token_id, None))
    assert store.authenticate(alice_token, NOW) is None
    assert store.authenticate(bob_token, NOW) == BOB
    assert [stored.token_id for stored in store.all()] == [bob.token_id]


@pytest.mark.parametrize(
    ("expires_in", "at", "valid"),
    [
        (None, NOW + timedelta(days=3650), True),
        (timedelta(hours=1), NOW + timedelta(minutes=59), True),
        (timedelta(hours=1), NOW + timedelta(hours=1), False),
        (timedelta(hours=1), NOW + timedelta(days=1), False),
    ],
)
def test_tokens_expire(expires_in: timedelta | None, at: datetime, valid: bool) -> None:
    token, stored = new_token(ALICE, NOW, expires_in)
    store = store_with(record(0, stored.token_id, stored))
    assert (store.authenticate(token, at) == ALICE) is valid


def test_a_token_that_is_not_printable_ascii_is_simply_unknown() -> None:
    token, stored = new_token(ALICE, NOW)
    store = store_with(record(0, stored.token_id, stored))
    # aiohttp hands undecodable header bytes over as surrogates: "\udcff" for 0xFF.
    for bad in (token + "\udcff", "sat_\udcff", token + "\n", "sat_\u00e9", "\x00"):
        assert store.authenticate(bad, NOW) is None
    assert store.authenticate(token, NOW) == ALICE


def test_a_record_that_is_not_a_token_authenticates_nobody() -> None:
    store = store_with(record(0, "abc", b"{not json"), record(1, "def", b'{"token_id": "def"}'))
    assert store.all() == []
