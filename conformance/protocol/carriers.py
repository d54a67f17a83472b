"""The bodies each carrier sends, and the shell words that rebuild them.

:func:`multipart_body` and :func:`account_xml` write a request body from its
parameters, with the style flags of :class:`~conformance.protocol.wire.RequestSpec`
(``bare-names``, ``filename``, ``format-file``; ``bom``, ``no-declaration``,
``cdata``, ``entities``, ``references``, ``crlf``, ``xsi``). :func:`form_text` is the
urlencoded form (and query) text (``percent-space``: a space as ``%20``).

The ``shell_*`` functions write the same bytes as a bash word: literal text
single-quoted (or ``$'...'`` when it holds CR, LF, tabs or a BOM), and a secret
as its environment variable, run through the same encoding in the shell
(``od`` and ``awk`` in the C locale, byte for byte), so a curl line built from
these words sends exactly what :func:`~conformance.protocol.wire.build` sends
and never holds a secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from urllib.parse import quote, quote_plus, urlencode
from xml.sax.saxutils import escape

Params = tuple[tuple[str, str], ...]

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
BOM = "\ufeff"
CDATA_SPLIT = "]]]]><![CDATA[>"
NAMED_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}

MULTIPART_FLAGS = frozenset({"bare-names", "filename", "format-file"})
XML_FLAGS = frozenset({"bom", "no-declaration", "cdata", "entities", "references", "crlf", "xsi"})
FORM_FLAGS = frozenset({"media-params", "percent-space"})
FLAGS = MULTIPART_FLAGS | XML_FLAGS | FORM_FLAGS
FORM_MEDIA_PARAMS = "application/x-www-form-urlencoded; charset=UTF-8"
#: The root's attributes with ``xsi``: the XML Schema instance namespace and
#: every attribute of it account.xsd allows on an element that is not nillable
#: (XSD 1.0 part 1 section 3.3.4: xsi:type, xsi:schemaLocation,
#: xsi:noNamespaceSchemaLocation), so the document stays schema-valid.
XSI_ATTRIBUTES = (
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:noNamespaceSchemaLocation="account.xsd"'
    ' xsi:schemaLocation="urn:regenkey account.xsd" xsi:type="AccountType"'
)


def form_text(params: Params, style: frozenset[str] = frozenset()) -> str:
    """``urlencode``: space as ``+`` (as ``%20`` with ``percent-space``: both
    decode to a space, WHATWG URL application/x-www-form-urlencoded parsing),
    only ``A-Z a-z 0-9 _ . - ~`` left as they are."""
    if "percent-space" in style:
        return urlencode(params, quote_via=quote)
    return urlencode(params)


def form_value(value: str, style: frozenset[str] = frozenset()) -> str:
    """One value (or name) as :func:`form_text` writes it."""
    return quote(value, safe="") if "percent-space" in style else quote_plus(value)


def part_head(name: str, boundary: str, style: frozenset[str]) -> str:
    """The delimiter and headers of one part: quoted names (``name="userId"``)
    unless ``bare-names`` (``name=userId``, a token: RFC 7578 section 4.2 takes
    RFC 2183's value syntax, token or quoted-string); ``filename`` adds a
    ``filename`` parameter and a ``Content-Type: text/plain`` part header,
    and ``format-file`` the same to the ``format`` part alone."""
    shown = name if "bare-names" in style else f'"{name}"'
    disposition = f"form-data; name={shown}"
    extra = ""
    if "filename" in style or ("format-file" in style and name == "format"):
        disposition += f'; filename="{name}.txt"'
        extra = "Content-Type: text/plain; charset=UTF-8\r\n"
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n"


def multipart_body(
    params: Params, boundary: str = "", style: frozenset[str] = frozenset()
) -> tuple[bytes, str]:
    """The body and its Content-Type; a fresh random boundary unless one is given."""
    boundary = boundary or uuid.uuid4().hex
    parts = [f"{part_head(name, boundary, style)}{value}\r\n" for name, value in params]
    return (
        "".join(parts) + f"--{boundary}--\r\n"
    ).encode(), f"multipart/form-data; boundary={boundary}"


def xml_text(value: str, style: frozenset[str]) -> str:
    """A value as XML character data: ``& < >`` escaped; with ``cdata`` one
    CDATA section (a ``]]>`` inside split across two); with ``entities`` the
    five named entities and a decimal character reference for every other
    ASCII character that is not a letter or digit; with ``references`` a
    decimal character reference for every ASCII character, letters and digits
    too (non-ASCII stays UTF-8 in both)."""
    if "cdata" in style:
        return "<![CDATA[" + value.replace("]]>", CDATA_SPLIT) + "]]>"
    if "references" in style:
        return "".join(c if not c.isascii() else f"&#{ord(c)};" for c in value)
    if "entities" in style:
        return "".join(_entity(c) for c in value)
    return escape(value)


def _entity(c: str) -> str:
    if not c.isascii() or c.isalnum():
        return c
    return NAMED_ENTITIES.get(c, f"&#{ord(c)};")


def xml_frame(params: Params, style: frozenset[str]) -> tuple[str, list[tuple[str, str]], str]:
    """The document around the values: its head, each child's (open, close), its tail."""
    nl = "\r\n" if "crlf" in style else "\n"
    head = "" if "no-declaration" in style else XML_HEAD + nl
    root = "<Account" + (XSI_ATTRIBUTES if "xsi" in style else "") + ">"
    head = (BOM if "bom" in style else "") + head + root
    children = [(f"{nl}\t<{name}>", f"</{name}>") for name, _ in params]
    return head, children, f"{nl}</Account>"


def account_xml(params: Params, style: frozenset[str] = frozenset()) -> bytes:
    """The page's ``<Account>`` request body, values XML-escaped."""
    head, children, tail = xml_frame(params, style)
    inner = "".join(
        o + xml_text(v, style) + c for (o, c), (_, v) in zip(children, params, strict=True)
    )
    return (head + inner + tail).encode()


# --- shell words ------------------------------------------------------------

_KEEP = "(c>=48&&c<=57)||(c>=65&&c<=90)||(c>=97&&c<=122)"
_FORM_AWK = (
    '{for(i=1;i<=NF;i++){c=$i+0;if(c==32)printf "%s";'
    + f'else if({_KEEP}||c==45||c==46||c==95||c==126)printf "%%c",c;'
    + 'else printf "%%%%%%02X",c}}'
)
_AWK = {
    # urlencode (quote_plus): space as +, A-Z a-z 0-9 _ . - ~ kept
    "form": _FORM_AWK % "+",
    # the same with percent-space: space as %20
    "form20": _FORM_AWK % "%%20",
    "xml": '{for(i=1;i<=NF;i++){c=$i+0;if(c==38)printf "&amp;";else if(c==60)printf "&lt;";'
    'else if(c==62)printf "&gt;";else printf "%c",c}}',
    "entities": "{for(i=1;i<=NF;i++){c=$i+0;if(c>=128||" + _KEEP + ')printf "%c",c;'
    'else if(c==38)printf "&amp;";else if(c==60)printf "&lt;";else if(c==62)printf "&gt;";'
    'else if(c==34)printf "&quot;";else if(c==39)printf "&apos;";else printf "&#%d;",c}}',
    "references": '{for(i=1;i<=NF;i++){c=$i+0;if(c>=128)printf "%c",c;else printf "&#%d;",c}}',
    "cdata": "{for(i=1;i<=NF;i++)b[n++]=$i+0}END{for(i=0;i<n;i++){"
    'if(b[i]==93&&b[i+1]==93&&b[i+2]==62){printf "]]]]><![CDATA[>";i+=2}'
    'else printf "%c",b[i]}}',
}


def shell_literal(text: str) -> str:
    """``text`` as one bash word: single-quoted, or ``$'...'`` when it holds
    control characters or a BOM (written as escapes, so the line stays one line)."""
    if text == "":
        return "''"
    if not any(ord(c) < 32 or c in (BOM, "\x7f") or "\udc80" <= c <= "\udcff" for c in text):
        return "'" + text.replace("'", "'\\''") + "'"
    out = []
    for c in text:
        if c in "\\'":
            out.append("\\" + c)
        elif c in "\r\n\t":
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}[c])
        elif "\udc80" <= c <= "\udcff":  # a byte that is not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(c) - 0xDC00:02X}")
        elif ord(c) < 32 or c in (BOM, "\x7f"):
            out.append("".join(f"\\x{b:02X}" for b in c.encode()))
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"


def shell_secret(variable: str, encoding: str = "raw") -> str:
    """A bash word for the value of ``$variable``, encoded as ``encoding``
    (``raw``, ``form``, ``form20``, ``xml``, ``entities``, ``references``,
    ``cdata``) byte for byte."""
    if encoding == "raw":
        return f'"${variable}"'
    program = _AWK[encoding]
    return f'"$(printf %s "${variable}" | LC_ALL=C od -An -v -tu1 | LC_ALL=C awk \'{program}\')"'


Segment = tuple[str, str | None, str]  # (literal text, secret variable, encoding)


def shell_word(segments: Sequence[Segment]) -> str:
    """Literal text and secrets concatenated into one bash word."""
    words, pending = [], ""
    for text, variable, encoding in segments:
        if variable is None:
            pending += text
            continue
        if pending:
            words.append(shell_literal(pending))
        words.append(shell_secret(variable, encoding))
        pending = ""
    if pending or not words:
        words.append(shell_literal(pending))
    return "".join(words)


def multipart_segments(
    params: Params, boundary: str, style: frozenset[str], secret: dict[str, str]
) -> list[Segment]:
    """The multipart body as segments (secrets raw: multipart does not encode)."""
    out: list[Segment] = []
    for name, value in params:
        out.append((part_head(name, boundary, style), None, ""))
        out.append(_value_segment(name, value, secret, "raw", value))
        out.append(("\r\n", None, ""))
    out.append((f"--{boundary}--\r\n", None, ""))
    return out


def xml_segments(params: Params, style: frozenset[str], secret: dict[str, str]) -> list[Segment]:
    """The ``<Account>`` body as segments, secrets escaped in the shell as in Python."""
    head, children, tail = xml_frame(params, style)
    modes = ("cdata", "references", "entities")
    mode = next((m for m in modes if m in style), "xml")
    out: list[Segment] = [(head, None, "")]
    for (opening, closing), (name, value) in zip(children, params, strict=True):
        out.append((opening, None, ""))
        if mode == "cdata" and secret.get(name) and value:
            out += [("<![CDATA[", None, ""), ("", secret[name], "cdata"), ("]]>", None, "")]
        else:
            out.append(_value_segment(name, value, secret, mode, xml_text(value, style)))
        out.append((closing, None, ""))
    out.append((tail, None, ""))
    return out


def form_segments(
    params: Params, secret: dict[str, str], style: frozenset[str] = frozenset()
) -> list[Segment]:
    """``name=value&...`` as segments, secrets percent-encoded in the shell."""
    out: list[Segment] = []
    encoding = "form20" if "percent-space" in style else "form"
    for n, (name, value) in enumerate(params):
        out.append((("&" if n else "") + form_value(name, style) + "=", None, ""))
        out.append(_value_segment(name, value, secret, encoding, form_value(value, style)))
    return out


def _value_segment(
    name: str, value: str, secret: dict[str, str], encoding: str, encoded: str
) -> Segment:
    variable = secret.get(name)
    if variable and value:
        return ("", variable, encoding)
    return (encoded, None, "")
