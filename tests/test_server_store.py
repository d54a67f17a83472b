"""The reference server's account stores, and the account-loading helpers."""

from __future__ import annotations

import re
import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reference_impl.server import (
    MemoryStore,
    SqliteStore,
    Store,
    accounts_from_env,
    accounts_from_file,
    key_digest,
    load_accounts,
    new_key,
    parse_account_spec,
)
from reference_impl.server.passwords import FAST

PASSWORD = "p a+s&s=w%41rd-ünï"
UUID4_HEX = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        made: Store = MemoryStore()
    else:
        made = SqliteStore(tmp_path / "k.db", password_cost=FAST)
    with made:
        made.add_account("alice", PASSWORD)
        yield made


def test_credentials_authenticate_only_with_the_right_password(store: Store) -> None:
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"
    assert store.authenticate_credentials("alice", PASSWORD + "x") is None
    assert store.authenticate_credentials("alice", "") is None
    assert store.authenticate_credentials("bob", PASSWORD) is None
    assert store.count_accounts() == 1


def test_add_account_again_changes_the_password_and_keeps_the_key(store: Store) -> None:
    key = store.rotate("alice")
    store.add_account("alice", "new secret")
    assert store.authenticate_credentials("alice", PASSWORD) is None
    assert store.authenticate_credentials("alice", "new secret") == "alice"
    assert store.authenticate_key(key) == "alice"
    assert store.count_accounts() == 1


@pytest.mark.parametrize(("user", "password"), [("", "x"), ("u", "")])
def test_empty_user_or_password_is_refused(store: Store, user: str, password: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        store.add_account(user, password)


def test_no_key_before_the_first_rotation(store: Store) -> None:
    assert store.current_key_digest("alice") is None
    assert store.authenticate_key("0" * 32) is None


def test_rotate_replaces_the_key(store: Store) -> None:
    first = store.rotate("alice")
    assert UUID4_HEX.fullmatch(first)
    assert store.authenticate_key(first) == "alice"
    assert store.current_key_digest("alice") == key_digest(first)
    second = store.rotate("alice")
    assert second != first
    assert store.authenticate_key(first) is None
    assert store.authenticate_key(second) == "alice"
    assert store.authenticate_key(second.upper()) is None
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"


def test_rotate_by_key_needs_the_current_key(store: Store) -> None:
    first = store.rotate("alice")
    rotated = store.rotate_by_key(first)
    assert rotated is not None
    account, second = rotated
    assert account == "alice" and second != first
    assert store.rotate_by_key(first) is None
    assert store.rotate_by_key("not-a-key") is None
    assert store.authenticate_key(second) == "alice"


def test_rotate_of_an_unknown_account_fails(store: Store) -> None:
    with pytest.raises(KeyError):
        store.rotate("nobody")


def test_keys_of_different_accounts_are_independent(store: Store) -> None:
    store.add_account("bob", "bob's password")
    alice, bob = store.rotate("alice"), store.rotate("bob")
    store.rotate("alice")
    assert store.authenticate_key(alice) is None
    assert store.authenticate_key(bob) == "bob"


def test_concurrent_rotations_leave_one_returned_key(store: Store) -> None:
    barrier = threading.Barrier(50)

    def once(_: int) -> str:
        barrier.wait()
        return store.rotate("alice")

    with ThreadPoolExecutor(max_workers=50) as pool:
        keys = list(pool.map(once, range(50)))
    assert len(set(keys)) == 50
    valid = [key for key in keys if store.authenticate_key(key) is not None]
    assert len(valid) == 1
    assert store.current_key_digest("alice") == key_digest(valid[0])


def test_concurrent_rotations_by_one_key_succeed_once(store: Store) -> None:
    key = store.rotate("alice")
    barrier = threading.Barrier(20)

    def once(_: int) -> tuple[str, str] | None:
        barrier.wait()
        return store.rotate_by_key(key)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = [r for r in pool.map(once, range(20)) if r is not None]
    assert len(results) == 1
    assert store.authenticate_key(results[0][1]) == "alice"


def test_sqlite_store_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SqliteStore(path, FAST) as first:
        first.add_account("alice", PASSWORD)
        first.rotate("alice")
        last = first.rotate("alice")
    with SqliteStore(path, FAST) as second:
        assert second.authenticate_key(last) == "alice"
        assert second.authenticate_credentials("alice", PASSWORD) == "alice"
        assert second.current_key_digest("alice") == key_digest(last)
        assert second.count_accounts() == 1


def test_sqlite_file_holds_no_secret_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SqliteStore(path, FAST) as store:
        store.add_account("alice", PASSWORD)
        key = store.rotate("alice")
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert PASSWORD.encode() not in data and key.encode() not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_sqlite_stores_on_one_file_see_each_others_rotations(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SqliteStore(path, FAST) as one, SqliteStore(path, FAST) as two:
        one.add_account("alice", PASSWORD)
        key = two.rotate("alice")
        assert one.authenticate_key(key) == "alice"
        newer = one.rotate("alice")
        assert two.authenticate_key(key) is None
        assert two.authenticate_key(newer) == "alice"


# --- loading accounts ---------------------------------------------------------


def test_account_spec_splits_on_the_first_colon() -> None:
    assert parse_account_spec("alice:pa:ss:") == ("alice", "pa:ss:")
    assert parse_account_spec("alice: spaced ") == ("alice", " spaced ")


@pytest.mark.parametrize("text", ["no-colon-secret", ":secret", "alice:"])
def test_bad_account_spec_is_refused_without_echo(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_account_spec(text)
    assert text not in str(info.value)


def test_accounts_from_env() -> None:
    env = {"REGENKEY_ACCOUNTS": "alice:a:1\n\nbob:b b\r\n"}
    assert accounts_from_env(env) == [("alice", "a:1"), ("bob", "b b")]
    assert accounts_from_env({}) == []
    with pytest.raises(ValueError, match="line 2") as info:
        accounts_from_env({"REGENKEY_ACCOUNTS": "alice:x\nsecretpassword"})
    assert "secretpassword" not in str(info.value)


def test_accounts_from_file_and_load(tmp_path: Path) -> None:
    path = tmp_path / "accounts.txt"
    path.write_text(f"# comment\nalice:{PASSWORD}\n\ncarol:c:d\n", encoding="utf-8")
    accounts = accounts_from_file(path)
    assert accounts == [("alice", PASSWORD), ("carol", "c:d")]
    store = MemoryStore()
    assert load_accounts(store, accounts) == 2
    assert store.authenticate_credentials("carol", "c:d") == "carol"
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"


def test_new_keys_are_the_hex_of_random_version_4_uuids() -> None:
    keys = [new_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        parsed = uuid.UUID(hex=key)
        assert parsed.hex == key  # 32 lower-case hex digits, nothing else
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every other bit varies: no position but the version and variant is fixed.
    for position in set(range(32)) - {12, 16}:
        assert len({key[position] for key in keys}) == 16, position
