"""The recording conformance server: it keeps every request exactly as it came
and answers with the body the current scenario planned.

The app is plain ASGI, so nothing is normalised away before the checks see it:
the raw path (not percent-decoded), the raw query string, every header, and
the body bytes however they were framed (Content-Length or chunked). It
answers every request, whatever its method, path or parameters, with the
planned answer, so that one fault of a client is judged under one
requirement only and never also as a misunderstood answer. Bodies are read
by :mod:`conformance.validation.inbound` (real parsers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.validation.inbound import (
    BODY_MEDIA_TYPES,
    BodyKind,
    Param,
    Problem,
    body_kind,
    decode_pairs,
    media_type,
    read_body,
)

__all__ = [
    "BODY_MEDIA_TYPES",
    "BodyKind",
    "Param",
    "Problem",
    "RecordedRequest",
    "Recorder",
    "RecordingApp",
    "read_request",
]


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
    def content_type(self) -> str:
        values = self.header_values("content-type")
        return values[0] if values else ""

    @property
    def media_type(self) -> str:
        return media_type(self.content_type)

    @property
    def body_kind(self) -> BodyKind | None:
        return body_kind(self.body, self.content_type)

    @property
    def target(self) -> str:
        query = self.query.decode("latin-1")
        return self.raw_path + (f"?{query}" if query else "")

    def params(self) -> tuple[list[Param], Problem | None]:
        """Query and body parameters, decoded as a server decodes them."""
        params = decode_pairs(self.query, "query")
        fields, problem = read_body(self.body, self.content_type)
        return params + fields, problem


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


async def read_request(scope: Any, receive: Any) -> tuple[RecordedRequest, bool]:
    """The ASGI request exactly as it arrived, its body bounded: the first
    :data:`MAX_BODY` bytes, and whether there were more (a client sending
    without end is not read further)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY or not message.get("more_body", False):
            break
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    request = RecordedRequest(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1"),
        query=scope.get("query_string", b""),
        headers=tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]),
        body=b"".join(chunks)[:MAX_BODY],
    )
    return request, size > MAX_BODY


class Recorder:
    """What the client suite's apps share: the requests of the current
    scenario, kept under a lock (the server answers on threads of its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []

    def take(self) -> list[RecordedRequest]:
        """What was recorded since the scenario began; recording goes on."""
        with self._lock:
            return list(self._requests)


class RecordingApp(Recorder):
    """The ASGI app: records every request, then answers with ``responder``."""

    def __init__(self, responder: Responder | None = None) -> None:
        super().__init__()
        self._responder: Responder = responder or (lambda _request: NO_PLAN)

    def plan(self, responder: Responder) -> None:
        """Start a scenario: forget what was recorded, answer with ``responder``."""
        with self._lock:
            self._requests = []
            self._responder = responder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request, too_large = await read_request(scope, receive)
        with self._lock:
            if len(self._requests) < MAX_REQUESTS:
                self._requests.append(request)
            responder = self._responder
        answer = TOO_LARGE if too_large else responder(request)
        headers = [
            (b"content-type", answer.content_type.encode("latin-1")),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
