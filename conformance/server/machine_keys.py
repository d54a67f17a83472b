"""Whether a run's keys look unpredictable (RK-KEY-003): statistics, no I/O.

Every test below looks only at the 30 hex digits a version-4 UUID leaves
random (positions 12 and 16 hold its version and variant, which RK-KEY-002
asks for), and each one fails a random generator with a probability under
:data:`ALPHA` (1e-8); seven of them make a false failure less likely than
1e-7 per run. What they catch: a counter or a timestamp written in hex (a
digit that hardly changes, long shared prefixes, successive keys close as
numbers), digits from a smaller alphabet, a fixed part (a MAC address, a
prefix), a bit the generator forces or favours (one of the 120 bits of the
free digits set in nearly every key, as a wrong mask of the version byte
would), and the MD5, SHA-1 or SHA-256 of a small counter or of a
timestamp of the run in seconds or milliseconds. A hash of a secret seed
cannot be told from random by any test, and no test tries.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

ALPHA = 1e-8
MIN_KEYS = 16  # fewer distinct keys: too few to judge
FREE = tuple(i for i in range(32) if i not in (12, 16))
HEX = "0123456789abcdef"
COUNTER_LIMIT = 1 << 12
MAX_WINDOW_S = 900  # timestamps of a run longer than this are not tried


def chi_square_tail(df: int, x: float) -> float:
    """P(X >= x) for X chi-square with ``df`` degrees of freedom."""
    a, z = df / 2, x / 2
    if z <= 0:
        return 1.0
    if z < a + 1:  # series of the lower incomplete gamma
        term = total = 1 / a
        k = 1
        while term > total * 1e-17:
            term *= z / (a + k)
            total += term
            k += 1
        return max(0.0, 1 - total * math.exp(-z + a * math.log(z) - math.lgamma(a)))
    b, c, d = z + 1 - a, 1e300, 1 / (z + 1 - a)  # continued fraction (Lentz)
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = d if abs(d) > 1e-300 else 1e-300
        c = b + an / c
        c = c if abs(c) > 1e-300 else 1e-300
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return math.exp(-z + a * math.log(z) - math.lgamma(a)) * h


def binomial_tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    base, log_p, log_q = math.lgamma(n + 1), math.log(p), math.log1p(-p)
    mode, total = (n + 1) * p, 0.0
    for i in range(k, n + 1):
        log = base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        term = math.exp(log)
        total += term
        if i > mode and term <= total * 1e-17:
            break  # past the mode the terms only shrink: the rest adds nothing
    return min(1.0, total)


def _free(key: str) -> str:
    """The digits at :data:`FREE` (all but positions 12 and 16)."""
    return key[:12] + key[13:16] + key[17:32]


def _digits(keys: Sequence[str]) -> str | None:
    counts = Counter("".join(_free(k) for k in keys))
    total = sum(counts.values())
    expected = total / 16
    x = sum((counts.get(d, 0) - expected) ** 2 / expected for d in HEX)
    if chi_square_tail(15, x) < ALPHA:
        common = ", ".join(f"{d}:{c}" for d, c in counts.most_common(3))
        return f"the hex digits are not uniform (chi-square {x:.0f}, 15 df; most common {common})"
    return None


def _positions(keys: Sequence[str]) -> str | None:
    n = len(keys)
    for i in FREE:
        digit, count = Counter(k[i] for k in keys).most_common(1)[0]
        if len(FREE) * 16 * binomial_tail(n, count, 1 / 16) < ALPHA:
            return f"digit {i + 1} is {digit!r} in {count} of {n} keys"
    return None


def _bits(keys: Sequence[str]) -> str | None:
    """One bit of the free digits set (or clear) in far more keys than chance
    allows: a mask that forces or favours it. With 120 bits tried, a bit
    constant over all keys fails a random generator only from 35 keys on."""
    n = len(keys)
    bits = len(FREE) * 4
    values = [int(_free(k), 16) for k in keys]
    for bit in range(bits):
        ones = sum((v >> bit) & 1 for v in values)
        most = max(ones, n - ones)
        if 2 * bits * binomial_tail(n, most, 0.5) < ALPHA:
            digit = FREE[len(FREE) - 1 - bit // 4] + 1
            kind = "set" if ones > n - ones else "clear"
            return f"bit {bit % 4} of digit {digit} is {kind} in {most} of {n} keys"
    return None


def _shared_ends(keys: Sequence[str]) -> str | None:
    pairs = len(keys) * (len(keys) - 1) / 2
    for label, start, stop in (("prefix", 0, 12), ("suffix", 17, 32)):
        ends = sorted(k[start:stop][:: 1 if label == "prefix" else -1] for k in keys)
        longest = max(_common(a, b) for a, b in itertools.pairwise(ends))
        if longest and pairs * 16.0**-longest < ALPHA:
            return f"two keys share a {label} of {longest} hex digits"
    return None


def _common(a: str, b: str) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def _self_similar(keys: Sequence[str]) -> str | None:
    """A key that repeats itself: digits equal to the digit ``shift`` further on."""
    for shift in range(1, 17):
        pairs = [(i, i + shift) for i in FREE if i + shift in FREE]
        same = sum(1 for k in keys for i, j in pairs if k[i] == k[j])
        if 16 * binomial_tail(len(keys) * len(pairs), same, 1 / 16) < ALPHA:
            return f"{same} digits equal the digit {shift} places on: the keys repeat themselves"
    return None


def _close(keys: Sequence[str]) -> str | None:
    """Successive keys (in issue order) close as 128-bit numbers: a counter."""
    values = [int(k, 16) for k in keys]
    close = sum(1 for a, b in itertools.pairwise(values) if abs(a - b) < 1 << 100)
    if close and binomial_tail(len(values) - 1, close, 2.0**-27) < ALPHA:
        return f"{close} pairs of successive keys differ by less than 2**100: a counter"
    return None


def _hashed(keys: Sequence[str], window: tuple[float, float] | None) -> str | None:
    wanted = {_free(k) for k in keys}
    heads = {k[:12] for k in keys}  # a cheap first look: the free digits begin so
    ranges = [range(COUNTER_LIMIT)]
    if window is not None and window[1] - window[0] <= MAX_WINDOW_S:
        start, end = int(window[0]) - 2, int(window[1]) + 2
        ranges += [range(start, end + 1), range(start * 1000, end * 1000 + 1)]
    for value in itertools.chain.from_iterable(ranges):
        data = b"%d" % value
        for name, new in _HASHES:
            digest = new(data).hexdigest()
            if digest[:12] in heads and _free(digest) in wanted:
                return f"a key is the {name} of {value} (a counter or a timestamp)"
    return None


_HASHES = (("md5", hashlib.md5), ("sha1", hashlib.sha1), ("sha256", hashlib.sha256))


def unpredictability_problem(
    keys: Iterable[str], window: tuple[float, float] | None = None
) -> str | None:
    """Why ``keys`` (distinct, in issue order, each 32 lower-case hex
    digits) are not unpredictable, or None. ``window``: the run's start and
    end, as Unix times, for the timestamp hashes."""
    distinct = list(dict.fromkeys(k for k in keys if len(k) == 32 and set(k) <= set(HEX)))
    if len(distinct) < MIN_KEYS:
        raise ValueError(f"{len(distinct)} distinct keys; at least {MIN_KEYS} are needed")
    for test in (_digits, _positions, _bits, _shared_ends, _self_similar, _close):
        problem = test(distinct)
        if problem is not None:
            return problem
    return _hashed(distinct, window)
