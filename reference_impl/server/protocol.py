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
would have refused it.
"""

from __future__ import annotations

import asyncio
import sys

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conformance import Format
from reference_impl.server.accesslog import Note
from reference_impl.server.app import ALLOW, NOT_ALLOWED, Answer, refusal
from reference_impl.server.requests import Problem

MAX_HEAD_BYTES = 16 * 1024  # uvicorn's h11_max_incomplete_event_size default
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
    """uvicorn's httptools protocol, answering unknown methods with 405 and
    bounding request heads."""

    _in_head = False
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            # The head began in this chunk or before, and is not complete yet:
            # count the whole chunk (an upper bound of its part of the head).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._in_head = False
                self.transport.write(head_too_large())
                self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from inside its `except httptools.HttpParserError`.
        if isinstance(sys.exc_info()[1], httptools.HttpParserInvalidMethodError):
            self.transport.write(method_not_allowed())
            self.transport.close()
            return
        super().send_400_response(msg)


def http_protocol() -> type[asyncio.Protocol]:
    """What ``uvicorn.Config(http=...)`` gets from :func:`~reference_impl.server.serve`."""
    return ExtensionMethodsAllowed
