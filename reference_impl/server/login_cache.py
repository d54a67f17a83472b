"""Two caches in front of the password hash, so that a login repeated exactly,
right or wrong, costs one HMAC instead of a scrypt.

- :class:`VerifiedCache`: per account, the last password that verified.
- :class:`RefusedCache`: the last :data:`REFUSED_ENTRIES` userId and
  password pairs that were refused, an unknown userId's included.

Both keep tags, never passwords: HMAC-SHA256 under a random key made when the
process starts and never written anywhere, over the user id, the stored hash
the password was checked against (a fixed stand-in for an unknown user) and
the password's SHA-256. Nothing is persisted; a restart empties both. A tag is
tied to the stored hash: when an account's password changes, or its row is
rehashed, or an unknown userId becomes an account, the old tags no longer
match and the next login pays the hash again.

What they mean for security, written down:

* **Online guessing is as slow as without them.** A hit needs the exact pair
  seen before; every new guess pays the full hash. Only a password that was
  right can hit :class:`VerifiedCache`, and only one that was already refused
  can hit :class:`RefusedCache`.
* **What a faster answer gives away.** For a right password, nothing the
  answer itself does not. For a wrong one, that the same userId and the same
  wrong password were tried since the process started, among the last
  :data:`REFUSED_ENTRIES` refusals: nothing about the right password. An
  unknown userId and a wrong password are cached alike, so the timing still
  does not tell which accounts exist.
* **What a reader of the server's memory gets.** The process key and the
  tags: it can test guesses at HMAC speed against the one verified password
  per account, and against passwords already known to be wrong. Such a reader
  also sees every password as requests arrive, so this is no new exposure for
  a sandbox server.
* **Bounded.** One tag per account, and at most :data:`REFUSED_ENTRIES`
  refused ones (the oldest goes first; about 0.5 MiB).

Why the second cache: a client stuck on a stale password (a retry loop, an
old configuration), or a flood of one wrong password, costs the server one
HMAC a request instead of scrypt's 0.17 s of CPU and 16 MiB each; a
conformance suite sending the same near-miss password through every carrier,
method and format is such a client.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

from reference_impl.server.passwords import password_digest

#: How many refused userId and password pairs :class:`RefusedCache` keeps.
REFUSED_ENTRIES = 4096

#: What an unknown user's tags are made over in place of a stored hash (no
#: stored hash is empty, so no account's tag can equal one of these).
UNKNOWN = b""


class _Tags:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def _tag(self, user_id: str, stored: bytes, password: str) -> bytes:
        name = user_id.encode("utf-8", "surrogatepass")
        digest = password_digest(password)
        message = b"%d:%s%d:%s%s" % (len(name), name, len(stored), stored, digest)
        return hmac.new(self._key, message, hashlib.sha256).digest()


class VerifiedCache(_Tags):
    """Per account, a tag of the last password that verified against the
    account's current stored hash, so that the next login with the same
    password needs no hash (see the module's docstring for what it means)."""

    def __init__(self) -> None:
        super().__init__()
        self._tags: dict[str, bytes] = {}

    def hit(self, user_id: str, stored: bytes, password: str) -> bool:
        with self._lock:
            known = self._tags.get(user_id)
        return known is not None and hmac.compare_digest(
            known, self._tag(user_id, stored, password)
        )

    def remember(self, user_id: str, stored: bytes, password: str) -> None:
        tag = self._tag(user_id, stored, password)
        with self._lock:
            self._tags[user_id] = tag

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._tags.pop(user_id, None)


class RefusedCache(_Tags):
    """Tags of the last :data:`REFUSED_ENTRIES` refused userId and password
    pairs (``stored``: the account's stored hash, :data:`UNKNOWN` for an
    unknown userId), so that the same refusal again needs no hash (see the
    module's docstring for what it means)."""

    def __init__(self, entries: int = REFUSED_ENTRIES) -> None:
        super().__init__()
        self._entries = entries
        self._tags: OrderedDict[bytes, None] = OrderedDict()

    def hit(self, user_id: str, stored: bytes, password: str) -> bool:
        tag = self._tag(user_id, stored, password)
        with self._lock:
            if tag not in self._tags:
                return False
            self._tags.move_to_end(tag)
            return True

    def remember(self, user_id: str, stored: bytes, password: str) -> None:
        tag = self._tag(user_id, stored, password)
        with self._lock:
            self._tags[tag] = None
            self._tags.move_to_end(tag)
            while len(self._tags) > self._entries:
                self._tags.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tags)
