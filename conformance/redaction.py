"""Keep secrets out of everything the kit writes.

Passwords and API keys never appear in logs, reports, JUnit, HTML,
recordings or exceptions. A :class:`Redactor` knows every secret of a run
(the configured ones and every key the target hands out) and scrubs any
text before it is written; :func:`mask_key` shows a key the way humans
recognise it (``03db…0eb4``) without giving it away.

A target may echo only part of a password (cut at a length limit, or split
across fields). Any run of :data:`PARTIAL_RUN` or more consecutive characters
of a password (in any of its spellings) is masked too, widened to the whole
run the text shares with it. That may mask innocent text that happens to
share eight characters with a password (a password ``password123`` masks the
word ``password``): the kit errs on the side of hiding. Keys are exempt
(their shape is masked whole instead), so that hundreds of keys handed out
in a run cost nothing here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as _xml_escape

REDACTED = "[REDACTED]"
#: The shortest run of a password's characters that is masked on its own.
PARTIAL_RUN = 8
_KEY_SHAPE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")


def mask_key(key: str) -> str:
    """``03db883b5e19416fbd306413b2fc0eb4`` -> ``03db…0eb4``."""
    if len(key) < 12:
        return "…"
    return f"{key[:4]}…{key[-4:]}"


def _spellings(secret: str) -> set[str]:
    """A secret as it may appear on the wire: raw, URL-, form- and XML-encoded."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), _xml_escape(secret)}
    # As a JSON string holds it, with and without \u escapes.
    forms |= {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms.add(quote(secret, safe="").lower())
    return {f for f in forms if f}


def _widest(text: str, start: int, end: int, spelling: str, at: int) -> tuple[int, int]:
    """``text[start:end]`` is ``spelling[at:at + end - start]``: widen both ways
    while the two go on agreeing."""
    left, right = start, end
    i = at
    while left > 0 and i > 0 and text[left - 1] == spelling[i - 1]:
        left, i = left - 1, i - 1
    j = at + (end - start)
    while right < len(text) and j < len(spelling) and text[right] == spelling[j]:
        right, j = right + 1, j + 1
    return left, right


class Redactor:
    """Replaces every known secret, in every encoding, with ``[REDACTED]``.

    With ``mask_all_keys`` (the default) any 32-hex-digit run is masked too,
    since any key-shaped value in a response is a live credential.
    """

    def __init__(self, secrets: Iterable[str] = (), *, mask_all_keys: bool = True) -> None:
        self._secrets: set[str] = set()
        # Every PARTIAL_RUN-long window of a password spelling -> (spelling, offset).
        self._windows: dict[str, list[tuple[str, int]]] = {}
        self._mask_all_keys = mask_all_keys
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        spellings = _spellings(secret)
        self._secrets |= spellings
        if not _KEY_SHAPE.fullmatch(secret):
            for spelling in spellings:
                for at in range(len(spelling) - PARTIAL_RUN + 1):
                    sources = self._windows.setdefault(spelling[at : at + PARTIAL_RUN], [])
                    if (spelling, at) not in sources:
                        sources.append((spelling, at))

    def _mask_runs(self, text: str) -> str:
        """Mask every run of :data:`PARTIAL_RUN` or more characters shared with a
        password spelling: one pass over the text's windows of that length,
        each looked up in a table of the passwords' windows, widened to the
        whole shared run where one is found."""
        windows = self._windows
        if not windows:
            return text
        spans: list[tuple[int, int]] = []
        i, last = 0, len(text) - PARTIAL_RUN
        while i <= last:
            sources = windows.get(text[i : i + PARTIAL_RUN])
            if sources is None:
                i += 1
                continue
            start, end = i, i + PARTIAL_RUN
            for spelling, at in sources:
                left, right = _widest(text, i, i + PARTIAL_RUN, spelling, at)
                start, end = min(start, left), max(end, right)
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
            i = end
        for start, end in reversed(spans):
            text = text[:start] + REDACTED + text[end:]
        return text

    def __call__(self, text: str) -> str:
        # Longest first, so that a secret containing another is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = self._mask_runs(text)
        if self._mask_all_keys:
            text = _KEY_SHAPE.sub(lambda m: mask_key(m.group(0)), text)
        return text

    def bytes(self, data: bytes) -> str:
        return self(data.decode("utf-8", errors="replace"))
