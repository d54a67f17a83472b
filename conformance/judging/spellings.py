"""Every spelling of a secret, and where a response echoes one (RK-SAFE-002).

One generator serves both sides of "never leak a password": the judge of
RK-SAFE-002 (:func:`echo_in`, used by the server suite and the transcript
judge) and the :class:`~conformance.judging.redaction.Redactor` that scrubs whatever
the kit writes. A target may hand a password back transformed (upper- or
lower-cased, reversed, base64, hex in either case: :func:`variants`) and
escaped by whatever carries it: percent-encoding in any legal variant (``%20``
or ``+``, either hex case, any character encoded or left alone, even twice),
XML character references and entities, JSON ``\\u`` and short escapes.
:func:`pattern` matches any variant with each character in any of those
escapes, so that no list of combinations has to be written out;
:func:`spellings` lists the usual ones literally (for the Redactor's partial
runs and for tests).

Keys are masked by their shape, :data:`KEY_SHAPE` (the kit's one copy of it),
and :func:`key_in` finds a known key in a response (RK-SAFE-003).

A password shorter than :data:`MIN_FREE_TEXT` characters cannot be told from
chance in free text (``pass`` is inside ``password``): it is recognised only
as a whole token, delimited on both sides by anything but a word character
or ``-`` (so the kit's own identifiers, ``path_is_exact`` or ``RK-SAFE-002``,
never match), and a transformed form only where that form is long enough.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

from conformance.validation.bodies import parse_xml

#: The shortest password recognised anywhere in free text; shorter ones only as tokens.
MIN_FREE_TEXT = 8
#: Said once in a run that judges a short password (as a skip reason of RK-SAFE-002).
SHORT_PASSWORD_NOTE = (
    f"free-text echo search skipped for a password shorter than {MIN_FREE_TEXT} characters:"
    " judged as a whole value or a delimited word (response headers included)"
)
#: A short password counts only between these (a word character or ``-`` goes on a word).
_BEFORE, _AFTER = r"(?<![\w\-])(?<!\w\.)", r"(?![\w\-])(?!\.\w)"
_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = dict(zip('"\\/\b\f\n\r\t', '"\\/bfnrt', strict=True))
#: Headers whose values HTTP itself defines: a short password is not looked for there.
PROTOCOL_HEADERS = frozenset(
    "content-type content-length date server connection transfer-encoding keep-alive vary"
    " content-encoding cache-control allow etag age last-modified expires accept-ranges".split()
)
#: Body fields whose values the spec fixes: a short password is not looked for there.
ENVELOPE_FIELDS = frozenset({"status", "statuscode", "apikey"})
#: The shape of a key: a run of exactly 32 hex digits (the kit's one copy of it).
KEY_SHAPE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")


def recognisable(secret: str) -> bool:
    """Whether ``secret`` is long enough to be recognised anywhere in free text."""
    return len(secret) >= MIN_FREE_TEXT


def _texts(secret: str) -> set[str]:
    forms = {secret, secret.upper(), secret.lower(), secret[::-1]}
    forms |= {unicodedata.normalize(n, f) for f in set(forms) for n in ("NFC", "NFD")}
    return {f for f in forms if f}


def variants(secret: str) -> set[str]:
    """The secret and what a target may make of it: cased, reversed, base64, hex.
    Encoded forms of a short secret are kept only where they are long enough
    to be recognised themselves."""
    raw = secret.encode("utf-8")
    b64, url64 = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    encoded = {b64, b64.rstrip("="), url64, url64.rstrip("="), raw.hex(), raw.hex().upper()}
    return _texts(secret) | {f for f in encoded if recognisable(f)}


def spellings(secret: str) -> set[str]:
    """Each variant as the usual carriers write it: raw, URL- and form-encoded
    (either hex case), XML-escaped, JSON-escaped (with and without ``\\u``)."""
    out: set[str] = set()
    for form in variants(secret):
        url = quote(form, safe="")
        out |= {form, url, url.lower(), quote_plus(form), quote_plus(form).lower()}
        out |= {escape(form), escape(form, {'"': "&quot;", "'": "&apos;"})}
        out |= {json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]}
    return {s for s in out if s}


def _hex(digits: str) -> str:
    """Hex digits in either letter case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in digits)


@lru_cache(maxsize=4096)
def _char(c: str) -> str:
    """One character in any of its escapes, as a regular expression."""
    cp, data = ord(c), c.encode("utf-8")
    alts = [re.escape(c)]
    alts.append("".join(f"%(?:25)?{_hex(f'{b:02X}')}" for b in data))  # once or twice
    if c == " ":
        alts.append(r"\+|%(?:25)?2[bB]")
    alts.append(f"&#0*{cp};|&#[xX]0*{_hex(f'{cp:X}')};")
    if c in _NAMED:
        alts.append(f"&{_NAMED[c]};")
    if c in _JSON_SHORT:
        alts.append(re.escape("\\" + _JSON_SHORT[c]))
    if cp < 0x10000:
        alts.append(r"\\u" + _hex(f"{cp:04X}"))
    else:
        high, low = 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)
        alts.append(r"\\u" + _hex(f"{high:04X}") + r"\\u" + _hex(f"{low:04X}"))
        alts.append(r"\\U" + _hex(f"{cp:08X}"))
    if 0x80 <= cp < 0x100:
        alts.append(r"\\x" + _hex(f"{cp:02X}"))  # Python's backslashreplace
    return "(?:" + "|".join(alts) + ")"


def _encoded(secret: str) -> list[str]:
    """The base64 and hex forms as regular expressions: hex digits in either
    case, base64's ``+ / =`` also percent-encoded, its padding optional."""
    raw = secret.encode("utf-8")
    special = {"+": r"(?:\+|%2[bB])", "/": r"(?:/|%2[fF])"}
    forms = [_hex(raw.hex())] if recognisable(raw.hex()) else []
    for b64 in {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}:
        if recognisable(b64):
            body = "".join(special.get(c, re.escape(c)) for c in b64.rstrip("="))
            forms.append(body + r"(?:=|%3[dD]){0,2}")
    return forms


@lru_cache(maxsize=4096)
def _starts(secret: str) -> frozenset[str]:
    """Every character a match of :func:`pattern` can begin with."""
    first = {f[0] for f in _texts(secret)} | {"%", "&", "\\", "+"}
    raw = secret.encode("utf-8")
    heads = (raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())
    first |= {h[0] for h in heads if _encoded(secret) and h}
    return frozenset(first | {c.swapcase() for c in first})


def _expression(secret: str) -> str:
    texts = sorted(_texts(secret), key=len, reverse=True)
    forms = ["".join(_char(c) for c in f) for f in texts]
    # Where a match can begin, tested first: a cheap look at most positions of a text.
    start = "(?=[" + "".join(re.escape(c) for c in sorted(_starts(secret))) + "])"
    body = start + "(?:" + "|".join(forms + _encoded(secret)) + ")"
    return body if recognisable(secret) else f"{_BEFORE}{body}{_AFTER}"


@lru_cache(maxsize=256)
def pattern(secret: str) -> re.Pattern[str]:
    """Any spelling of ``secret``: anywhere for a recognisable secret, as a
    whole token for a short one."""
    return re.compile(_expression(secret) if secret else "(?!)")


#: Where any spelling but the literal one begins: a percent, character or
#: JSON escape, or the ``+`` of a form-encoded space.
_ESCAPE_STARTS = ("%", "&", "\\", "+")


@lru_cache(maxsize=4096)
def _literal_forms(secret: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """What :func:`pattern` matches in a text free of escapes: the text forms
    literally, the hex digits (in either case), the base64 forms (unpadded)."""
    raw = secret.encode("utf-8")
    b64s = (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())
    return tuple(_texts(secret)), raw.hex(), tuple(b.rstrip("=") for b in b64s)


#: Every escape :func:`_char` writes, each looked for on its own (so that one
#: never hides another), with what it stands for: a percent escape (once or
#: twice) a byte, the others a code point; ``+`` a space.
_ESCAPES = (
    (re.compile(r"%([0-9a-fA-F]{2})"), "byte"),
    (re.compile(r"%25([0-9a-fA-F]{2})"), "byte"),
    (re.compile(r"&#0*([0-9]{1,7});"), "decimal"),
    (re.compile(r"&#[xX]0*([0-9a-fA-F]{1,6});"), "hex"),
    (re.compile(r"\\[uU]([0-9a-fA-F]{4})"), "hex"),  # \U's first four: 0000 or 0001
    (re.compile(r"\\U([0-9a-fA-F]{8})"), "hex"),
    (re.compile(r"\\x([0-9a-fA-F]{2})"), "hex"),
)
_BY_NAME = {f"&{name};": c for c, name in _NAMED.items()}
_BY_SHORT = {"\\" + short: c for c, short in _JSON_SHORT.items()}


@lru_cache(maxsize=8)
def _reachable(text: str) -> tuple[frozenset[str], bool]:
    """What ``text`` can spell: its characters, and what each escape in it
    stands for; and whether it may spell any non-ASCII character (a byte
    escape of 0x80 or more, or a UTF-16 surrogate, is part of one)."""
    found: set[str] = set(text)
    wide = False
    for spelling, kind in _ESCAPES:
        for match in spelling.finditer(text):
            value = int(match.group(1), 10 if kind == "decimal" else 16)
            if (kind == "byte" and value >= 0x80) or 0xD800 <= value < 0xE000:
                wide = True
            elif value < 0x110000:
                found.add(chr(value))
    found |= {c for name, c in _BY_NAME.items() if name in text}
    found |= {c for short, c in _BY_SHORT.items() if short in text}
    if "+" in found:
        found.add(" ")  # a form-encoded space, itself percent-encoded or not
    return frozenset(found), wide


def may_hold(secret: str, text: str) -> bool:
    """False only where :func:`pattern` cannot match ``text``. A match is one
    of the secret's text forms with each character as itself or in an escape
    (every escape begins with one of ``% & \\ +``), or its hex or base64 form
    (only a base64 ``+`` or ``/`` may be percent-encoded). So in a text with
    no escape character a match needs one of those forms as it stands; in any
    text, the base64 form's pieces between ``+`` and ``/`` as they stand, or
    every character of a text form, as itself or as an escape the text holds.
    A cheap test before compiling (or running) the pattern."""
    if not secret:
        return False
    texts, hexed, b64s = _literal_forms(secret)
    if any(form in text for form in texts) or any(form and form in text for form in b64s):
        return True
    if hexed and hexed in text.lower():
        return True
    if not any(c in text for c in _ESCAPE_STARTS):
        return False
    for b64 in b64s:
        if ("+" in b64 or "/" in b64) and all(p in text for p in re.split("[+/]", b64)):
            return True
    spelled, wide = _reachable(text)
    return any(all(c in spelled or (wide and ord(c) >= 0x80) for c in f) for f in texts)


def spelled_in(secret: str, text: str) -> bool:
    """Whether ``text`` holds ``secret`` in any spelling (:func:`pattern`). The
    cheap :func:`may_hold` goes first: the pattern, tens of kilobytes of
    expression, is compiled only for a text that may hold the secret."""
    return bool(secret) and may_hold(secret, text) and pattern(secret).search(text) is not None


def may_spell(secret: str, text: str) -> bool:
    """False only where ``pattern(secret).fullmatch(text)`` cannot match: a
    whole spelling begins with one of the characters :func:`_starts` lists,
    and :func:`may_hold` holds. Cheap, before compiling the pattern."""
    return bool(text) and text[0] in _starts(secret) and may_hold(secret, text)


# --- where a response echoes a password -------------------------------------------


def _walk_json(data: object) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                yield "#name", str(key)
                stack.append((str(key), value))
        elif isinstance(item, list):
            stack.extend((name, value) for value in item)
        elif item is not None:
            yield name, str(item)


def _walk_xml(body: bytes) -> Iterator[tuple[str, str]]:
    try:  # the hardened parser: no DTD, no entities
        root = parse_xml(body)
    except Exception:  # any body the hardened parser refuses is read as plain text instead
        return
    for element in root.iter():
        tag = str(element.tag)
        yield "#name", tag
        yield tag, element.text or ""
        yield "", element.tail or ""
        yield from element.attrib.items()


def body_fields(body: bytes) -> list[tuple[str, str]]:
    """The body's text after its format's own unescaping, as (field name, value):
    JSON strings decoded, XML text with references resolved, plain ``name=value``
    fields split at ``|``. A body no format reads is split as plain. Member and
    element names come as values of the field ``#name``."""
    text = body.decode("utf-8", errors="replace")
    head = text.lstrip("\ufeff \t\r\n")[:1]
    fields: list[tuple[str, str]] = []
    if head in ("{", "["):
        try:
            fields = list(_walk_json(json.loads(text.lstrip("\ufeff"))))
        except (ValueError, RecursionError):
            fields = []
    elif head == "<":
        fields = list(_walk_xml(body))
    if fields:
        return fields
    for part in text.split("|"):
        name, sep, value = part.partition("=")
        fields.append((name.strip(), value.strip()) if sep else ("", part.strip()))
    return fields


def _header_values(headers: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for name, value in headers:
        yield name, value
        try:  # a target may send UTF-8 that the client read as Latin-1
            again = value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if again != value:
            yield name, again


def echo_in(password: str, headers: Iterable[tuple[str, str]], body: bytes) -> str | None:
    """Where a response holds ``password`` in any spelling, or None.

    A recognisable password counts anywhere: any header, the raw body, the
    body's unescaped text. A short one counts as a whole value or delimited
    token, outside the headers HTTP defines and the envelope fields the spec
    fixes; one with no letter or digit only as a whole value."""
    if not password.strip():
        return None

    def found(text: str) -> bool:
        return spelled_in(password, text)

    long, wordy = recognisable(password), re.search(r"\w", password) is not None
    # Header names are the protocol's vocabulary, never an echo: a submitted
    # password that happens to spell one (a drawn "Content-Length", say) is no
    # finding (tests/test_echo_judge.py keeps the counterexample).
    for name, value in _header_values(headers):
        if long and found(value):
            return f"in the {name} header"
        if not long and name.lower() not in PROTOCOL_HEADERS:
            if value.strip() == password or (wordy and found(value)):
                return f"in the {name} header"
    if long and found(body.decode("utf-8", errors="replace")):
        return "in the body"
    for name, value in body_fields(body):
        if long and found(value):
            return "in the body, once unescaped"
        if not long and name.lower() not in ENVELOPE_FIELDS and name != "#name":
            if value == password or (wordy and found(value)):
                return "in the body, as a value or a word"
    return None


class KnownKeys:
    """The keys a run has seen issued, for finding one in a response cheaply: a
    32-hex key is looked up by the hex runs of the text (any letter case), a
    key of another shape is searched for as it is."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._hexed: set[str] = set()
        self._others: list[str] = []
        for key in keys:
            self.add(key)

    def add(self, key: str) -> None:
        low = key.lower()
        if KEY_SHAPE.fullmatch(low):
            self._hexed.add(low)
        elif low and low not in self._others:
            self._others.append(low)

    def __bool__(self) -> bool:
        return bool(self._hexed or self._others)

    def __contains__(self, key: object) -> bool:
        low = str(key).lower()
        return low in self._hexed or low in self._others

    def found_in(self, text: str) -> bool:
        low = text.lower()
        if self._hexed and any(m.group(0) in self._hexed for m in KEY_SHAPE.finditer(low)):
            return True
        return any(k in low for k in self._others)


def key_in(keys: KnownKeys, headers: Iterable[tuple[str, str]], body: bytes) -> str | None:
    """Where a response holds one of ``keys`` in a spelling the Redactor masks
    (its digits in any letter case), or None: any header, the raw body, the
    body's unescaped text (RK-SAFE-003)."""
    if not keys:
        return None
    for name, value in headers:
        if keys.found_in(value):
            return f"in the {name} header"
    if keys.found_in(body.decode("utf-8", errors="replace")):
        return "in the body"
    if any(keys.found_in(value) for _name, value in body_fields(body)):
        return "in the body, once unescaped"
    return None
