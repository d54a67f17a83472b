"""How the reference server keeps and checks passwords.

A password is stored as ``scrypt$N$r$p$<hex>``: scrypt (the standard
library's, RFC 7914) over a random 16-byte salt and the password's SHA-256.
The SHA-256 comes first because scrypt, like PBKDF2, uses the password as an
HMAC key, and HMAC pads a short key with zero bytes and hashes a long one:
``secret`` and ``secret\\0\\0`` would be one key, and so would a 65-byte
password and its digest. A digest is always 32 bytes, so two passwords are
one only if their SHA-256 collide. Passwords holding a control character
(:func:`has_control`) are refused before they get here.

The cost (:class:`PasswordCost`) is a setting: :data:`MODERN` is OWASP's
scrypt row N=2^14, r=8, p=5 (16 MiB, about 0.17 s on the machine of
docs/BENCHMARKS.md), what ``regenkey serve`` uses unless given
``--password-cost``. :data:`FAST` costs microseconds and is for tests and
for throwaway in-process accounts only (``MemoryStore()``'s default). At most
:data:`KDF_SLOTS` hashes run at once, so a flood of wrong passwords costs a
bounded amount of memory.

Rows written before this format (32 raw bytes of PBKDF2-SHA256, 10,000
iterations over the raw password) are still verified, and are rewritten in
the current format on the first successful login (:func:`needs_rehash`).

:mod:`reference_impl.server.login_cache` remembers the last password that
verified per account, and the wrong ones refused lately, so that a repeated
login, right or wrong, costs one HMAC instead of a hash; its docstrings say
what that means for security.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass

SALT_BYTES = 16
LEGACY_ITERATIONS = 10_000
KDF_SLOTS = max(2, os.cpu_count() or 2)
_SLOTS = threading.BoundedSemaphore(KDF_SLOTS)
_PREFIX = b"scrypt$"
_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PasswordCost:
    """scrypt's parameters: CPU/memory cost ``n`` (a power of two), block size ``r``,
    parallelism ``p``."""

    n: int
    r: int
    p: int

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or not 1 <= self.r <= 64 or not 1 <= self.p <= 64:
            raise ValueError("scrypt needs N a power of two >= 2, 1 <= r <= 64, 1 <= p <= 64")
        if self.memory > 1 << 30:
            raise ValueError("that scrypt cost needs more than 1 GiB per hash")

    @property
    def memory(self) -> int:
        """Bytes one hash needs (scrypt's 128·r·N, plus slack)."""
        return 128 * self.r * self.n + 128 * self.r * self.p + (1 << 20)

    def __str__(self) -> str:
        return f"scrypt:{self.n}:{self.r}:{self.p}"


MODERN = PasswordCost(1 << 14, 8, 5)
FAST = PasswordCost(16, 1, 1)
COST_NAMES = {"modern": MODERN, "fast": FAST}
COST_HELP = (
    "'modern' (default: scrypt N=2^14 r=8 p=5, OWASP's recommendation), 'fast' (tests only: "
    "costs microseconds, never for real passwords) or scrypt:N:R:P"
)


def parse_cost(text: str) -> PasswordCost:
    """``modern``, ``fast`` or ``scrypt:N:R:P``; ValueError otherwise."""
    named = COST_NAMES.get(text.strip().lower())
    if named is not None:
        return named
    kind, _, rest = text.partition(":")
    numbers = rest.split(":")
    if kind != "scrypt" or len(numbers) != 3 or not all(n.isdigit() for n in numbers):
        raise ValueError(f"a password cost is {COST_HELP}")
    n, r, p = (int(number) for number in numbers)
    return PasswordCost(n, r, p)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a C0 control character (NUL included) or DEL."""
    return _CONTROL.search(text) is not None


def password_digest(password: str) -> bytes:
    """The password's SHA-256 (what scrypt and the login caches take)."""
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()


def _scrypt(digest: bytes, salt: bytes, cost: PasswordCost) -> bytes:
    with _SLOTS:
        return hashlib.scrypt(
            digest, salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.memory, dklen=32
        )


def hash_password(password: str, salt: bytes, cost: PasswordCost) -> bytes:
    """The stored form of ``password``: ``scrypt$N$r$p$<hex>`` (ASCII)."""
    derived = _scrypt(password_digest(password), salt, cost)
    return b"%s%d$%d$%d$%s" % (_PREFIX, cost.n, cost.r, cost.p, derived.hex().encode())


def stored_cost(stored: bytes) -> PasswordCost | None:
    """The cost a stored hash was made with (None: the legacy PBKDF2 form or unreadable)."""
    if not stored.startswith(_PREFIX):
        return None
    try:
        n, r, p, _ = stored[len(_PREFIX) :].split(b"$")
        return PasswordCost(int(n), int(r), int(p))
    except ValueError:
        return None


def verify_password(password: str, salt: bytes, stored: bytes) -> bool:
    """Whether ``password`` is the one ``stored`` was made from, in constant time."""
    if has_control(password):
        return False
    cost = stored_cost(stored)
    if cost is not None:
        return hmac.compare_digest(hash_password(password, salt, cost), stored)
    if len(stored) != 32:  # neither format: nothing verifies
        hash_password(password, salt, MODERN)
        return False
    data = password.encode("utf-8", "surrogatepass")
    with _SLOTS:
        legacy = hashlib.pbkdf2_hmac("sha256", data, salt, LEGACY_ITERATIONS)
    return hmac.compare_digest(legacy, stored)


def needs_rehash(stored: bytes, cost: PasswordCost) -> bool:
    """Whether ``stored`` should be rewritten at ``cost`` once its password is known."""
    return stored_cost(stored) != cost


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)
