"""Read one request, whatever its shape: the apiKey header, userId, password, format.

Parameters (exact names ``userId``, ``password``, ``format``) come from the
query string (GET and POST alike) and from a body that is
``application/x-www-form-urlencoded``, ``multipart/form-data``, or
``application/xml`` / ``text/xml`` (the page's ``<Account>`` document, parsed
with DTDs and entities refused and validated against ``xsd/account.xsd``).

Precedence: the body first, the query string as a fallback, name by name.
An empty value counts as absent, so for each name the first non-empty value
wins (body before query, earlier before later). An empty body is ignored
whatever its Content-Type (a GET may carry one); a non-empty body of any
other media type is refused.

A userId, password or apiKey holding a control character (NUL included:
``password=right%00`` must never be the right password, whatever a backend
does with a C string) is refused as malformed (statusCode 400, in the asked
format), never looked up.

Input that cannot be read raises :class:`Refused` with a fixed, safe reason:
no message here ever quotes the input, so no secret can leak through one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element

import defusedxml
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import Receive, Scope

from conformance import Format, account_xsd, parse_xml
from reference_impl.server.passwords import has_control

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

DEFAULT_MAX_BODY = 64 * 1024
MAX_FIELDS = 100
NAMES = ("userId", "password", "format")
# What account.xsd allows at most: three children (its sequence), no
# grandchildren (xs:string), and no attributes but the four xsi: ones.
MAX_XML_CHILDREN = len(NAMES)
MAX_XML_ATTRIBUTES = 4

Fields = list[tuple[str, str]]

# python-multipart logs a warning for every malformed body it meets: noise any
# client can trigger. Its parser gets this logger instead, which says nothing.
_SILENT = logging.Logger("regenkey.server.multipart")
_SILENT.disabled = True


@dataclass(frozen=True)
class Problem:
    """Why a request gets no key: a log label, the envelope's code and reason."""

    label: str
    code: str
    reason: str
    http_status: int = 200


BAD_QUERY = Problem("bad-request", "400", "malformed query string")
BAD_FORM = Problem("bad-request", "400", "malformed form body")
BAD_MULTIPART = Problem("bad-request", "400", "malformed multipart body")
BAD_XML = Problem("bad-request", "400", "malformed XML body")
HOSTILE_XML = Problem("bad-request", "400", "XML body with a DTD or entities refused")
INVALID_ACCOUNT = Problem("bad-request", "400", "XML body is not a valid Account document")
INCOMPLETE = Problem("bad-request", "400", "incomplete request body")
UNREADABLE = Problem("bad-request", "400", "unreadable request")
UNSUPPORTED = Problem("unsupported-type", "415", "unsupported content type")
UNKNOWN_FORMAT = Problem("bad-format", "400", "unknown format, use plain, json or xml")
TOO_LARGE = Problem("too-large", "413", "request body too large", 413)
BAD_CREDENTIAL = Problem("bad-request", "400", "malformed credential (a control character)")


class Refused(Exception):
    """The request cannot be served; answer with ``problem`` in ``format``."""

    def __init__(self, problem: Problem, format: Format = Format.PLAIN) -> None:
        super().__init__(problem.reason)
        self.problem = problem
        self.format = format


@dataclass(frozen=True, slots=True)
class Params:
    """What a request asks for. Secrets are kept out of ``repr``."""

    format: Format
    user_id: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)


def first_value(name: str, *sources: Fields) -> str | None:
    """The first non-empty value of ``name`` in ``sources``, in order."""
    for source in sources:
        for key, value in source:
            if key == name and value:
                return value
    return None


def split_fields(text: str) -> Fields:
    """``parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)``
    (ValueError past the limit), straight from ``str.split`` when ``text`` has
    nothing to decode (no ``%``, no ``+``), as most query strings have not.
    ``tests/test_server_requests.py`` holds the two equal."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    if text.count("&") >= MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    return [(name, value) for name, _, value in (f.partition("=") for f in text.split("&") if f)]


def parse_query(raw: bytes) -> Fields:
    try:
        return split_fields(raw.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        raise Refused(BAD_QUERY) from None


def parse_form(body: bytes) -> Fields:
    try:
        return split_fields(body.decode("utf-8"))
    except ValueError:
        raise Refused(BAD_FORM) from None


class _Parts:
    """Collects the fields of a multipart body from the parser's callbacks."""

    def __init__(self) -> None:
        self.fields: Fields = []
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._data = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._disposition, self._data = b"", bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def _part_end(self) -> None:
        name = parse_options_header(self._disposition)[1].get(b"name")
        if name is None:
            return  # a part without a name carries no parameter
        if len(self.fields) >= MAX_FIELDS:
            raise Refused(BAD_MULTIPART)
        try:
            self.fields.append((name.decode("utf-8"), bytes(self._data).decode("utf-8")))
        except UnicodeDecodeError:
            raise Refused(BAD_MULTIPART) from None

    def _end(self) -> None:
        self.ended = True


def parse_multipart(body: bytes, boundary: bytes | None) -> Fields:
    """The named fields of a complete multipart body (values as UTF-8 text)."""
    if not boundary:
        raise Refused(BAD_MULTIPART)
    parts = _Parts()
    try:
        parser = MultipartParser(boundary, parts.callbacks())
        parser.logger = _SILENT
        parser.write(body)
        parser.finalize()
    except Refused:
        raise
    except Exception:  # the parser's own errors on hostile input
        raise Refused(BAD_MULTIPART) from None
    if not parts.ended:  # truncated: no closing boundary
        raise Refused(BAD_MULTIPART)
    return parts.fields


def _could_be_account(root: Element) -> bool:
    """Limits account.xsd implies, checked before the schema validator sees
    the tree: its cost grows faster than linearly (7,000 attributes on one
    element, a 64 KiB body, cost it 8 s), so it only ever sees a handful of
    nodes."""
    if len(root) > MAX_XML_CHILDREN or len(root.attrib) > MAX_XML_ATTRIBUTES:
        return False
    return all(len(child) == 0 and len(child.attrib) <= MAX_XML_ATTRIBUTES for child in root)


def parse_account_xml(body: bytes) -> Fields:
    """The children of a valid ``<Account>`` document."""
    try:
        root = parse_xml(body)
    except defusedxml.DefusedXmlException:
        raise Refused(HOSTILE_XML) from None
    except Exception:  # ParseError, and anything expat raises on odd input
        raise Refused(BAD_XML) from None
    if not _could_be_account(root):
        raise Refused(INVALID_ACCOUNT)
    try:
        valid = bool(account_xsd().is_valid(root))
    except Exception:
        valid = False
    if not valid:
        raise Refused(INVALID_ACCOUNT)
    return [(child.tag, child.text or "") for child in root]


def parse_body(content_type: str | None, body: bytes) -> Fields:
    """The fields of a body, by its media type; an empty body has none."""
    if not body:
        return []
    media, options = parse_options_header(content_type or "")
    if media == b"application/x-www-form-urlencoded":
        return parse_form(body)
    if media == b"multipart/form-data":
        return parse_multipart(body, options.get(b"boundary"))
    if media in (b"application/xml", b"text/xml"):
        return parse_account_xml(body)
    raise Refused(UNSUPPORTED)


@dataclass(slots=True)
class Head:
    """What the request's headers say, read in one pass over the raw list."""

    content_type: str | None = None
    content_length: str | None = None
    chunked: bool = False
    api_key: str | None = field(default=None, repr=False)

    @property
    def has_body(self) -> bool:
        """Whether a body follows (HTTP/1.1: only with Content-Length or Transfer-Encoding)."""
        return self.chunked or (self.content_length is not None and self.content_length != "0")


def read_head(headers: list[tuple[bytes, bytes]]) -> Head:
    """The first Content-Type and Content-Length, whether a Transfer-Encoding
    is present, and the first non-empty ``apiKey`` header (any letter case:
    ASGI servers give header names in lower case); empty ones count as absent."""
    head = Head()
    for name, value in headers:
        if name == b"content-type":
            if head.content_type is None:
                head.content_type = value.decode("latin-1")
        elif name == b"content-length":
            if head.content_length is None:
                head.content_length = value.decode("latin-1")
        elif name == b"transfer-encoding":
            head.chunked = True
        elif name == b"apikey" and value and head.api_key is None:
            head.api_key = value.decode("latin-1")
    return head


async def read_body(receive: Receive, head: Head, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes:
    from Content-Length before reading, or while reading a chunked body."""
    if not head.has_body:
        return b""
    declared = head.content_length
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise Refused(TOO_LARGE)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: the client left
            raise Refused(INCOMPLETE)
        body += message.get("body", b"")
        if len(body) > limit:
            raise Refused(TOO_LARGE)
        if not message.get("more_body", False):
            return bytes(body)


async def read_params(scope: Scope, receive: Receive, max_body: int) -> Params:
    """Everything the endpoint needs from the request (ASGI ``scope`` and ``receive``).

    Raises :class:`Refused`. When the body cannot be read, the refusal is
    rendered in the format the query string asked for, if it named one.
    """
    head = read_head(scope["headers"])
    query = parse_query(scope.get("query_string", b""))
    asked = Format.parse(first_value("format", query))
    body: Fields = []
    if head.has_body:
        try:
            body = parse_body(head.content_type, await read_body(receive, head, max_body))
        except Refused as exc:
            raise Refused(exc.problem, asked or Format.PLAIN) from None
    fmt = Format.parse(first_value("format", body, query)) if body else asked
    if fmt is None:
        raise Refused(UNKNOWN_FORMAT)
    params = Params(
        format=fmt,
        user_id=first_value("userId", body, query),
        password=first_value("password", body, query),
        api_key=head.api_key,
    )
    credentials = (params.user_id, params.password, params.api_key)
    if any(value and has_control(value) for value in credentials):
        raise Refused(BAD_CREDENTIAL, fmt)
    return params
