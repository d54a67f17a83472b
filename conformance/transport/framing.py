"""One HTTP/1.1 response read off a connection, under the exchange's deadline.

The head (at most MAX_HEAD bytes, a tolerant reading: bare LF, blank lines
before the status line, folded headers), interim answers counted by the
caller, and the body by its framing: chunked, Content-Length, or until the
connection closes, each piece going through the content decoder as it comes.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.errors import ExchangeError
from conformance.transport.decoding import ContentDecoder, ResponseTooLarge

MAX_HEAD = 64 * 1024
_READ = 65536


class ExchangeTimeout(ExchangeError):
    """No complete answer within the exchange's deadline."""


class Deadline:
    def __init__(self, timeout: float, where: str) -> None:
        self.timeout = timeout
        self.at = time.monotonic() + timeout
        self.where = where

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise ExchangeTimeout(f"no complete answer from {self.where} within {self.timeout:g} s")
        return left


class Connection:
    """A socket and what was read from it but not yet used."""

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.sock = sock
        self.where = where
        self.buffer = bytearray()
        self.idle_since = 0.0  # when it was last given back to the pool (time.monotonic)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def stale(self, wait: float = 0.0) -> bool:
        """An idle connection the server closed (or wrote to) meanwhile is not reused;
        ``wait`` gives a server that closes it right after its answer time to show it."""
        try:
            readable, _, _ = select.select([self.sock], [], [], max(wait, 0.0))
        except (OSError, ValueError):
            return True
        return bool(readable) or bool(self.buffer)

    def send(self, data: bytes, deadline: Deadline) -> None:
        self.sock.settimeout(deadline.remaining())
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise ExchangeTimeout(f"{self.where} did not take the request in time") from None
        except OSError as exc:
            raise ExchangeError(f"{type(exc).__name__} sending to {self.where}") from None

    def fill(self, deadline: Deadline) -> bool:
        """Read what is there; False at the end of the stream."""
        self.sock.settimeout(deadline.remaining())
        try:
            chunk = self.sock.recv(_READ)
        except TimeoutError:
            deadline.remaining()  # raises once the whole exchange is out of time
            raise ExchangeTimeout(f"no answer from {self.where} in time") from None
        except OSError as exc:
            raise ExchangeError(f"{type(exc).__name__} reading from {self.where}") from None
        self.buffer += chunk
        return bool(chunk)

    def readline(self, deadline: Deadline, limit: int) -> bytes | None:
        """One line without its end (CRLF or a bare LF); None at the end of the stream."""
        start = 0
        while (end := self.buffer.find(b"\n", start)) < 0:
            if len(self.buffer) > limit:
                raise ExchangeError(f"{self.where} sent a response head over {MAX_HEAD} bytes")
            start = len(self.buffer)
            if not self.fill(deadline):
                if self.buffer:
                    raise ExchangeError(f"{self.where} closed the connection mid-line")
                return None
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return line.removesuffix(b"\r")

    def take(self, count: int, deadline: Deadline) -> bytes:
        while len(self.buffer) < count:
            if not self.fill(deadline):
                raise ExchangeError(f"{self.where} closed the connection before the body's end")
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def take_some(self, deadline: Deadline) -> bytes:
        """What is buffered, or the next read; b"" at the end of the stream."""
        if not self.buffer and not self.fill(deadline):
            return b""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


@dataclass(frozen=True)
class _Head:
    version: bytes
    status: int
    headers: tuple[tuple[bytes, bytes], ...]

    def values(self, name: bytes) -> list[bytes]:
        """The comma-separated tokens of every header ``name``, lower-cased."""
        tokens = [
            t.strip().lower() for n, v in self.headers if n.lower() == name for t in v.split(b",")
        ]
        return [t for t in tokens if t]


def read_head(conn: Connection, deadline: Deadline) -> _Head:
    budget = MAX_HEAD
    line = conn.readline(deadline, budget)
    while line == b"":  # tolerate blank lines before the status line
        line = conn.readline(deadline, budget)
    if line is None:
        raise ExchangeError(f"{conn.where} closed the connection without an answer")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ExchangeError(f"{conn.where} did not answer with an HTTP/1.x status line")
    if len(parts[1]) != 3:
        raise ExchangeError(f"{conn.where} sent a status code that is not three digits")
    headers: list[tuple[bytes, bytes]] = []
    used = len(line)
    while True:
        line = conn.readline(deadline, MAX_HEAD - used)
        if line is None:
            raise ExchangeError(f"{conn.where} closed the connection inside the response head")
        used += len(line) + 2
        if used > MAX_HEAD:
            raise ExchangeError(f"{conn.where} sent a response head over {MAX_HEAD} bytes")
        if not line:
            return _Head(parts[0], int(parts[1]), tuple(headers))
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ExchangeError(f"{conn.where} sent a malformed header line")
        headers.append((name, value.strip()))


def _read_chunked(conn: Connection, deadline: Deadline, decoder: ContentDecoder) -> None:
    while True:
        size_line = conn.readline(deadline, 1024)
        if size_line is None:
            raise ExchangeError(f"{conn.where} closed the connection inside a chunked body")
        digits = size_line.split(b";", 1)[0].strip()
        try:
            size = int(digits, 16)
        except ValueError:
            raise ExchangeError(f"{conn.where} sent a malformed chunk size") from None
        if size == 0:
            break
        while size > 0:  # a chunk's declared size is the target's word, never allocated at once
            if not conn.buffer and not conn.fill(deadline):
                raise ExchangeError(f"{conn.where} closed the connection inside a chunk")
            piece = conn.take(min(size, len(conn.buffer)), deadline)
            size -= len(piece)
            decoder.feed(piece)
        if conn.readline(deadline, 1024) != b"":
            raise ExchangeError(f"{conn.where} sent a chunk without its CRLF")
    for _ in range(100):  # trailers, ignored
        line = conn.readline(deadline, MAX_HEAD)
        if not line:
            return
    raise ExchangeError(f"{conn.where} sent more than 100 trailer lines")


def read_body(
    conn: Connection, deadline: Deadline, head: _Head, method: str, max_body: int
) -> tuple[bytes, bool]:
    """The decoded body, and whether its framing lets the connection be reused."""
    if method == "HEAD" or head.status in (204, 304):
        return b"", True
    decoder = ContentDecoder(head.values(b"content-encoding"), max_body, conn.where)
    transfer = head.values(b"transfer-encoding")
    lengths = set(head.values(b"content-length"))
    if transfer:
        if transfer != [b"chunked"]:
            codings = b", ".join(transfer).decode("latin-1")
            raise ExchangeError(f"{conn.where} sent an unsupported transfer coding ({codings})")
        _read_chunked(conn, deadline, decoder)
        return decoder.finish(), True
    if lengths:
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise ExchangeError(f"{conn.where} sent an invalid Content-Length")
        remaining = int(next(iter(lengths)))
        if remaining > max_body:
            raise ResponseTooLarge(f"{conn.where} sent a body over {max_body} bytes")
        while remaining > 0:
            if not conn.buffer and not conn.fill(deadline):
                raise ExchangeError(f"{conn.where} closed the connection before the body's end")
            piece = conn.take(min(remaining, len(conn.buffer)), deadline)
            remaining -= len(piece)
            decoder.feed(piece)
        return decoder.finish(), True
    while piece := conn.take_some(deadline):  # close-delimited
        decoder.feed(piece)
    return decoder.finish(), False


def keep_alive(head: _Head, framed: bool, request_headers: Iterable[tuple[str, str]]) -> bool:
    if not framed:
        return False
    asked_close = any(
        n.lower() == "connection" and "close" in v.lower() for n, v in request_headers
    )
    tokens = head.values(b"connection")
    if asked_close or b"close" in tokens:
        return False
    return head.version != b"HTTP/1.0" or b"keep-alive" in tokens
