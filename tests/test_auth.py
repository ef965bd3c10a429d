import os
from pathlib import Path

from streamalert.auth import Principal, TokenStore, create_token

ALICE = Principal(workspace_id="ws", user_id="alice", name="Alice", role="owner")


def test_tokens_are_stored_hashed_and_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "tokens.json"
    token = create_token(path, ALICE)
    assert token.startswith("sat_")
    assert token not in path.read_text()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    store = TokenStore(path)
    assert store.authenticate(token) == ALICE
    assert store.authenticate(token + "x") is None
    assert store.authenticate("") is None


def test_the_store_sees_tokens_created_after_it_loaded(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = TokenStore(path)
    assert store.authenticate("sat_nothing") is None  # no file yet
    first = create_token(path, ALICE)
    assert store.authenticate(first) == ALICE
    bob = Principal(workspace_id="ws", user_id="bob", name="Bob", role="member")
    second = create_token(path, bob)
    assert store.authenticate(second) == bob
    assert store.authenticate(first) == ALICE


def test_a_token_that_is_not_printable_ascii_is_simply_unknown(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    token = create_token(path, ALICE)
    store = TokenStore(path)
    # aiohttp hands undecodable header bytes over as surrogates: "\udcff" for 0xFF.
    for bad in (token + "\udcff", "sat_\udcff", token + "\n", "sat_é", "\x00"):
        assert store.authenticate(bad) is None
