"""The kit's bounded HTTP/1.1 client (conformance/transport/exchange.py) against small
servers on 127.0.0.1: every legal framing read, headers sent as given,
connections reused, and each broken answer an ExchangeError, never a hang."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from conformance import ExchangeError, ExchangeTimeout, HttpClient, ResponseTooLarge
from conformance.transport.decoding import ContentDecoder
from tests.reliability.hostile import Target, hostile_server

BODY = b'{"status":"success"}'


@contextmanager
def answering(raw: bytes) -> Iterator[Target]:
    """Answers every request with ``raw``, exactly, then closes."""

    def answer(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        sock.sendall(raw)

    with hostile_server(answer) as target:
        yield target


def fetch(raw: bytes, **kwargs: object) -> bytes:
    with answering(raw) as target, HttpClient(2.0) as client:
        return client.request("POST", target.url + "/x", **kwargs).body  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + BODY,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\n" + BODY[:5] + b"\r\nf\r\n" + BODY[5:] + b"\r\n0\r\nX-T: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BODY,  # close-delimited
        b"HTTP/1.0 200 OK\n\n" + BODY,  # bare LF, HTTP/1.0
        b"\r\nHTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 20\r\n\r\n" + BODY,
        b"HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 20"
        b"\r\n\r\n" + BODY,
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(gzip.compress(BODY, mtime=0)), gzip.compress(BODY, mtime=0)),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: GZIP, identity\r\nContent-Length: %d\r\n\r\n%s"
        % (len(gzip.compress(BODY[:9], mtime=0) + gzip.compress(BODY[9:], mtime=0)),
           gzip.compress(BODY[:9], mtime=0) + gzip.compress(BODY[9:], mtime=0)),  # two gzip members
        b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
        % (len(zlib.compress(BODY)), zlib.compress(BODY)),
        b"HTTP/1.1 200 OK\r\nContent-Length: 20, 20\r\n\r\n" + BODY,
    ],
)  # fmt: skip
def test_every_legal_framing_is_read(raw: bytes) -> None:
    assert fetch(raw) == BODY


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nContent-Length: 21\r\n\r\n" + BODY,
         "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + BODY, "before the body's end"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer coding"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
         "cannot decode"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
         + gzip.compress(BODY, mtime=0)[:10], "truncated"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 11, "more than 10 interim"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n", "over 1048576 bytes"),
        (b"SSH-2.0-OpenSSH\r\n", "status line"),
        (b"", "without an answer"),
    ],
)  # fmt: skip
def test_every_broken_answer_is_an_exchange_error(raw: bytes, words: str) -> None:
    with pytest.raises(ExchangeError, match=words):
        fetch(raw)


def test_headers_go_out_as_given_and_bodies_are_framed() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n" + BODY
    with answering(ok) as target, HttpClient(2.0) as client:
        headers = [("apiKey", "k1"), ("APIKEY", "k2"), ("x-Odd", " spaced")]
        client.request("POST", target.url + "/p?a=1", headers, b"userId=u")
        client.request("POST", target.url + "/p", (), iter([b"ab", b"", b"cde"]))
        client.request("GET", target.url + "/p")
    plain, chunked, get = target.requests
    assert plain.startswith(b"POST /p?a=1 HTTP/1.1\r\n")
    assert b"\r\napiKey: k1\r\nAPIKEY: k2\r\nx-Odd:  spaced\r\n" in plain
    assert b"\r\nContent-Length: 8\r\n" in plain and plain.endswith(b"\r\n\r\nuserId=u")
    assert b"Transfer-Encoding: chunked" in chunked and chunked.endswith(b"\r\n\r\nabcde")
    assert b"Content-Length" not in get and b"Accept-Encoding: identity" in get


def test_a_header_with_a_line_break_is_refused_before_sending() -> None:
    with HttpClient(1.0) as client, pytest.raises(ValueError):
        client.request("GET", "http://127.0.0.1:9/", [("X", "a\r\nInjected: 1")])


def test_kept_alive_connections_are_reused_across_threads() -> None:
    connections = 0
    lock = threading.Lock()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + BODY

    def serve(sock: socket.socket) -> None:
        sock.settimeout(5)
        buffer = b""
        with sock:
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    _, buffer = buffer.split(b"\r\n\r\n", 1)
                    sock.sendall(answer)

    def accept() -> None:
        nonlocal connections
        for _ in range(8):
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with lock:
                connections += 1
            threading.Thread(target=serve, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with HttpClient(5.0) as client:
            for _ in range(20):
                assert client.request("GET", url).body == BODY
            with ThreadPoolExecutor(max_workers=4) as pool:
                bodies = list(pool.map(lambda _: client.request("GET", url).body, range(40)))
        assert bodies == [BODY] * 40
        assert connections <= 4  # one for the sequential requests, at most 4 in parallel
    finally:
        listener.close()


def test_the_deadline_covers_a_head_that_never_completes() -> None:
    def slow(sock: socket.socket, _request: bytes, stop: threading.Event) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            if stop.wait(0.1):
                return
            sock.sendall(bytes([byte]))

    with hostile_server(slow) as target, HttpClient(0.5) as client:
        started = time.monotonic()
        with pytest.raises(ExchangeTimeout, match=r"within 0\.5 s"):
            client.request("GET", target.url + "/")
        assert time.monotonic() - started < 1.0


def test_decoded_bytes_count_against_the_cap() -> None:
    bomb = gzip.compress(bytes(5 << 20))
    decoder = ContentDecoder([b"gzip"], 1 << 20, "http://target")
    with pytest.raises(ResponseTooLarge, match="decoded body"):
        for start in range(0, len(bomb), 1024):
            decoder.feed(bomb[start : start + 1024])
            assert len(decoder.out) <= (1 << 20) + 1
    with pytest.raises(ExchangeError, match="stacked"):
        ContentDecoder([b"gzip", b"gzip"], 1 << 20, "http://target")
    with pytest.raises(ExchangeError, match="zstd"):
        ContentDecoder([b"zstd"], 1 << 20, "http://target")
