"""An ASGI middleware that breaks one behaviour of the reference server.

A ``Breaker`` buffers each request and response so that a fault can be
written as two small functions: one that may rewrite the request before the
reference app sees it, one that may rewrite the response after.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from conformance import Format, Record, validate_body
from conformance.protocol.records import render_json, render_plain, render_xml

Scope = dict[str, Any]
Message = dict[str, Any]
ASGI = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass
class Req:
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode().lower() == name.lower():
                return value.decode("latin-1")
        return None

    def drop_header(self, name: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.decode().lower() != name.lower()]

    def set_header(self, name: str, value: str) -> None:
        self.drop_header(name)
        self.headers.append((name.lower().encode(), value.encode("latin-1")))

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def form(self) -> dict[str, str]:
        fields = dict(parse_qsl(self.query.decode("latin-1"), keep_blank_values=True))
        if self.content_type == "application/x-www-form-urlencoded":
            fields.update(parse_qsl(self.body.decode("latin-1"), keep_blank_values=True))
        return fields

    def replace(self, old: str, new: str) -> None:
        """Replace a literal in the query and the body (any encoding, for
        values with no characters that need encoding)."""
        self.query = self.query.replace(old.encode(), new.encode())
        self.body = self.body.replace(old.encode(), new.encode())

    def mentions(self, text: str) -> bool:
        return text.encode() in self.query or text.encode() in self.body


@dataclass
class Resp:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def fmt(self) -> Format:
        head = self.body.lstrip()[:1]
        return Format.JSON if head == b"{" else Format.XML if head == b"<" else Format.PLAIN

    @property
    def record(self) -> Record | None:
        return validate_body(self.body, self.fmt).record

    def render(self, record: Record, fmt: Format | None = None) -> None:
        fmt = fmt or self.fmt
        text = {Format.JSON: render_json, Format.XML: render_xml, Format.PLAIN: render_plain}[fmt]
        self.body = text(record).encode()

    def sub(self, pattern: str, repl: str) -> None:
        self.body = re.sub(pattern.encode(), repl.encode(), self.body)


OnRequest = Callable[[Req], Resp | None]
OnResponse = Callable[[Req, Resp], None]


@dataclass
class Breaker:
    app: ASGI
    on_request: OnRequest | None = None
    on_response: OnResponse | None = None
    keys: list[str] = field(default_factory=list)  # every key the app issued, in order

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        req = Req(scope["method"], scope["path"], scope["query_string"],
                  list(scope["headers"]), body)  # fmt: skip
        resp = self.on_request(req) if self.on_request else None
        if resp is None:
            resp = await self._call_app(scope, req)
        record = resp.record
        if record is not None and record.api_key and record.is_success:
            self.keys.append(record.api_key)
        if self.on_response:
            self.on_response(req, resp)
        headers = [(k, v) for k, v in resp.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(resp.body)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})

    async def _call_app(self, scope: Scope, req: Req) -> Resp:
        scope = dict(scope, path=req.path, raw_path=req.path.encode(), query_string=req.query,
                     headers=[(k, v) for k, v in req.headers if k != b"content-length"]
                     + [(b"content-length", str(len(req.body)).encode())])  # fmt: skip
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"]
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}

        out = Resp(500, [], b"")

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                out.status, out.headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                out.body += message.get("body", b"")

        await self.app(scope, receive, capture)
        return out
