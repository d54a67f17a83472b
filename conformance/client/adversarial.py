"""The data that breaks naive clients, all of it allowed by the spec: account
values that need every kind of encoding, and error records whose reasons and
codes break naive parsers.

Every value is drawn from the run's seed, but what it holds is fixed by its
place in the plan, so that every run, under any seed, serves each hazard
several times: every password and userId holds ``+ & = % < > " '``, a space
and non-ASCII; every other one leading and trailing spaces; every third a
decomposed (NFD) accent; every fifth is long. Every error reason holds
``= & < > " \\``, a look-alike of the plain separator and non-ASCII; every
other one a 32-hex-digit run. Error codes walk the hundreds 0-9, so a run
serves codes outside 400-599 (never 900).
"""

from __future__ import annotations

import random
import unicodedata

from conformance.protocol.records import Record

_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# What a value must carry through URL-encoding (form, query), XML escaping
# (<Account>) and multipart untouched.
_MARKUP = ("+", "&", "=", "%", "<", ">", '"', "'")
_ACCENTED = ("é", "ü", "ñ", "ø", "Å")
_WIDE = ("€", "中", "😀", "ß")
# Look-alikes of the plain format's " | " (the reason's class forbids "|").
_BARS = (" \u00a6 ", " \uff5c ", " \u2223 ", " \u01c0 ")  # broken bar, fullwidth, divides, click
_HEX = "0123456789abcdef"


def token(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def _hazards(rng: random.Random, place: int) -> str:
    """The markup characters in a drawn order, a space and non-ASCII; NFD on
    every third place."""
    marks = list(_MARKUP)
    rng.shuffle(marks)
    accent = rng.choice(_ACCENTED)
    if place % 3 == 1:
        accent = unicodedata.normalize("NFD", accent)
    return "".join(marks[:4]) + " " + accent + "".join(marks[4:]) + rng.choice(_WIDE)


def account_value(rng: random.Random, place: int, kind: str) -> str:
    """A userId (``kind`` "user") or a password for the scenario at ``place``."""
    core = f"{token(rng, 6)}{_hazards(rng, place)}{token(rng, 4)}"
    if kind == "user":
        core = f"rk.{core}@example.com"
    if place % 5 == 2:  # long: past any fixed-size buffer
        core += "".join(f"{token(rng, 9)}{rng.choice(_MARKUP)}" for _ in range(12))
    if place % 2 == 0:
        core = f"  {core} "
    return core


def api_key(rng: random.Random) -> str:
    """A key shaped like ``uuid4().hex``, as the page's samples are."""
    digits = [rng.choice(_HEX) for _ in range(32)]
    digits[12], digits[16] = "4", rng.choice("89ab")
    return "".join(digits)


def error_code(place: int, rng: random.Random) -> str:
    """A three-digit code whose hundred is ``place`` mod 10, never 900."""
    hundred = place % 10
    low = rng.randint(1 if hundred == 9 else 0, 99)
    return f"{hundred}{low:02d}"


def error_reason(rng: random.Random, place: int, words: str) -> str:
    """A reason of the spec's class (printable, no "|", no edge spaces) that
    holds what breaks naive parsers."""
    parts = [
        words,
        f'= & <{token(rng, 3)}> "{token(rng, 4)}" \\ \\u00e9',
        rng.choice(_BARS).strip(),
        f"status=success{rng.choice(_BARS)}statusCode=900",
        rng.choice(_ACCENTED) + rng.choice(_WIDE),
    ]
    if place % 2 == 0:
        parts.insert(1, "apiKey=" + api_key(rng))
    return " ".join(parts)


def error_record(rng: random.Random, place: int, words: str) -> Record:
    return Record.error(error_code(place, rng), error_reason(rng, place, words))
