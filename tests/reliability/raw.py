"""HTTP/1.1 over raw loopback sockets: requests no HTTP library would send,
and responses read byte by byte, bounded in size and time."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

MAX_BODY = 1 << 20
_STALE = ("closed", "ConnectionResetError", "BrokenPipeError")


class NoResponse(Exception):
    """The connection ended (or timed out) before a complete response."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float
    keep_alive: bool = True

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


@dataclass
class Connection:
    """One keep-alive connection; reconnects when the server closed the last one."""

    host: str
    port: int
    timeout: float = 10.0
    sock: socket.socket | None = None
    buffer: bytearray = field(default_factory=bytearray)

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = bytearray()
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def request(self, data: bytes, *, half_close: bool = False) -> Response:
        """Send ``data`` as is and read one response. Raises NoResponse (and
        drops the connection) when none comes.

        A kept-alive connection the server closed meanwhile (it may, after a
        response whose request body it did not read) is retried once on a
        fresh one, as HTTP clients do."""
        reused = self.sock is not None
        try:
            return self._request(data, half_close)
        except NoResponse as exc:
            if not reused or exc.why not in _STALE:
                raise
        return self._request(data, half_close)

    def _request(self, data: bytes, half_close: bool) -> Response:
        started = time.monotonic()
        try:
            sock = self._connect()
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            response = self._read(sock, started + self.timeout, data.startswith(b"HEAD "))
        except (OSError, NoResponse) as exc:
            self.close()
            if isinstance(exc, NoResponse):
                raise
            raise NoResponse(type(exc).__name__) from None
        response.elapsed = time.monotonic() - started
        if half_close or not response.keep_alive:
            self.close()
        return response

    def _fill(self, sock: socket.socket, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoResponse("timeout")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise NoResponse("timeout") from None
        if not chunk:
            raise NoResponse("closed")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def _line(self, sock: socket.socket, deadline: float) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > 65536:
                raise NoResponse("line too long")
            self._fill(sock, deadline)
        return self._take(end + 2)[:-2]

    def _exactly(self, sock: socket.socket, n: int, deadline: float) -> bytes:
        if n > MAX_BODY:
            raise NoResponse("body too large")
        while len(self.buffer) < n:
            self._fill(sock, deadline)
        return self._take(n)

    def _read(self, sock: socket.socket, deadline: float, head: bool) -> Response:
        while True:  # skip any 1xx interim response
            status_line = self._line(sock, deadline).decode("latin-1")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise NoResponse(f"bad status line {status_line[:80]!r}")
            status = int(parts[1])
            headers = []
            while line := self._line(sock, deadline):
                name, _, value = line.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            if status >= 200:
                break
        lower = {n.lower(): v for n, v in headers}
        keep_alive = lower.get("connection", "").lower() != "close"
        if head or status in (204, 304):
            body = bytearray()
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            body = bytearray()
            while size := int(self._line(sock, deadline).split(b";")[0] or b"0", 16):
                body += self._exactly(sock, size, deadline)
                self._line(sock, deadline)
            while self._line(sock, deadline):  # trailers
                pass
        elif "content-length" in lower:
            body = bytearray(self._exactly(sock, int(lower["content-length"]), deadline))
        else:
            keep_alive = False
            body = bytearray()
            try:
                while len(body) < MAX_BODY:
                    self._fill(sock, deadline)
                    body += self._take(len(self.buffer))
            except NoResponse as exc:
                if exc.why != "closed":
                    raise
        return Response(status, headers, bytes(body), 0.0, keep_alive)


def exchange(
    host: str, port: int, data: bytes, *, timeout: float = 10.0, half_close: bool = False
) -> Response:
    """One request on a fresh connection."""
    conn = Connection(host, port, timeout)
    try:
        return conn.request(data, half_close=half_close)
    finally:
        conn.close()


def http_request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    host: str = "127.0.0.1",
    content_length: bool = True,
) -> bytes:
    """A well-framed HTTP/1.1 request's bytes."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{n}: {v}" for n, v in headers or []]
    if content_length and (body or method == "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + body
