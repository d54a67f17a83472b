"""The recording conformance server: it keeps every request exactly as it came
and answers with the body the current scenario planned.

The app is plain ASGI, so nothing is normalised away before the checks see it:
the raw path (not percent-decoded), the raw query string, every header, and
the body bytes however they were framed (Content-Length or chunked). It
answers every request, whatever its method, path or parameters, with the
planned answer, so that one fault of a client is judged under one
requirement only and never also as a misunderstood answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_to_bytes
from xml.etree.ElementTree import ParseError

import defusedxml

from conformance.bodies import parse_xml


class BodyKind(StrEnum):
    """What a request body is, read from its bytes (not from its Content-Type)."""

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


@dataclass(frozen=True)
class RecordedRequest:
    """A request exactly as it arrived (header names as the server saw them)."""

    method: str
    raw_path: str
    query: bytes
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def media_type(self) -> str:
        values = self.header_values("content-type")
        return values[0].split(";")[0].strip().lower() if values else ""

    @property
    def body_kind(self) -> BodyKind | None:
        return body_kind(self.body)

    @property
    def target(self) -> str:
        query = self.query.decode("latin-1")
        return self.raw_path + (f"?{query}" if query else "")

    def params(self) -> tuple[list[Param], Problem | None]:
        """Query and body parameters, decoded as a server decodes them."""
        params = decode_pairs(self.query, "query")
        kind = self.body_kind
        if kind is BodyKind.FORM:
            params += decode_pairs(self.body, "body")
        elif kind is BodyKind.MULTIPART:
            params += multipart_fields(self.body)
        elif kind is BodyKind.XML:
            fields, problem = account_fields(self.body)
            if problem is not None:
                return params, problem
            params += fields
        elif kind is BodyKind.JSON:
            message = "a JSON body is none of the request formats (form, multipart, <Account>)"
            return params, Problem("RK-HTTP-011", message)
        return params, None


def body_kind(body: bytes) -> BodyKind | None:
    head = body.lstrip()
    if not head:
        return None
    if head.startswith(b"<"):
        return BodyKind.XML
    if head.startswith(b"--") and b"content-disposition" in body[:4096].lower():
        return BodyKind.MULTIPART
    if head[:1] in (b"{", b"["):
        return BodyKind.JSON
    return BodyKind.FORM


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


_FIELD_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)


def multipart_fields(body: bytes) -> list[Param]:
    """The fields of a multipart/form-data body (boundary from its first line)."""
    stripped = body.lstrip()
    boundary = stripped.split(b"\n", 1)[0].rstrip(b"\r")
    out = []
    for part in stripped.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            head, _, content = part.lstrip(b"\n").partition(b"\n\n")
        match = _FIELD_NAME.search(head)
        if match is None:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        name = match.group(1).decode("utf-8", errors="replace")
        try:
            out.append(Param(name, content.decode("utf-8"), "body"))
        except UnicodeDecodeError:
            out.append(Param(name, content.decode("utf-8", "replace"), "body", False))
    return out


def account_fields(body: bytes) -> tuple[list[Param], Problem | None]:
    """The children of the page's ``<Account>`` body."""
    try:
        root = parse_xml(body)
    except (ParseError, defusedxml.DefusedXmlException, ValueError):
        message = "the XML body is not well-formed: values must be XML-escaped (& as &amp;)"
        return [], Problem("RK-PARAM-003", message)
    if root.tag != "Account":
        return [], Problem("RK-PARAM-001", f"the XML body's root is <{root.tag}>, not <Account>")
    return [Param(child.tag, child.text or "", "body") for child in root], None


@dataclass(frozen=True)
class Answer:
    """What the server answers: status, Content-Type and body."""

    status: int
    content_type: str
    body: bytes


Responder = Callable[[RecordedRequest], Answer]
NO_PLAN = Answer(503, "text/plain", b"no scenario is running")
# Bounds on what one scenario may make the kit hold: a request body is a few
# hundred bytes, a client makes one request per call.
MAX_BODY = 1 << 20
MAX_REQUESTS = 1000
TOO_LARGE = Answer(413, "text/plain", b"request body over 1 MiB: not read further")


class RecordingApp:
    """The ASGI app: records every request, then answers with ``responder``."""

    def __init__(self, responder: Responder | None = None) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._responder: Responder = responder or (lambda _request: NO_PLAN)

    def plan(self, responder: Responder) -> None:
        """Start a scenario: forget what was recorded, answer with ``responder``."""
        with self._lock:
            self._requests = []
            self._responder = responder

    def take(self) -> list[RecordedRequest]:
        """What was recorded since :meth:`plan`; recording goes on."""
        with self._lock:
            return list(self._requests)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY:  # a client sending without end: keep what fits, answer 413
                chunks[-1] = chunks[-1][: len(chunks[-1]) - (size - MAX_BODY)]
                break
            if not message.get("more_body", False):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        request = RecordedRequest(
            method=scope["method"],
            raw_path=raw_path.decode("latin-1"),
            query=scope.get("query_string", b""),
            headers=tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]),
            body=b"".join(chunks),
        )
        with self._lock:
            if len(self._requests) < MAX_REQUESTS:
                self._requests.append(request)
            responder = self._responder
        answer = TOO_LARGE if size > MAX_BODY else responder(request)
        headers = [
            (b"content-type", answer.content_type.encode("latin-1")),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
