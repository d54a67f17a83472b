"""Keep secrets out of everything the kit writes.

Passwords and API keys never appear in logs, reports, JUnit, HTML,
recordings or exceptions. A :class:`Redactor` knows every secret of a run
(the configured ones and every key the target hands out) and scrubs any
text before it is written; :func:`mask_key` shows a key the way humans
recognise it (``03db…0eb4``) without giving it away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as _xml_escape

REDACTED = "[REDACTED]"
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


class Redactor:
    """Replaces every known secret, in every encoding, with ``[REDACTED]``.

    With ``mask_all_keys`` (the default) any 32-hex-digit run is masked too,
    since any key-shaped value in a response is a live credential.
    """

    def __init__(self, secrets: Iterable[str] = (), *, mask_all_keys: bool = True) -> None:
        self._secrets: set[str] = set()
        self._mask_all_keys = mask_all_keys
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret:
            self._secrets |= _spellings(secret)

    def __call__(self, text: str) -> str:
        # Longest first, so that a secret containing another is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        if self._mask_all_keys:
            text = _KEY_SHAPE.sub(lambda m: mask_key(m.group(0)), text)
        return text

    def bytes(self, data: bytes) -> str:
        return self(data.decode("utf-8", errors="replace"))
