"""Which HTTP/1.1 implementation ``regenkey serve`` runs under uvicorn.

uvicorn's httptools protocol (llhttp, in C) parses requests several times
faster than its pure-Python h11 one, which is most of what the reference
server spends on a request (docs/BENCHMARKS.md). It has one difference this
server cannot accept: llhttp knows a fixed list of methods, and uvicorn
answers any other, such as ``FOO``, with ``400 Invalid HTTP request``
before the app sees it, where RK-HTTP-008 asks for 405 with ``Allow: GET,
POST``. :class:`ExtensionMethodsAllowed` answers those with that 405 (and
the plain error envelope) instead; every other parse error keeps uvicorn's
400. The method is refused before the path is read, so ``FOO /elsewhere``
gets 405 too, not 404.

Nor does uvicorn bound a request's head under httptools (h11 stops at
16 KiB): a client could send an endless header line and the server would
buffer it. The protocol counts the bytes of a head still incomplete and
answers 431 (the plain error envelope) past :data:`MAX_HEAD_BYTES`, as h11
would have refused it. It counts on every read: a read that may hold head
bytes is parsed :data:`HEAD_PIECE` bytes at a time, so a 100 KB head sent
in one write is refused as surely as one sent a byte at a time.

With :class:`~reference_impl.server.connections.Limits` (what ``regenkey
serve`` passes), each connection also joins its server's
:class:`~reference_impl.server.connections.Pool`: a deadline for each
request's head and body, and a cap on open connections that sheds the one
idle longest.
"""

from __future__ import annotations

import asyncio
import sys
from typing import ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conformance import Format
from reference_impl.server.accesslog import Note
from reference_impl.server.app import ALLOW, NOT_ALLOWED, Answer, refusal
from reference_impl.server.connections import Limits, Pool
from reference_impl.server.requests import Problem

MAX_HEAD_BYTES = 16 * 1024  # uvicorn's h11_max_incomplete_event_size default
#: What may hold head bytes is parsed this much at a time (see ``data_received``).
HEAD_PIECE = 1024
HEAD_TOO_LARGE = Problem("head-too-large", "431", "request head too large", 431)
_REASONS = {405: b"Method Not Allowed", 431: b"Request Header Fields Too Large"}


def _raw(answer: Answer) -> bytes:
    """``answer`` as bytes on the wire, the connection closed after it."""
    head = [b"HTTP/1.1 %d %s\r\n" % (answer.status, _REASONS[answer.status])]
    head += [name + b": " + value + b"\r\n" for name, value in answer.headers]
    return b"".join([*head, b"connection: close\r\n\r\n", answer.body])


def method_not_allowed() -> bytes:
    """The whole 405 response the app gives other methods (RK-HTTP-008)."""
    return _raw(refusal(NOT_ALLOWED, Format.PLAIN, Note(), [(b"allow", ALLOW.encode())]))


def head_too_large() -> bytes:
    """The whole 431 response for a request head over :data:`MAX_HEAD_BYTES`."""
    return _raw(refusal(HEAD_TOO_LARGE, Format.PLAIN, Note()))


class ExtensionMethodsAllowed(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering unknown methods with 405,
    bounding request heads, and (with a :class:`Pool`) bounding connections."""

    #: The connections of the server this class was made for (:func:`http_protocol`).
    pool: ClassVar[Pool | None] = None
    deadline: float | None = None
    _in_head = False
    _in_body = False
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        pool = self.pool
        if pool is not None:
            self.deadline = self.loop.time() + pool.limits.head_timeout
            if not pool.opened(self, self.loop):
                transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pool is not None:
            self.pool.closed(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        """Close the connection (a late head, or shed to make room)."""
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0
        if self.deadline is None and self.pool is not None:
            self.deadline = self.loop.time() + self.pool.limits.head_timeout

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        super().on_headers_complete()
        if self.pool is not None:
            self.pool.busy(self)

    def on_message_complete(self) -> None:
        self._in_body, self.deadline = False, None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.pool is not None and not self.pipeline and not self.transport.is_closing():
            self.pool.idle(self)

    def data_received(self, data: bytes) -> None:
        # A head is counted on every read: data that may hold head bytes is
        # parsed HEAD_PIECE bytes at a time, so a whole oversized head in one
        # read is refused like one spread over many (to within HEAD_PIECE).
        if len(data) <= HEAD_PIECE or self._in_body:
            self._parse(data)
            return
        for start in range(0, len(data), HEAD_PIECE):
            if self._in_body or self.parser is None or self.parser.should_upgrade():
                self._parse(data[start:])
                return
            if not self._parse(data[start : start + HEAD_PIECE]):
                return

    def _parse(self, data: bytes) -> bool:
        """Parse ``data``; False once the connection is closing."""
        super().data_received(data)
        if self.transport.is_closing():
            return False
        if self._in_head:
            # The head began in this chunk or before, and is not complete yet:
            # count the whole chunk (an upper bound of its part of the head).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._in_head = False
                self.transport.write(head_too_large())
                self.transport.close()
                return False
        return True

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from inside its `except httptools.HttpParserError`.
        if isinstance(sys.exc_info()[1], httptools.HttpParserInvalidMethodError):
            self.transport.write(method_not_allowed())
            self.transport.close()
            return
        super().send_400_response(msg)


def http_protocol(limits: Limits | None = None) -> type[asyncio.Protocol]:
    """What ``uvicorn.Config(http=...)`` gets from :func:`~reference_impl.server.serve`:
    a class of its own per server, whose connections share one :class:`Pool`
    (none without ``limits``)."""
    if limits is None:
        return ExtensionMethodsAllowed
    attributes = {"pool": Pool(limits), "__doc__": ExtensionMethodsAllowed.__doc__}
    return type("BoundedConnections", (ExtensionMethodsAllowed,), attributes)
