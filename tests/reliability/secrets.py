"""Canary secrets, every spelling they may take on the way out, and a scan
of everything a run wrote or printed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

# Needs encoding everywhere: space, &, <, >, +, =, %41 and a non-ASCII letter.
CANARY_PASSWORD = "Canary pw&<>+=%41-ü-7d1e9c3a5b"
FRAGMENT = 12  # a secret cut short (a parser's message quotes a fixed width) still counts
KEY_SHAPE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")


def spellings(secret: str) -> set[str]:
    """Raw, URL-encoded (either case), form-encoded, XML-escaped, JSON-escaped."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret, safe="").lower(),
        quote_plus(secret),
        escape(secret),
        escape(secret, {'"': "&quot;"}),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    return {f for f in forms if f}


def fragments(secret: str, width: int = FRAGMENT) -> set[str]:
    return {secret[i : i + width] for i in range(len(secret) - width + 1)} or {secret}


def leaks(texts: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """Where any spelling, or any :data:`FRAGMENT`-character run, of a secret appears."""
    found = []
    for secret in secrets:
        needles = spellings(secret) | fragments(secret)
        for where, text in texts.items():
            if any(n in text for n in needles):
                found.append(f"{secret[:4]}… in {where}")
    return found


def files_under(*roots: Path, skip: Iterable[Path] = ()) -> dict[str, str]:
    """Every file under ``roots`` (decoded leniently), but those in ``skip``."""
    skipped = {p.resolve() for p in skip}
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.resolve() not in skipped:
                out[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return out


def key_shaped(texts: dict[str, str]) -> list[str]:
    """Where a whole, random-looking 32-hex-digit value (any real key) appears:
    the kit masks them all. Placeholders such as a recording's
    ``aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1`` are not keys."""
    return [
        f"{m.group(0)[:4]}… in {where}"
        for where, text in texts.items()
        for m in KEY_SHAPE.finditer(text)
        if len(set(m.group(0).lower())) >= 8
    ]
