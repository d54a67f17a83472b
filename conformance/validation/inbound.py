"""How the conformance server reads a client's request body: what kind of
body it is, and the parameters in it, with real parsers.

A body is classified by its Content-Type first (RK-HTTP-011 judges the
label). The bytes are looked at only when the Content-Type names no request
body type (missing, or another type), or when they plainly are another kind
than the label says (an ``<Account>`` document labelled as a form): then the
label is wrong and is judged once, under RK-HTTP-011, while the parameters
are still read, so that no other requirement pays for the same fault.

Readers: ``application/x-www-form-urlencoded`` as a server decodes a form;
``multipart/form-data`` with python-multipart (quoted or bare-token field
names, RFC 7578; a preamble before the first boundary ignored, RFC 2046);
the page's ``<Account>`` document with the hardened XML parser of
:func:`conformance.validation.bodies.parse_xml` (a byte-order mark, UTF-8 or
UTF-16, an XML declaration in any legal form, comments and processing
instructions before the root are all XML, and all fine).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote_to_bytes
from xml.etree.ElementTree import ParseError

import defusedxml
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from conformance.validation.bodies import parse_xml

BOM = b"\xef\xbb\xbf"
# UTF-16 by its byte-order mark, else by the first character "<" (XML 1.0, appendix F).
UTF16_STARTS = (
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
MAX_PARTS = 100  # a client sends three fields; a body of parts without end is cut here
logging.getLogger("python_multipart").setLevel(logging.CRITICAL)  # errors come back as values


class BodyKind(StrEnum):
    """What a request body is: named by its Content-Type, or read from its bytes."""

    FORM = "form"
    MULTIPART = "multipart"
    XML = "xml"
    JSON = "json"


# The media types that name each kind of body (RK-HTTP-011).
BODY_MEDIA_TYPES: dict[BodyKind, frozenset[str]] = {
    BodyKind.FORM: frozenset({"application/x-www-form-urlencoded"}),
    BodyKind.MULTIPART: frozenset({"multipart/form-data"}),
    BodyKind.XML: frozenset({"application/xml", "text/xml"}),
    BodyKind.JSON: frozenset({"application/json"}),
}
_KIND_OF_MEDIA = {media: kind for kind, types in BODY_MEDIA_TYPES.items() for media in types}


@dataclass(frozen=True)
class Param:
    """One parameter as the server decoded it; ``where`` is "query" or "body"."""

    name: str
    value: str
    where: str
    decodable: bool = True  # False: the bytes were not UTF-8 once decoded


@dataclass(frozen=True)
class Problem:
    """A body the server cannot read parameters from, and the rule it breaks."""

    requirement: str
    message: str


def media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type value, in lower case ("" when none)."""
    return content_type.split(";")[0].strip().lower()


def _ascii_head(body: bytes) -> bytes:
    """The body as ASCII-compatible bytes, without a byte-order mark:
    an XML document may be UTF-16 (XML 1.0, 4.3.3 and appendix F), told by its
    byte-order mark or by a ``<`` in one byte of two; form and multipart bodies
    are ASCII already."""
    for start, codec in UTF16_STARTS:
        if body.startswith(start):
            text = body[len(start) :] if start in (b"\xff\xfe", b"\xfe\xff") else body
            return text.decode(codec, errors="replace").encode("utf-8", errors="replace")
    return body.removeprefix(BOM)


def _signature(body: bytes) -> BodyKind | None:
    """The kind the bytes plainly are, or None when they show no signature."""
    head = _ascii_head(body).lstrip()
    if head.startswith(b"<"):
        return BodyKind.XML
    if head.startswith(b"--") and b"content-disposition" in body[:4096].lower():
        return BodyKind.MULTIPART
    if head[:1] in (b"{", b"["):
        return BodyKind.JSON
    return None


def body_kind(body: bytes, content_type: str = "") -> BodyKind | None:
    """The kind of ``body`` (None when there is none): the Content-Type's, unless
    the bytes plainly are another kind; the bytes' when the label names none."""
    if not _ascii_head(body).strip():
        return None
    declared = _KIND_OF_MEDIA.get(media_type(content_type))
    signature = _signature(body)
    if declared is None:
        return signature or BodyKind.FORM
    return signature if signature is not None and signature is not declared else declared


def read_body(body: bytes, content_type: str = "") -> tuple[list[Param], Problem | None]:
    """The parameters of a request body, or the problem that stops a server reading them."""
    kind = body_kind(body, content_type)
    if kind is BodyKind.FORM:
        return decode_pairs(body, "body"), None
    if kind is BodyKind.MULTIPART:
        return multipart_fields(body, content_type)
    if kind is BodyKind.XML:
        return account_fields(body)
    if kind is BodyKind.JSON:
        message = "a JSON body is none of the request formats (form, multipart, <Account>)"
        return [], Problem("RK-HTTP-011", message)
    return [], None


def _decode_component(raw: bytes) -> tuple[str, bool]:
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), False


def decode_pairs(raw: bytes, where: str) -> list[Param]:
    """``a=1&b=2`` decoded as a form: ``+`` is a space, ``%XX`` a byte, UTF-8."""
    out = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        decoded_name, ok_name = _decode_component(name)
        decoded_value, ok_value = _decode_component(value)
        out.append(Param(decoded_name, decoded_value, where, ok_name and ok_value))
    return out


def _boundary(body: bytes, content_type: str) -> bytes | None:
    """The boundary the Content-Type names, else the one the body opens with."""
    _, options = parse_options_header(content_type.encode("latin-1", "replace"))
    if options.get(b"boundary"):
        return options[b"boundary"]
    first = body.removeprefix(BOM).lstrip().split(b"\n", 1)[0].rstrip(b"\r")
    return first[2:] if first.startswith(b"--") and len(first) > 2 else None


def _without_preamble(body: bytes, boundary: bytes) -> bytes:
    """The body from its first boundary line on: what comes before it is a
    preamble (RFC 2046, 5.1.1: a blank line, a note for non-MIME readers),
    which a reader ignores; python-multipart would refuse it."""
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        return body
    at = body.find(b"\r\n" + delimiter)
    return body[at + 2 :] if at >= 0 else body


class _Parts:
    """python-multipart's callbacks, collecting each part's headers and content."""

    def __init__(self) -> None:
        self.parts: list[tuple[list[tuple[bytes, bytes]], bytearray]] = []
        self.ended = False
        self._field, self._value = bytearray(), bytearray()

    def callbacks(self) -> dict[str, object]:
        def part_begin() -> None:
            if len(self.parts) >= MAX_PARTS:
                raise MultipartParseError(f"more than {MAX_PARTS} parts")
            self.parts.append(([], bytearray()))

        def header_field(data: bytes, start: int, end: int) -> None:
            self._field += data[start:end]

        def header_value(data: bytes, start: int, end: int) -> None:
            self._value += data[start:end]

        def header_end() -> None:
            self.parts[-1][0].append((bytes(self._field).lower(), bytes(self._value)))
            self._field, self._value = bytearray(), bytearray()

        def part_data(data: bytes, start: int, end: int) -> None:
            self.parts[-1][1].extend(data[start:end])

        def end() -> None:
            self.ended = True

        return {
            "on_part_begin": part_begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_part_data": part_data,
            "on_end": end,
        }


def multipart_fields(body: bytes, content_type: str = "") -> tuple[list[Param], Problem | None]:
    """The fields of a multipart/form-data body, names quoted or bare tokens."""
    boundary = _boundary(body, content_type)
    if boundary is None:
        return [], Problem("RK-HTTP-011", "a multipart body without a boundary")
    collected = _Parts()
    parser = MultipartParser(boundary, collected.callbacks())  # type: ignore[arg-type]
    try:
        parser.write(_without_preamble(body, boundary))
        parser.finalize()
    except MultipartParseError as exc:
        return [], Problem("RK-HTTP-011", f"the multipart body is not well-formed: {exc}")
    if not collected.ended:
        return [], Problem("RK-HTTP-011", "the multipart body has no closing boundary")
    out = []
    for headers, content in collected.parts:
        disposition = next((v for n, v in headers if n == b"content-disposition"), None)
        if disposition is None:
            continue
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            continue
        name = options[b"name"].decode("utf-8", errors="replace")
        try:
            out.append(Param(name, bytes(content).decode("utf-8"), "body"))
        except UnicodeDecodeError:
            out.append(Param(name, bytes(content).decode("utf-8", "replace"), "body", False))
    return out, None


def account_fields(body: bytes) -> tuple[list[Param], Problem | None]:
    """The children of the page's ``<Account>`` body."""
    if _signature(body) is not BodyKind.XML:
        return [], Problem("RK-HTTP-011", "a body labelled as XML that is not XML")
    try:
        root = parse_xml(body)
    except defusedxml.DefusedXmlException:
        message = "the XML body declares a DTD or entities, which a hardened server refuses"
        return [], Problem("RK-PARAM-003", message)
    except (ParseError, ValueError):
        message = "the XML body is not well-formed: values must be XML-escaped (& as &amp;)"
        return [], Problem("RK-PARAM-003", message)
    if root.tag != "Account":
        return [], Problem("RK-PARAM-001", f"the XML body's root is <{root.tag}>, not <Account>")
    return [Param(child.tag, child.text or "", "body") for child in root], None
