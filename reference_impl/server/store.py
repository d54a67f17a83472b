"""Accounts and their API keys: one interface, an in-memory and a SQLite store.

Passwords are kept as salted scrypt hashes (:mod:`reference_impl.server.passwords`,
the cost a constructor argument: cheap for a throwaway :class:`MemoryStore`,
modern for a :class:`SqliteStore` and for ``regenkey serve``) and compared in
constant time, through caches of verified and of refused passwords; keys are kept as SHA-256
hex digests and looked up by digest, so neither store ever holds a usable
secret. An account has no key until its first
rotation, and exactly one afterwards: :meth:`Store.rotate` replaces the key
atomically (a lock in memory, a ``BEGIN IMMEDIATE`` transaction in SQLite).

An account is identified by its user id (:data:`AccountId`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from reference_impl.server.login_cache import UNKNOWN, RefusedCache, VerifiedCache
from reference_impl.server.passwords import (
    FAST,
    MODERN,
    SALT_BYTES,
    PasswordCost,
    has_control,
    hash_password,
    needs_rehash,
    new_salt,
    verify_password,
)

AccountId = str

_DUMMY_SALT = bytes(SALT_BYTES)
_DB_MODE = 0o600


class StoreError(Exception):
    """The store cannot be opened; the message says why and names no secret."""


def new_key() -> str:
    """A fresh API key: the hex form of a random (version 4) UUID.

    What ``uuid.uuid4().hex`` returns (16 random bytes from ``os.urandom``,
    the version and variant bits set as RFC 9562 says), without building a
    ``UUID`` object, which costs most of a regeneration's time.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10xx (RFC 9562)
    return raw.hex()


def key_digest(key: str) -> str:
    """How a key is stored and looked up: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _check_account(user_id: str, password: str) -> None:
    if not user_id:
        raise ValueError("the user id must not be empty")
    if not password:
        raise ValueError("the password must not be empty (an empty one never authenticates)")
    if has_control(user_id) or has_control(password):
        raise ValueError("a user id or password must not hold control characters (NUL included)")


@dataclass
class _Account:
    salt: bytes
    password_hash: bytes
    key_digest: str | None = None


class Store(ABC):
    """Accounts, their password hashes and their one current key."""

    #: Whether the key operations (:meth:`rotate_by_key`, :meth:`rotate`) may
    #: block on I/O. The server runs blocking ones in a worker thread and the
    #: others on the event loop; password hashing always goes to a thread.
    blocking: bool = True

    def __init__(self, password_cost: PasswordCost) -> None:
        self.password_cost = password_cost
        self._verified = VerifiedCache()
        self._refused = RefusedCache()

    def _hash(self, password: str) -> tuple[bytes, bytes]:
        """A new salt and the stored form of ``password`` under it."""
        salt = new_salt()
        return salt, hash_password(password, salt, self.password_cost)

    @abstractmethod
    def add_account(self, user_id: str, password: str) -> None:
        """Create an account, or set the password of an existing one (its key is kept)."""

    @abstractmethod
    def _password_record(self, user_id: str) -> tuple[bytes, bytes] | None:
        """The salt and password hash of ``user_id``, if it exists."""

    @abstractmethod
    def authenticate_key(self, key: str) -> AccountId | None:
        """The account whose current key is ``key``."""

    @abstractmethod
    def rotate(self, account_id: AccountId) -> str:
        """Replace the account's key with a new one and return it (KeyError if unknown)."""

    @abstractmethod
    def rotate_by_key(self, key: str) -> tuple[AccountId, str] | None:
        """Atomically: if ``key`` is an account's current key, replace it and
        return the account and the new key. Of concurrent calls with the same
        key, exactly one succeeds."""

    @abstractmethod
    def current_key_digest(self, account_id: AccountId) -> str | None:
        """The digest of the account's current key (None before the first rotation)."""

    @abstractmethod
    def count_accounts(self) -> int: ...

    def _rehash(self, user_id: str, old: bytes, salt: bytes, new: bytes) -> bytes:
        """Replace the stored hash ``old`` with ``new`` (unless it changed meanwhile);
        the stored hash afterwards."""
        return old

    def authenticate_credentials(self, user_id: str, password: str) -> AccountId | None:
        """The account if ``password`` is its password. An unknown user costs
        the same hashing work as a wrong password; the same userId and
        password verified or refused before, against the same stored hash,
        cost one HMAC (:mod:`reference_impl.server.login_cache`). A row in an
        older format or cost is rehashed once it verifies. Credentials with a
        control character never authenticate, whatever the account (so
        refusing them says nothing about which accounts exist)."""
        if has_control(user_id) or has_control(password):
            return None
        record = self._password_record(user_id)
        if record is None:
            if not self._refused.hit(user_id, UNKNOWN, password):
                hash_password(password, _DUMMY_SALT, self.password_cost)
                self._refused.remember(user_id, UNKNOWN, password)
            return None
        salt, stored = record
        if self._verified.hit(user_id, stored, password):
            return user_id
        if self._refused.hit(user_id, stored, password):
            return None
        if not verify_password(password, salt, stored):
            self._refused.remember(user_id, stored, password)
            return None
        if needs_rehash(stored, self.password_cost):
            fresh_salt, fresh = self._hash(password)
            stored = self._rehash(user_id, stored, fresh_salt, fresh)
        self._verified.remember(user_id, stored, password)
        return user_id

    def close(self) -> None:
        """Release resources (nothing to release unless overridden)."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class MemoryStore(Store):
    """Accounts in a dict, guarded by one lock; gone when the process ends."""

    blocking = False  # a dict lookup and a UUID under a lock held for microseconds

    def __init__(self, password_cost: PasswordCost = FAST) -> None:
        super().__init__(password_cost)
        self._lock = threading.Lock()
        self._accounts: dict[AccountId, _Account] = {}
        self._by_key: dict[str, AccountId] = {}

    def add_account(self, user_id: str, password: str) -> None:
        _check_account(user_id, password)
        salt, hashed = self._hash(password)
        with self._lock:
            account = self._accounts.get(user_id)
            if account is None:
                self._accounts[user_id] = _Account(salt, hashed)
            else:
                account.salt, account.password_hash = salt, hashed

    def _password_record(self, user_id: str) -> tuple[bytes, bytes] | None:
        with self._lock:
            account = self._accounts.get(user_id)
            return None if account is None else (account.salt, account.password_hash)

    def authenticate_key(self, key: str) -> AccountId | None:
        with self._lock:
            return self._by_key.get(key_digest(key))

    def _replace_key(self, account_id: AccountId) -> str:
        account = self._accounts[account_id]
        key = new_key()
        if account.key_digest is not None:
            self._by_key.pop(account.key_digest, None)
        account.key_digest = key_digest(key)
        self._by_key[account.key_digest] = account_id
        return key

    def rotate(self, account_id: AccountId) -> str:
        with self._lock:
            return self._replace_key(account_id)

    def rotate_by_key(self, key: str) -> tuple[AccountId, str] | None:
        with self._lock:
            account_id = self._by_key.get(key_digest(key))
            if account_id is None:
                return None
            return account_id, self._replace_key(account_id)

    def current_key_digest(self, account_id: AccountId) -> str | None:
        with self._lock:
            return self._accounts[account_id].key_digest

    def count_accounts(self) -> int:
        with self._lock:
            return len(self._accounts)


def _owner_only(path: Path) -> None:
    """Make ``path`` and its WAL files mode 0600 (OSError when that fails)."""
    for one in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = os.stat(one).st_mode
        except FileNotFoundError:
            continue
        if stat.S_IMODE(mode) & 0o077:
            os.chmod(one, _DB_MODE)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    user_id       TEXT PRIMARY KEY,
    salt          BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    key_digest    TEXT UNIQUE
)
"""


class SqliteStore(Store):
    """Accounts in one SQLite file (WAL, synchronous=FULL) that survives restarts.

    One connection is shared by all threads behind a lock; every write is a
    ``BEGIN IMMEDIATE`` transaction, so other processes on the same file are
    serialised too. The file is created readable by its owner only, and an
    existing file (with its ``-wal`` and ``-shm``) that others could read is
    tightened to 0600, or refused (:class:`StoreError`) when that fails.
    """

    def __init__(self, path: str | os.PathLike[str], password_cost: PasswordCost = MODERN) -> None:
        super().__init__(password_cost)
        self.path = Path(path)
        try:
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, _DB_MODE))
            _owner_only(self.path)
        except OSError as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc.strerror}") from None
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._transaction() as db:
                db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use the database {self.path}: {exc}") from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, *args: object) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._db.execute(sql, args).fetchone()
            return row

    def add_account(self, user_id: str, password: str) -> None:
        _check_account(user_id, password)
        salt, hashed = self._hash(password)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO accounts (user_id, salt, password_hash) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET salt = excluded.salt, "
                "password_hash = excluded.password_hash",
                (user_id, salt, hashed),
            )

    def _password_record(self, user_id: str) -> tuple[bytes, bytes] | None:
        row = self._one("SELECT salt, password_hash FROM accounts WHERE user_id = ?", user_id)
        if row is None:
            return None
        salt, hashed = row
        assert isinstance(salt, bytes) and isinstance(hashed, bytes)
        return salt, hashed

    def _rehash(self, user_id: str, old: bytes, salt: bytes, new: bytes) -> bytes:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE accounts SET salt = ?, password_hash = ? "
                "WHERE user_id = ? AND password_hash = ?",
                (salt, new, user_id, old),
            )
        return new if cursor.rowcount == 1 else old

    def authenticate_key(self, key: str) -> AccountId | None:
        row = self._one("SELECT user_id FROM accounts WHERE key_digest = ?", key_digest(key))
        return None if row is None else str(row[0])

    def rotate(self, account_id: AccountId) -> str:
        key = new_key()
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE accounts SET key_digest = ? WHERE user_id = ?",
                (key_digest(key), account_id),
            )
            if cursor.rowcount != 1:
                raise KeyError(account_id)
        return key

    def rotate_by_key(self, key: str) -> tuple[AccountId, str] | None:
        fresh = new_key()
        with self._transaction() as db:
            row = db.execute(
                "SELECT user_id FROM accounts WHERE key_digest = ?", (key_digest(key),)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE accounts SET key_digest = ? WHERE user_id = ?", (key_digest(fresh), row[0])
            )
        return str(row[0]), fresh

    def current_key_digest(self, account_id: AccountId) -> str | None:
        row = self._one("SELECT key_digest FROM accounts WHERE user_id = ?", account_id)
        if row is None:
            raise KeyError(account_id)
        return None if row[0] is None else str(row[0])

    def count_accounts(self) -> int:
        row = self._one("SELECT count(*) FROM accounts")
        return int(str(row[0])) if row is not None else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
