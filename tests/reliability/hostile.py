"""Hostile targets for the kit: tiny socket servers on 127.0.0.1 that hang,
reset connections, send endless or dripping bodies, invalid UTF-8, 5xx, or
echo what they were sent. Every loop here ends when the test ends, and
after ``LIFETIME`` seconds at the latest."""

from __future__ import annotations

import functools
import gzip
import json
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import unquote_plus
from xml.sax.saxutils import escape

from conformance import MEDIA_TYPES, Format, Record, render
from tests.reliability.proxy import read_request

LIFETIME = 60.0
ENDLESS_BYTES = 64 << 20  # what an "endless" body sends at most, so a test cannot eat the RAM

Behaviour = Callable[[socket.socket, bytes, threading.Event], None]


def _respond(
    sock: socket.socket, status: str, body: bytes, media: str = "application/json"
) -> None:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)


def hang(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
    stop.wait(LIFETIME)  # reads the request, never answers


def reset(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    # SO_LINGER 0: close() sends RST instead of FIN
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def close_silently(_sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    return  # FIN without a byte of response


def endless_body(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
    end = time.monotonic() + LIFETIME
    sent = 0
    while not stop.is_set() and time.monotonic() < end:
        if sent < ENDLESS_BYTES:  # far past any answer; then it stalls, never ending the body
            sock.sendall(chunk)
            sent += len(chunk)
        else:
            stop.wait(0.1)


def endless_headers(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\n")
    end = time.monotonic() + LIFETIME
    while not stop.is_set() and time.monotonic() < end:
        sock.sendall(b"X-More: " + b"h" * 1000 + b"\r\n")


def drip(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    )
    end = time.monotonic() + LIFETIME
    while not stop.is_set() and time.monotonic() < end:
        sock.sendall(b" ")
        stop.wait(0.2)


def invalid_utf8(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    _respond(sock, "200 OK", b'{"status":"success","apiKey":"\xff\xfe\xc3\x28","statusCode":"900"}')


def server_error(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    _respond(sock, "500 Internal Server Error", b"upstream exploded", "text/plain")


def garbage(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4)


def echo(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """Echoes the request's password, decoded, in an error reason and as a malformed body."""
    raw = request.decode("latin-1").split("password=", 1)[-1].split("&", 1)[0].split("\r\n")[0]
    password = unquote_plus(raw, encoding="utf-8", errors="replace")
    fmt = "json" if b"format=json" in request else "xml" if b"format=xml" in request else "plain"
    reason = f"bad password {password}"
    if fmt == "json":
        body = json.dumps({"status": "error", "statusCode": "401", "reason": reason})
    elif fmt == "xml":
        body = (
            f"<errorResponse><status>error</status><statusCode>401</statusCode>"
            f"<reason>{escape(reason)}</reason></errorResponse>"
        )
    else:
        body = f"status=error | statusCode=401 | reason={reason}"
    _respond(sock, "200 OK", body.encode())


def echo_malformed(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """A body no parser accepts, quoting the whole request (secrets and all)."""
    _respond(sock, "200 OK", b"status=success | apiKey=" + request, "text/plain")


def echo_as_key(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """The request's password, decoded, where the key belongs in a plain body:
    a parser's message then quotes the start of it."""
    raw = request.decode("latin-1").split("password=", 1)[-1].split("&", 1)[0].split("\r\n")[0]
    password = unquote_plus(raw, encoding="utf-8", errors="replace")
    body = f"status=success | apiKey={password} | statusCode=900 | reason=success"
    _respond(sock, "200 OK", body.encode(), "text/plain")


def _success_for(request: bytes) -> tuple[bytes, str]:
    """A valid success body in the format the request asked for, and its media type."""
    fmt = Format.JSON
    for each in Format:
        if b"format=" + each.value.encode() in request:
            fmt = each
    return render(Record.success(uuid.uuid4().hex), fmt).encode(), MEDIA_TYPES[fmt]


def drip_head(sock: socket.socket, request: bytes, stop: threading.Event) -> None:
    """A valid answer whose head comes a byte every 0.2 s: no single read waits long."""
    body, media = _success_for(request)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n\r\n"
    for byte in head.encode():
        if stop.wait(0.2):
            return
        sock.sendall(bytes([byte]))
    sock.sendall(body)


def endless_interim(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
    """``100 Continue`` every 50 ms, never the answer."""
    end = time.monotonic() + LIFETIME
    while not stop.is_set() and time.monotonic() < end:
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        stop.wait(0.05)


def early_hints(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """Correct but unusual: ``103 Early Hints`` (twice), then a valid success."""
    body, media = _success_for(request)
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    sock.sendall(hints * 2)
    _respond(sock, "200 OK", body, media)


def _coded(sock: socket.socket, coding: str, body: bytes, media: str) -> None:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {media}\r\nContent-Encoding: {coding}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)


def gzip_once(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """Correct but unusual: a valid success, gzip-compressed although not asked for."""
    body, media = _success_for(request)
    _coded(sock, "gzip", gzip.compress(body), media)


def deflate_raw(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """Correct but unusual: a valid success as raw deflate (no zlib wrapper)."""
    body, media = _success_for(request)
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    _coded(sock, "deflate", packer.compress(body) + packer.flush(), media)


@functools.cache
def gzip_zeros(mib: int) -> bytes:
    """``mib`` MiB of zero bytes, gzip-compressed (1 GiB packs into about 1 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([packer.compress(block) for _ in range(mib)] + [packer.flush()])


def stacked_bomb(mib: int) -> Behaviour:
    """``Content-Encoding: gzip, gzip``: gzip of ``mib`` MiB of zeros, gzipped again
    (1,827 bytes on the wire for 1 GiB)."""
    wire = gzip.compress(gzip_zeros(mib), 9)

    def bomb(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        _coded(sock, "gzip, gzip", wire, "application/json")

    return bomb


def single_bomb(mib: int) -> Behaviour:
    """One honest gzip coding of ``mib`` MiB of zeros: over the cap once decoded."""

    def bomb(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        _coded(sock, "gzip", gzip_zeros(mib), "application/json")

    return bomb


def brotli_coded(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
    _coded(sock, "br", b"\x1b\x03\x00\xf8\x05", "application/json")


def control_codes(sock: socket.socket, request: bytes, _stop: threading.Event) -> None:
    """Terminal control codes wherever a target can put them: 8-bit C1 CSI
    (U+009B, UTF-8 c2 9b) in Content-Type and Allow (h11 refuses C0 bytes in
    header values), ESC/OSC/BEL sequences and C1 in the body's reason."""
    reason = "\x1b]0;pwned\x07\x1b[2J\u009b31mVerdict: PASS\r\x1b[1A"
    if b"format=json" in request:
        body = json.dumps({"status": "error", "statusCode": "401", "reason": reason}).encode()
        # the same reason, raw (not \\u-escaped): not valid JSON, quoted by the failure
        body = body + reason.encode()
    else:
        body = f"status=error | statusCode=401 | reason={reason}".encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\xc2\x9b2J\xc2\x9b31m\r\n"
        b"Allow: GET\xc2\x9b2J\r\nX-Title: \xc2\x9d0;pwned\xc2\x9c\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head + body)


BEHAVIOURS: dict[str, Behaviour] = {
    "drip-head": drip_head,
    "endless-1xx": endless_interim,
    "early-hints": early_hints,
    "gzip-once": gzip_once,
    "deflate-raw": deflate_raw,
    "br": brotli_coded,
    "hang": hang,
    "reset": reset,
    "close": close_silently,
    "endless-body": endless_body,
    "endless-headers": endless_headers,
    "drip": drip,
    "invalid-utf8": invalid_utf8,
    "5xx": server_error,
    "garbage": garbage,
    "echo": echo,
    "echo-malformed": echo_malformed,
    "echo-as-key": echo_as_key,
    "control-codes": control_codes,
}


def _read_request(sock: socket.socket) -> bytes:
    """The request's head and its whole body (a chunked one de-chunked)."""
    raw = read_request(sock, bytearray()) or b""
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return raw
    plain = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        plain += body[:size]
        body = body[size + 2 :]
    return head + b"\r\n\r\n" + bytes(plain)


@dataclass
class Target:
    """A running hostile server: its URL, and when the first client reached it
    (so that a bound on the kit's time excludes the kit's own start-up)."""

    url: str
    first_contact: float | None = None
    requests: list[bytes] = field(default_factory=list)  # every request read, in order


@contextmanager
def hostile_server(name: str | Behaviour) -> Iterator[Target]:
    """Serve behaviour ``name`` (or the behaviour given) on 127.0.0.1."""
    behaviour = BEHAVIOURS[name] if isinstance(name, str) else name
    stop = threading.Event()
    target = Target("")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    threads: list[threading.Thread] = []

    def handle(sock: socket.socket) -> None:
        sock.settimeout(LIFETIME)
        try:
            request = _read_request(sock)
            target.requests.append(request)
            behaviour(sock, request, stop)
        except OSError:
            pass
        finally:
            sock.close()

    def accept() -> None:
        end = time.monotonic() + LIFETIME * 5
        while not stop.is_set() and time.monotonic() < end:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if target.first_contact is None:
                target.first_contact = time.monotonic()
            thread = threading.Thread(target=handle, args=(sock,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    target.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield target
    finally:
        stop.set()
        acceptor.join(timeout=5)
        with suppress(OSError):
            listener.close()
        for thread in threads:
            thread.join(timeout=5)
