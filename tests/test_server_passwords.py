"""How the reference server's stores keep and check passwords (issue 13 item
15, and item 12 at the store): scrypt at a modern cost unless told otherwise,
no two passwords that one HMAC key would make equal, a cache of verified
passwords that spares repeated logins and every apiKey rotation the hash,
a bounded cache of refusals that spares a repeated wrong password the hash
(and never a new guess),
old PBKDF2 rows still verified and rehashed, database files private."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_impl.server import MemoryStore, SqliteStore, Store, StoreError, passwords
from reference_impl.server.login_cache import UNKNOWN, RefusedCache
from reference_impl.server.passwords import FAST, MODERN, PasswordCost, parse_cost

PASSWORD = "Right-pa55word"


@pytest.fixture
def kdf_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts calls of scrypt and of PBKDF2 (``[scrypt, pbkdf2]``)."""
    calls = [0, 0]
    scrypt, pbkdf2 = hashlib.scrypt, hashlib.pbkdf2_hmac

    def counting(index: int, real: Callable[..., bytes]) -> Callable[..., bytes]:
        def call(*args: Any, **kwargs: Any) -> bytes:
            calls[index] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(passwords.hashlib, "scrypt", counting(0, scrypt))
    monkeypatch.setattr(passwords.hashlib, "pbkdf2_hmac", counting(1, pbkdf2))
    yield calls


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "k", FAST)
    with made:
        made.add_account("alice", PASSWORD)
        yield made


@pytest.mark.parametrize("padded", [PASSWORD + "\x00", PASSWORD + "\x00" * 30, "\x00" + PASSWORD])
def test_a_password_padded_with_nul_bytes_is_not_the_password(store: Store, padded: str) -> None:
    """PBKDF2 and scrypt use the password as an HMAC key, which HMAC pads with
    zero bytes: the stored hash is over the password's SHA-256 instead."""
    assert store.authenticate_credentials("alice", padded) is None
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"


def test_the_hash_is_over_the_digest_so_no_two_hmac_keys_coincide() -> None:
    salt = bytes(16)
    long_password = "x" * 70  # over HMAC's 64-byte block: HMAC would hash it first
    assert passwords.hash_password(PASSWORD, salt, FAST) != passwords.hash_password(
        PASSWORD + "\x00", salt, FAST
    )
    assert passwords.hash_password(long_password, salt, FAST) != passwords.hash_password(
        hashlib.sha256(long_password.encode()).digest().decode("latin-1"), salt, FAST
    )


@pytest.mark.parametrize(("user", "password"), [("alice", "a\x00b"), ("a\x00", "x"), ("u", "\t")])
def test_accounts_with_control_characters_are_refused(
    store: Store, user: str, password: str
) -> None:
    with pytest.raises(ValueError, match="control characters") as info:
        store.add_account(user, password)
    assert password not in str(info.value)


def test_a_verified_password_is_cached_and_a_key_rotation_never_hashes(
    store: Store, kdf_calls: list[int]
) -> None:
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"
    assert kdf_calls == [1, 0]  # the first login pays the hash
    key = store.rotate("alice")
    for _ in range(5):
        assert store.authenticate_credentials("alice", PASSWORD) == "alice"
        rotated = store.rotate_by_key(key)
        assert rotated is not None
        key = rotated[1]
    assert kdf_calls == [1, 0]  # the same right password again, and rotations: no hash
    assert store.authenticate_credentials("alice", PASSWORD + "!") is None
    assert store.authenticate_credentials("nobody", PASSWORD) is None
    assert kdf_calls == [3, 0]  # a new wrong password and an unknown user pay it


def test_a_refusal_repeated_exactly_costs_no_hash_and_a_new_guess_always_does(
    store: Store, kdf_calls: list[int]
) -> None:
    for _ in range(3):
        assert store.authenticate_credentials("alice", PASSWORD + "!") is None
        assert store.authenticate_credentials("nobody", PASSWORD) is None
    assert kdf_calls == [2, 0]  # each pair refused once paid the hash, never again
    guesses = [PASSWORD + str(n) for n in range(5)] + [PASSWORD.upper(), PASSWORD[:-1]]
    for guess in guesses:
        assert store.authenticate_credentials("alice", guess) is None
    assert kdf_calls == [2 + len(guesses), 0]  # online guessing is as slow as before
    assert store.authenticate_credentials("bob", PASSWORD + "!") is None  # another user
    assert kdf_calls == [3 + len(guesses), 0]
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"


def test_a_refused_password_verifies_once_it_becomes_the_password(store: Store) -> None:
    """A refusal is tied to the stored hash: a new password, or a new account,
    is checked again, never answered from the cache."""
    assert store.authenticate_credentials("alice", "Next-pa55word") is None
    assert store.authenticate_credentials("carol", "Carol-pa55") is None
    store.add_account("alice", "Next-pa55word")
    store.add_account("carol", "Carol-pa55")
    assert store.authenticate_credentials("alice", "Next-pa55word") == "alice"
    assert store.authenticate_credentials("carol", "Carol-pa55") == "carol"
    assert store.authenticate_credentials("alice", PASSWORD) is None


def test_the_refused_cache_is_bounded_and_forgets_the_oldest_first() -> None:
    cache = RefusedCache(entries=3)
    for n in range(5):
        cache.remember("alice", b"stored", f"wrong-{n}")
    assert len(cache) == 3
    assert not cache.hit("alice", b"stored", "wrong-0")
    assert not cache.hit("alice", b"stored", "wrong-1")
    assert cache.hit("alice", b"stored", "wrong-2")  # and now the newest
    cache.remember("alice", b"stored", "wrong-5")
    assert cache.hit("alice", b"stored", "wrong-2") and not cache.hit("alice", b"stored", "wrong-3")
    assert not cache.hit("alice", b"other", "wrong-2")  # tied to the stored hash
    assert not cache.hit("alicf", b"stored", "wrong-2")
    assert not cache.hit("alice", UNKNOWN, "wrong-2")


def test_a_password_change_empties_the_cache(store: Store) -> None:
    assert store.authenticate_credentials("alice", PASSWORD) == "alice"
    store.add_account("alice", "Another-pa55")
    assert store.authenticate_credentials("alice", PASSWORD) is None
    assert store.authenticate_credentials("alice", "Another-pa55") == "alice"


def test_regenkey_serve_stores_default_to_the_modern_cost(tmp_path: Path) -> None:
    assert MemoryStore().password_cost == FAST  # throwaway in-process accounts
    with SqliteStore(tmp_path / "k.db") as store:
        assert store.password_cost == MODERN
        store.add_account("alice", PASSWORD)
    with sqlite3.connect(tmp_path / "k.db") as db:
        (stored,) = db.execute("SELECT password_hash FROM accounts").fetchone()
    assert stored.startswith(b"scrypt$16384$8$5$")
    # OWASP's scrypt rows are N*r*p >= 2^17 * 8 (N=2^17 r=8 p=1 and its equivalents)
    assert MODERN.n * MODERN.r * MODERN.p >= (1 << 17) * 8 / 2


def _legacy_row(path: Path, user: str, password: str) -> None:
    """A row as the server wrote it before: PBKDF2-SHA256, 10,000 iterations, raw."""
    salt = b"s" * 16
    legacy = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10_000)
    with SqliteStore(path, FAST):
        pass
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO accounts (user_id, salt, password_hash) VALUES (?, ?, ?)",
            (user, salt, legacy),
        )


def test_an_old_pbkdf2_row_still_verifies_and_is_rehashed_on_login(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _legacy_row(path, "alice", PASSWORD)
    with SqliteStore(path, FAST) as store:
        assert store.authenticate_credentials("alice", PASSWORD + "x") is None
        assert store.authenticate_credentials("alice", PASSWORD + "\x00") is None
        assert store.authenticate_credentials("alice", PASSWORD) == "alice"
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT password_hash FROM accounts").fetchone()
    assert stored.startswith(b"scrypt$16$1$1$")
    with SqliteStore(path, FAST) as again:
        assert again.authenticate_credentials("alice", PASSWORD) == "alice"
        assert again.authenticate_credentials("alice", "wrong") is None


def test_a_row_of_another_cost_is_rehashed_at_the_store_cost(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    slow = PasswordCost(32, 2, 1)
    with SqliteStore(path, FAST) as store:
        store.add_account("alice", PASSWORD)
    with SqliteStore(path, slow) as store:
        assert store.authenticate_credentials("alice", PASSWORD) == "alice"
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT password_hash FROM accounts").fetchone()
    assert stored.startswith(b"scrypt$32$2$1$")


def test_an_existing_world_readable_database_is_tightened_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with SqliteStore(path, FAST) as store:
        store.add_account("alice", PASSWORD)
        wal, shm = (tmp_path / "k.db-wal", tmp_path / "k.db-shm")
        for one in (path, wal, shm):
            one.chmod(0o644)
    with SqliteStore(path, FAST) as store:
        assert store.authenticate_credentials("alice", PASSWORD) == "alice"
        for one in (path, wal, shm):
            assert stat.S_IMODE(one.stat().st_mode) == 0o600, one.name


def test_a_file_that_is_no_database_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database at all, " * 100)
    with pytest.raises(StoreError, match="cannot use the database"):
        SqliteStore(path, FAST)
    with pytest.raises(StoreError, match="cannot open the database"):
        SqliteStore(tmp_path / "no-such-dir" / "k.db", FAST)


@pytest.mark.parametrize(
    ("text", "cost"),
    [
        ("modern", MODERN),
        ("fast", FAST),
        ("FAST", FAST),
        ("scrypt:1024:8:1", PasswordCost(1024, 8, 1)),
    ],
)
def test_password_costs_parse(text: str, cost: PasswordCost) -> None:
    assert parse_cost(text) == cost


@pytest.mark.parametrize(
    "text", ["slow", "scrypt:1000:8:1", "scrypt:16:0:1", "pbkdf2:10", "scrypt:1:1"]
)
def test_bad_password_costs_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cost(text)


# Off the wire (docs/BENCHMARKS.md, "Mutation testing"): no request reaches these
# branches of verify_password, because requests.py refuses a control character in a
# credential first and no store holds a row in neither format. Pinned here instead.


def test_a_password_with_a_control_character_never_verifies_even_against_its_own_hash() -> None:
    salt = passwords.new_salt()
    for password in ("a\x00", "tab\there", "del\x7f"):
        stored = passwords.hash_password(password, salt, FAST)
        assert not passwords.verify_password(password, salt, stored)
        assert passwords.verify_password(password.replace("\x00", "0"), salt, stored) is False


def test_a_stored_hash_in_neither_format_verifies_nothing() -> None:
    salt = passwords.new_salt()
    for stored in (b"", b"x" * 33):
        assert not passwords.verify_password(PASSWORD, salt, stored)
