"""Requests on the wire: build them, and write the curl line that reproduces them.

One :class:`RequestSpec` describes a request logically (method, where the
parameters travel, headers); :func:`build` turns it into bytes for any HTTP
library, and :func:`curl_command` into a copy-paste reproduction whose
secrets are environment variables (``$REGENKEY_PASSWORD``,
``$REGENKEY_API_KEY``), never literals.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from conformance.protocol.records import ENDPOINT_PATH


class Encoding(StrEnum):
    """Where the parameters travel."""

    QUERY = "query"
    FORM = "form"
    MULTIPART = "multipart"
    XML = "xml"
    RAW = "raw"  # ``raw_body`` as given, for malformed and hostile input


@dataclass(frozen=True)
class RequestSpec:
    method: str = "POST"
    encoding: Encoding = Encoding.FORM
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    raw_body: bytes = b""
    content_type: str | None = None
    path: str = ENDPOINT_PATH
    chunked: bool = False

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


def multipart_body(params: tuple[tuple[str, str], ...]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in params
    ]
    return (
        "".join(parts) + f"--{boundary}--\r\n"
    ).encode(), f"multipart/form-data; boundary={boundary}"


def account_xml(params: tuple[tuple[str, str], ...]) -> bytes:
    """The page's ``<Account>`` request body, values XML-escaped."""
    children = "".join(f"\n\t<{name}>{escape(value)}</{name}>" for name, value in params)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Account>{children}\n</Account>'.encode()


def build(base_url: str, spec: RequestSpec) -> WireRequest:
    """The request's bytes. Values are URL-encoded in queries and forms."""
    url = base_url.rstrip("/") + spec.path
    headers = list(spec.headers)
    body = b""
    content_type = spec.content_type
    if spec.encoding is Encoding.QUERY:
        if spec.params:
            url += "?" + urlencode(spec.params)
    elif spec.encoding is Encoding.FORM:
        body = urlencode(spec.params).encode("ascii")
        content_type = content_type or "application/x-www-form-urlencoded"
    elif spec.encoding is Encoding.MULTIPART:
        body, generated = multipart_body(spec.params)
        content_type = content_type or generated
    elif spec.encoding is Encoding.XML:
        body = account_xml(spec.params)
        content_type = content_type or "application/xml"
    else:
        body = spec.raw_body
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return WireRequest(spec.method, url, tuple(headers), body)


SECRET_VARIABLES = {"password": "REGENKEY_PASSWORD", "apiKey": "REGENKEY_API_KEY"}


def _value(name: str, value: str) -> str:
    """A shell word for a parameter value; secrets become variables."""
    variable = SECRET_VARIABLES.get(name)
    if variable and value:
        return f'"${variable}"'
    return shlex.quote(value)


def curl_command(base_url: str, spec: RequestSpec) -> str:
    """A curl line that sends the same request, secrets as environment variables."""
    url = base_url.rstrip("/") + spec.path
    words = ["curl", "-sS", "-i", "-X", spec.method]
    for name, value in spec.headers:
        if name.lower() == "apikey" and value:
            words += ["-H", f'"{name}: ${SECRET_VARIABLES["apiKey"]}"']
        else:
            words += ["-H", shlex.quote(f"{name}: {value}")]
    fields = [(n, v) for n, v in spec.params]
    if spec.encoding is Encoding.QUERY:
        words.append("-G")
        for name, value in fields:
            words += ["--data-urlencode", f"{shlex.quote(name + '=')}{_value(name, value)}"]
    elif spec.encoding is Encoding.FORM:
        for name, value in fields:
            words += ["--data-urlencode", f"{shlex.quote(name + '=')}{_value(name, value)}"]
    elif spec.encoding is Encoding.MULTIPART:
        for name, value in fields:
            words += ["--form-string", f"{shlex.quote(name + '=')}{_value(name, value)}"]
    elif spec.encoding is Encoding.XML:
        words += ["-H", shlex.quote("Content-Type: application/xml")]
        inner = "".join(
            shlex.quote(f"<{n}>") + _value(n, v) + shlex.quote(f"</{n}>") for n, v in fields
        )
        words += ["--data-binary", f"'<Account>'{inner}'</Account>'"]
    elif spec.raw_body:
        words += ["--data-binary", shlex.quote(spec.raw_body.decode("utf-8", "replace"))]
    if spec.content_type and spec.encoding not in (Encoding.XML,):
        words += ["-H", shlex.quote(f"Content-Type: {spec.content_type}")]
    if spec.method == "GET" and spec.encoding is Encoding.QUERY:
        words.remove("-X")
        words.remove("GET")
    words.append(shlex.quote(url))
    return " ".join(words)
