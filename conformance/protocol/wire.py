"""Requests on the wire: build them, and write the curl line that reproduces them.

One :class:`RequestSpec` describes a request logically (method, where the
parameters travel, extra query parameters, headers, style flags); :func:`build`
turns it into bytes for any HTTP library, and :func:`curl_command` into a
copy-paste bash reproduction that sends the same method, path, query, body and
the spec's headers, and whose secrets are environment variables
(``$REGENKEY_PASSWORD``, ``$REGENKEY_API_KEY``), never literals. The bodies
themselves are written in :mod:`conformance.protocol.carriers`.

Style flags (``RequestSpec.style``): multipart ``bare-names``, ``filename`` and
``format-file`` (a filename on the format part only); XML ``bom``,
``no-declaration``, ``cdata``, ``entities``, ``references`` (every ASCII
character as a character reference), ``crlf``; form
``media-params`` (``application/x-www-form-urlencoded; charset=UTF-8``); form and
query ``percent-space`` (a space written ``%20``, not ``+``). A flag
that does not belong to the spec's encoding changes nothing.

The curl line needs bash (``$'...'`` words), ``od`` and ``awk`` (to encode a
secret as the carrier does). A query goes in ``--request-target`` (curl 7.55),
sent verbatim (an appended query would have its escapes lower-cased). A
multipart spec without a fixed ``boundary`` gets a fresh one in each call, so
then only the boundary differs.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from conformance.protocol.carriers import (
    FORM_MEDIA_PARAMS,
    Segment,
    account_xml,
    form_segments,
    form_text,
    multipart_body,
    multipart_segments,
    shell_word,
    xml_segments,
)
from conformance.protocol.records import ENDPOINT_PATH

__all__ = [
    "Encoding",
    "RequestSpec",
    "WireRequest",
    "account_xml",
    "build",
    "curl_command",
    "multipart_body",
]


class Encoding(StrEnum):
    """Where the parameters travel."""

    QUERY = "query"
    FORM = "form"
    MULTIPART = "multipart"
    XML = "xml"
    RAW = "raw"  # ``raw_body`` as given, for malformed and hostile input


@dataclass(frozen=True)
class RequestSpec:
    """One request. ``params`` travel as ``encoding`` says; ``query`` are extra
    query parameters on any method (after ``params`` when both are in the
    query); ``style`` holds the carrier's flags; ``boundary`` fixes the
    multipart boundary (empty: a fresh random one)."""

    method: str = "POST"
    encoding: Encoding = Encoding.FORM
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    raw_body: bytes = b""
    content_type: str | None = None
    path: str = ENDPOINT_PATH
    chunked: bool = False
    query: tuple[tuple[str, str], ...] = ()
    style: frozenset[str] = frozenset()
    boundary: str = ""

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass(frozen=True)
class WireRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _query_pairs(spec: RequestSpec) -> tuple[tuple[str, str], ...]:
    return (spec.params if spec.encoding is Encoding.QUERY else ()) + spec.query


def build(base_url: str, spec: RequestSpec) -> WireRequest:
    """The request's bytes. Values are URL-encoded in queries and forms."""
    url = base_url.rstrip("/") + spec.path
    headers = list(spec.headers)
    body = b""
    content_type = spec.content_type
    pairs = _query_pairs(spec)
    if pairs:
        url += ("&" if "?" in url else "?") + form_text(pairs, spec.style)
    if spec.encoding is Encoding.FORM:
        body = form_text(spec.params, spec.style).encode("ascii")
        media = "media-params" in spec.style
        content_type = content_type or (
            FORM_MEDIA_PARAMS if media else "application/x-www-form-urlencoded"
        )
    elif spec.encoding is Encoding.MULTIPART:
        body, generated = multipart_body(spec.params, spec.boundary, spec.style)
        content_type = content_type or generated
    elif spec.encoding is Encoding.XML:
        body = account_xml(spec.params, spec.style)
        content_type = content_type or "application/xml"
    elif spec.encoding is Encoding.RAW:
        body = spec.raw_body
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return WireRequest(spec.method, url, tuple(headers), body)


SECRET_VARIABLES = {"password": "REGENKEY_PASSWORD", "apiKey": "REGENKEY_API_KEY"}


def _header_word(name: str, value: str) -> str:
    """``-H`` argument: a key as its variable; an empty value as ``name;``
    (curl drops a header written ``name:``)."""
    if name.lower() == "apikey" and value:
        return f'"{name}: ${SECRET_VARIABLES["apiKey"]}"'
    if value == "":
        return shlex.quote(f"{name};")
    return shlex.quote(f"{name}: {value}")


def _raw_word(body: bytes) -> str:
    """A raw body as a ``--data-binary`` argument: a word, or a ``printf``
    process substitution when it holds NUL (no argument can)."""
    if b"\x00" not in body and not body.startswith(b"@"):
        return shell_word([(body.decode("utf-8", "surrogateescape"), None, "")])
    escaped = "".join(chr(b) if 32 <= b < 127 and b not in b"%\\'" else f"\\{b:03o}" for b in body)
    return f"@<(printf '{escaped}')"


def _body_segments(spec: RequestSpec, boundary: str) -> list[Segment] | None:
    if spec.encoding is Encoding.FORM:
        return form_segments(spec.params, SECRET_VARIABLES, spec.style)
    if spec.encoding is Encoding.MULTIPART:
        return multipart_segments(spec.params, boundary, spec.style, SECRET_VARIABLES)
    if spec.encoding is Encoding.XML:
        return xml_segments(spec.params, spec.style, SECRET_VARIABLES)
    return None


def curl_command(base_url: str, spec: RequestSpec) -> str:
    """A bash curl line that sends the same request, secrets as environment variables."""
    url = base_url.rstrip("/") + spec.path
    head = spec.method.upper() == "HEAD"
    words = ["curl", "-sS", "-i"] + (["-I"] if head else ["-X", spec.method])
    for name, value in spec.headers:
        words += ["-H", _header_word(name, value)]
    boundary = spec.boundary or uuid.uuid4().hex
    content_type = build(
        "",
        RequestSpec(
            spec.method,
            spec.encoding,
            style=spec.style,
            content_type=spec.content_type,
            boundary=boundary,
        ),
    ).headers
    pairs = _query_pairs(spec)
    if pairs:  # sent verbatim: curl would lower-case the escapes of an appended query
        split = urlsplit(url)
        start = split.path + (f"?{split.query}&" if split.query else "?")
        target: list[Segment] = [(start, None, "")]
        for n, pair in enumerate(pairs):
            target += [("&", None, "")] if n else []
            target += form_segments((pair,), SECRET_VARIABLES, spec.style)
        words += ["--request-target", shell_word(target)]
    segments = _body_segments(spec, boundary)
    if segments is not None:
        words += ["--data-binary", shell_word(segments)]
    elif spec.encoding is Encoding.RAW and spec.raw_body:
        words += ["--data-binary", _raw_word(spec.raw_body)]
    types = [value for name, value in content_type if name == "Content-Type"]
    if types:
        words += ["-H", shlex.quote(f"Content-Type: {types[0]}")]
    elif segments is not None or spec.raw_body:
        words += ["-H", shlex.quote("Content-Type:")]  # curl would add its own
    if spec.chunked:
        words += ["-H", shlex.quote("Transfer-Encoding: chunked")]
    if spec.method == "GET" and "--data-binary" not in words:
        words.remove("-X")
        words.remove("GET")
    words.append(shlex.quote(url))
    return " ".join(words)
