"""Keep secrets out of everything the kit writes.

Passwords and API keys never appear in logs, reports, JUnit, HTML,
recordings or exceptions. A :class:`Redactor` knows every secret of a run
(the configured ones and every key the target hands out) and scrubs any
text before it is written; :func:`mask_key` shows a key the way humans
recognise it (``03db…0eb4``) without giving it away.

Every spelling comes from :mod:`conformance.judging.spellings`, the generator the
judge of RK-SAFE-002 uses too: a password raw, cased, reversed, base64 or hex,
each character in any URL, XML or JSON escape. A password long enough to be
recognised in free text (:data:`~conformance.judging.spellings.MIN_FREE_TEXT`) is
masked wherever it appears; a shorter one (``pass``) only as a whole token,
delimited by anything but a word character or ``-``: as a value after ``=``
or ``:``, between quotes or tags, in a body or a header, but never inside the
kit's own words (``password``, ``path_is_exact``).

A target may echo only part of a long password (cut at a length limit, or
split across fields). Any run of :data:`PARTIAL_RUN` or more consecutive
characters of a password (in any of its literal spellings) is masked too,
widened to the whole run the text shares with it. That may mask innocent
text that happens to share eight characters with a password (a password
``password123`` masks the word ``password``): the kit errs on the side of
hiding. Keys are exempt (their shape is masked whole instead), so that
hundreds of keys handed out in a run cost nothing here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from conformance.judging.spellings import (
    KEY_SHAPE,
    may_hold,
    may_spell,
    pattern,
    recognisable,
    spellings,
)

REDACTED = "[REDACTED]"
#: The shortest run of a password's characters that is masked on its own.
PARTIAL_RUN = 8
#: The kit's own words, which a partial run never masks on its own: the
#: environment variables reproductions name and the protocol's field names, so
#: a password such as ``wrong-password-x`` leaves ``$REGENKEY_PASSWORD`` and
#: ``password=`` pasteable. A run reaching beyond such a word is masked whole.
_OWN_WORDS = re.compile(
    r"\$?\{?REGENKEY_[A-Z_]+\}?|(?<![\w-])(?:password|userId|apiKey|format)(?![\w-])"
)
_KEY_SHAPE = KEY_SHAPE


def mask_key(key: str) -> str:
    """``03db883b5e19416fbd306413b2fc0eb4`` -> ``03db…0eb4``."""
    if len(key) < 12:
        return "…"
    return f"{key[:4]}…{key[-4:]}"


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
        self._keys: set[str] = set()  # key-shaped secrets, masked literally
        self._ordered: list[str] = []  # the same, longest first
        # Longest first, so that a password holding another goes whole. Each one's
        # pattern is compiled only for a text that may hold it (``may_hold``): a
        # run hands out hundreds of near-miss passwords, and a text rarely holds one.
        self._passwords: list[str] = []
        # Every PARTIAL_RUN-long window of a password spelling -> (spelling, offset).
        self._windows: dict[str, list[tuple[str, int]]] = {}
        self._mask_all_keys = mask_all_keys
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if not secret:
            return
        if _KEY_SHAPE.fullmatch(secret):
            forms = {secret, secret.lower(), secret.upper()} - self._keys
            if forms:
                self._keys |= forms
                self._ordered = sorted(self._keys, key=len, reverse=True)
            return
        if secret in self._passwords or self._covers(secret):
            return  # a spelling of a password already known (a caller's own quote(), say)
        self._passwords.append(secret)
        self._passwords.sort(key=len, reverse=True)  # a password holding another goes whole
        if not recognisable(secret):
            return  # too short for partial runs: masked as a whole token only
        for spelling in spellings(secret):
            for at in range(len(spelling) - PARTIAL_RUN + 1):
                sources = self._windows.setdefault(spelling[at : at + PARTIAL_RUN], [])
                if (spelling, at) not in sources:
                    sources.append((spelling, at))

    def _covers(self, secret: str) -> bool:
        return any(
            may_spell(known, secret) and pattern(known).fullmatch(secret) is not None
            for known in self._passwords
        )

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
        own = [m.span() for m in _OWN_WORDS.finditer(text)] if spans else []
        for start, end in reversed(spans):
            if any(left <= start and end <= right for left, right in own):
                continue  # the run is one of the kit's own words, not an echo
            text = text[:start] + REDACTED + text[end:]
        return text

    def __call__(self, text: str) -> str:
        for key in self._ordered:
            if key in text:
                text = text.replace(key, REDACTED)
        for known in self._passwords:
            if may_hold(known, text):
                text = pattern(known).sub(REDACTED, text)
        text = self._mask_runs(text)
        if self._mask_all_keys:
            text = _KEY_SHAPE.sub(lambda m: mask_key(m.group(0)), text)
        return text

    def bytes(self, data: bytes) -> str:
        return self(data.decode("utf-8", errors="replace"))
