"""One HTTP/1.1 exchange with a target that may be hostile, bounded as a whole.

Every HTTP request the kit makes (``check-server``, ``regenkey call``, the
reference client) goes through :class:`HttpClient`, a small HTTP/1.1 client on
sockets, because a general-purpose library bounds each read but not the
exchange, loops on ``1xx`` answers without end, inflates a compressed chunk
whole before anyone can count it, and reads proxies from the environment.
Here:

- **one deadline** runs from connect to the last byte, whatever state the
  exchange is in (a head dripped a byte a second, endless ``100 Continue``),
  and at most :data:`MAX_INTERIM` interim (``1xx``) answers are read;
- **bounded memory**: at most ``max_body`` bytes on the wire and, after the
  content coding is removed, ``max_body`` decoded bytes (``gzip`` and
  ``deflate`` are inflated incrementally with a bounded output); the kit asks
  for ``Accept-Encoding: identity``, so stacked codings (``gzip, gzip``) and
  codings it cannot decode are the target's fault;
- **no proxy** unless one is passed explicitly (the environment's
  ``HTTP_PROXY`` and friends are never read, so a loopback password never
  travels to a "proxy");
- headers go out as given (duplicates and letter case kept), bodies with a
  Content-Length or chunked; responses are read tolerantly (close-delimited,
  chunked, ``103 Early Hints`` before the answer) and kept-alive connections
  are reused, safely: a server may close a connection it kept alive without
  saying so, and a request sent on it as it closes is lost, with no telling
  whether it was applied (a regeneration must never be sent twice, so it is
  never retried). Until a server has answered once on a reused connection,
  its idle connection is given :data:`SETTLE_S` after the answer to show it
  closed; a server that closes one (or fails a request on one) gets a fresh
  connection for every request from then on.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from conformance.errors import ExchangeError
from conformance.transport.decoding import ResponseTooLarge
from conformance.transport.framing import (
    Connection,
    Deadline,
    ExchangeTimeout,
    keep_alive,
    read_body,
    read_head,
)

__all__ = [
    "MAX_BODY",
    "ConnectFailed",
    "ExchangeError",
    "ExchangeTimeout",
    "HttpClient",
    "HttpResponse",
    "ResponseTooLarge",
    "is_loopback",
]

MAX_BODY = 1 << 20  # a response larger than this is the target's fault
MAX_INTERIM = 10
# How long after its answer a server that has not yet answered on a reused
# connection has to close it, before the kit sends on it (once per origin).
SETTLE_S = 0.05
_BODYLESS_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT")


class ConnectFailed(ExchangeError):
    """The target (or the proxy) could not be reached."""


@dataclass(frozen=True)
class HttpResponse:
    """A complete answer: headers as received, the body with its content coding removed."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        found = [v for n, v in self.headers if n.lower() == wanted]
        return b", ".join(found).decode("latin-1") if found else None


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int
    authority: str  # the Host header's value

    @classmethod
    def parse(cls, url: str) -> _Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        authority = parts.netloc.rpartition("@")[2]
        return cls(parts.scheme, parts.hostname, port, authority)


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (localhost or a loopback address):
    such a target is never reached through a proxy."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpClient:
    """A bounded HTTP/1.1 client; thread-safe (each thread takes its own connection).

    ``timeout`` bounds each exchange from connect to last byte; ``proxy``
    (``http://[user:password@]host:port``) is used only when given.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        *,
        max_body: int = MAX_BODY,
        proxy: str | None = None,
        user_agent: str = "regenkey",
    ) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self.user_agent = user_agent
        self.proxy = _Origin.parse(proxy) if proxy else None
        self._proxy_auth: str | None = None
        if proxy:
            parts = urlsplit(proxy)
            if parts.scheme != "http":
                raise ValueError("the proxy must be an http:// URL")
            if parts.username is not None:
                pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                self._proxy_auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        self._idle: dict[_Origin, list[Connection]] = {}
        self._kept: set[_Origin] = set()  # answered on a reused connection
        self._closes: set[_Origin] = set()  # closed a kept-alive connection: never reused
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | Iterable[bytes] = b"",
    ) -> HttpResponse:
        """Send one request and read its whole answer, or raise an ExchangeError.
        ``body`` as bytes goes with a Content-Length, as an iterable of bytes chunked."""
        origin = _Origin.parse(url)
        headers = list(headers)
        data = self._encode(method, url, origin, headers, body)
        deadline = Deadline(self.timeout, f"{origin.scheme}://{origin.authority}")
        conn, reused = self._take(origin, deadline)
        try:
            try:
                conn.send(data, deadline)
            except ExchangeTimeout:
                raise
            except ExchangeError as unsent:
                # A server may answer (413, say) and close before reading the whole
                # request: its answer, when one came, is what counts.
                try:
                    head = read_head(conn, deadline)
                except ExchangeError:
                    raise unsent from None
            else:
                head = read_head(conn, deadline)
            interim = 0
            while 100 <= head.status < 200:
                if head.status == 101:
                    raise ExchangeError(f"{conn.where} switched protocols (101) unasked")
                interim += 1
                if interim > MAX_INTERIM:
                    raise ExchangeError(
                        f"{conn.where} sent more than {MAX_INTERIM} interim (1xx) responses"
                    )
                head = read_head(conn, deadline)
            content, framed = read_body(conn, deadline, head, method.upper(), self.max_body)
        except BaseException:
            conn.close()
            if reused:
                with self._lock:
                    self._closes.add(origin)
            raise
        if reused:
            with self._lock:
                self._kept.add(origin)
        if keep_alive(head, framed, headers) and not conn.buffer:
            self._give_back(origin, conn)
        else:
            conn.close()
        return HttpResponse(head.status, head.headers, content)

    # --- connections ------------------------------------------------------------
    def _take(self, origin: _Origin, deadline: Deadline) -> tuple[Connection, bool]:
        """A connection to ``origin`` and whether it is a reused one."""
        while True:
            with self._lock:
                idle = self._idle.get(origin, [])
                conn = idle.pop() if idle and origin not in self._closes else None
                settle = origin not in self._kept
            if conn is None:
                return self._connect(origin, deadline), False
            wait = conn.idle_since + SETTLE_S - time.monotonic() if settle else 0.0
            if not conn.stale(min(wait, deadline.remaining())):
                return conn, True
            conn.close()
            if settle and time.monotonic() - conn.idle_since <= SETTLE_S * 2:
                with self._lock:  # it closed right after its answer: it always will
                    self._closes.add(origin)

    def _give_back(self, origin: _Origin, conn: Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if not self._closed and len(self._idle.setdefault(origin, [])) < 16:
                self._idle[origin].append(conn)
                return
        conn.close()

    def _connect(self, origin: _Origin, deadline: Deadline) -> Connection:
        where = f"{origin.scheme}://{origin.authority}"
        hop = self.proxy or origin
        named = f"the proxy http://{hop.authority}" if self.proxy else where
        try:
            sock = socket.create_connection((hop.host, hop.port), timeout=deadline.remaining())
        except TimeoutError:
            raise ExchangeTimeout(f"no connection to {named} in time") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {named} ({type(exc).__name__})") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(sock, where)
        try:
            if self.proxy is not None and origin.scheme == "https":
                self._tunnel(conn, origin, deadline)
            if origin.scheme == "https":
                context = ssl.create_default_context()
                context.set_alpn_protocols(["http/1.1"])
                sock.settimeout(deadline.remaining())
                try:
                    conn.sock = context.wrap_socket(sock, server_hostname=origin.host)
                except TimeoutError:
                    raise ExchangeTimeout(f"no TLS handshake with {where} in time") from None
                except OSError as exc:
                    raise ConnectFailed(f"TLS with {where} failed: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _tunnel(self, conn: Connection, origin: _Origin, deadline: Deadline) -> None:
        target = f"{origin.host}:{origin.port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if self._proxy_auth:
            lines.append(f"Proxy-Authorization: {self._proxy_auth}")
        conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), deadline)
        head = read_head(conn, deadline)
        if not 200 <= head.status < 300:
            raise ConnectFailed(f"the proxy refused a tunnel to {target} (HTTP {head.status})")
        conn.buffer.clear()

    def _encode(
        self,
        method: str,
        url: str,
        origin: _Origin,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes],
    ) -> bytes:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.proxy is not None and origin.scheme == "http":
            target = f"http://{origin.authority}{target}"  # absolute form, to a proxy
        names = {name.lower() for name, _ in headers}
        out = [f"{method} {target} HTTP/1.1"]
        if "host" not in names:
            out.append(f"Host: {origin.authority}")
        out += [f"{name}: {value}" for name, value in headers]
        for name, value in (
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("User-Agent", self.user_agent),
        ):
            if name.lower() not in names:
                out.append(f"{name}: {value}")
        if self._proxy_auth and origin.scheme == "http":
            out.append(f"Proxy-Authorization: {self._proxy_auth}")
        framed = bool(names & {"content-length", "transfer-encoding"})
        if isinstance(body, bytes | bytearray):
            payload = bytes(body)
            if not framed and (payload or method.upper() not in _BODYLESS_METHODS):
                out.append(f"Content-Length: {len(payload)}")
        else:
            if not framed:
                out.append("Transfer-Encoding: chunked")
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in body if p) + b"0\r\n\r\n"
        if any("\r" in line or "\n" in line for line in out):
            raise ValueError("a request line, header name or value contains CR or LF")
        return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8") + payload
