"""wire.py: the style flags reach the bytes, and a curl line sends what build() sends.

The curl lines run for real (bash, curl, od, awk) against a loopback server
that records the raw request; the secrets are given only as environment
variables, and never appear in the line.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pytest

from conformance.protocol.carriers import shell_literal
from conformance.protocol.records import ENDPOINT_PATH
from conformance.protocol.wire import Encoding, RequestSpec, build, curl_command
from reference_impl.server.requests import parse_account_xml, parse_body

PASSWORD = "p a+s&s=w%rd <é> ]]> \"q' ~_.-"
KEY = "0123456789abcdef0123456789abcdef"
CREDS = (("userId", "bob smith"), ("password", PASSWORD), ("format", "json"))

needs_curl = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash"
)


@dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _read_exactly(conn: socket.socket, buffer: bytearray, n: int) -> bytes:
    while len(buffer) < n:
        data = conn.recv(65536)
        if not data:
            break
        buffer += data
    out = bytes(buffer[:n])
    del buffer[:n]
    return out


def _read_line(conn: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buffer += data
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line


def _serve_one(listener: socket.socket, seen: list[Seen]) -> None:
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(10)
        buffer = bytearray()
        method, target, _ = _read_line(conn, buffer).decode("latin-1").split(" ", 2)
        headers = []
        while line := _read_line(conn, buffer):
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        found = {k.lower(): v for k, v in headers}
        body = b""
        if found.get("transfer-encoding") == "chunked":
            while size := int(_read_line(conn, buffer).split(b";")[0], 16):
                body += _read_exactly(conn, buffer, size)
                _read_line(conn, buffer)
            _read_line(conn, buffer)
        elif "content-length" in found:
            body = _read_exactly(conn, buffer, int(found["content-length"]))
        seen.append(Seen(method, target, headers, body))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@contextmanager
def echo_server() -> Iterator[tuple[str, list[Seen]]]:
    """A loopback server that records each raw request and answers 200, empty."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    seen: list[Seen] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                _serve_one(listener, seen)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def echo() -> Iterator[tuple[str, list[Seen]]]:
    with echo_server() as server:
        yield server


def _run(line: str) -> None:
    env = {"PATH": os.environ["PATH"], "REGENKEY_PASSWORD": PASSWORD, "REGENKEY_API_KEY": KEY}
    done = subprocess.run(
        ["bash", "-c", line], env=env, capture_output=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr


SPECS = {
    "form": RequestSpec("POST", Encoding.FORM, CREDS),
    "form media-params": RequestSpec(
        "POST", Encoding.FORM, CREDS, style=frozenset({"media-params"})
    ),
    "form chunked + query": RequestSpec(
        "POST", Encoding.FORM, CREDS[:2], query=(("format", "xml"),), chunked=True
    ),
    "get query": RequestSpec("GET", Encoding.QUERY, CREDS),
    "get query percent-space": RequestSpec(
        "GET", Encoding.QUERY, CREDS, style=frozenset({"percent-space"})
    ),
    "form percent-space": RequestSpec(
        "POST", Encoding.FORM, CREDS, style=frozenset({"percent-space"})
    ),
    "get query + extra": RequestSpec("GET", Encoding.QUERY, CREDS[:2], query=(("format", "x"),)),
    "post query": RequestSpec(
        "POST", Encoding.QUERY, CREDS, content_type="application/x-www-form-urlencoded"
    ),
    "head query": RequestSpec("HEAD", Encoding.QUERY, CREDS),
    "put form": RequestSpec("PUT", Encoding.FORM, CREDS),
    "header": RequestSpec("POST", Encoding.FORM, (("format", "plain"),), (("APIKEY", KEY),)),
    "empty header": RequestSpec("POST", Encoding.FORM, CREDS, (("apiKey", ""),)),
    "multipart": RequestSpec("POST", Encoding.MULTIPART, CREDS, boundary="b0undary"),
    "multipart bare": RequestSpec(
        "POST", Encoding.MULTIPART, CREDS, boundary="xx", style=frozenset({"bare-names"})
    ),
    "multipart filename": RequestSpec(
        "POST", Encoding.MULTIPART, CREDS, boundary="yy", style=frozenset({"filename"})
    ),
    "multipart format-file": RequestSpec(
        "POST", Encoding.MULTIPART, CREDS, boundary="zz", style=frozenset({"format-file"})
    ),
    "xml": RequestSpec("POST", Encoding.XML, CREDS),
    "xml bom": RequestSpec("POST", Encoding.XML, CREDS, style=frozenset({"bom"})),
    "xml no declaration": RequestSpec(
        "POST", Encoding.XML, CREDS, style=frozenset({"no-declaration"})
    ),
    "xml cdata": RequestSpec("POST", Encoding.XML, CREDS, style=frozenset({"cdata"})),
    "xml references": RequestSpec("POST", Encoding.XML, CREDS, style=frozenset({"references"})),
    "xml entities crlf": RequestSpec(
        "POST", Encoding.XML, CREDS, style=frozenset({"entities", "crlf"})
    ),
    "xml chunked + query": RequestSpec(
        "POST", Encoding.XML, CREDS[:2], query=(("format", "JSON"),), chunked=True
    ),
    "raw invalid utf-8": RequestSpec(
        "POST", Encoding.RAW, raw_body=b"userId=\xff\xfe&x=%zz\r\n", content_type="text/x"
    ),
    "raw nul": RequestSpec("POST", Encoding.RAW, raw_body=b"@a\x00b%'\\"),
    "raw bad query": RequestSpec("GET", Encoding.RAW, path=ENDPOINT_PATH + "?password=%zz&f=%4"),
}


@needs_curl
@pytest.mark.parametrize("label", list(SPECS))
def test_curl_line_sends_the_bytes_build_sends(label: str, echo: tuple[str, list[Seen]]) -> None:
    base, seen = echo
    spec = SPECS[label]
    line = curl_command(base, spec)
    assert PASSWORD not in line and KEY not in line
    _run(line)
    wire = build(base, spec)
    assert len(seen) == 1
    got = seen[0]
    assert got.method == wire.method
    assert base + got.target == wire.url
    assert got.body == wire.body
    for name, value in wire.headers:
        assert got.header(name) == value, name
    if "Content-Type" not in dict(wire.headers):
        assert got.header("Content-Type") is None
    assert (got.header("Transfer-Encoding") == "chunked") is spec.chunked


def test_default_bytes_are_the_pages() -> None:
    """Without flags the XML body is the page's sample shape and the form the sample's."""
    xml = build("", RequestSpec("POST", Encoding.XML, (("userId", "u"), ("format", "xml"))))
    assert xml.body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Account>\n\t<userId>u</userId>'
        b"\n\t<format>xml</format>\n</Account>"
    )
    form = build("", RequestSpec("POST", Encoding.FORM, (("userId", "a b"), ("password", "&"))))
    assert form.body == b"userId=a+b&password=%26"
    assert dict(form.headers)["Content-Type"] == "application/x-www-form-urlencoded"


def test_percent_space_writes_no_plus() -> None:
    """``percent-space`` writes a space as %20 (and ``+`` as %2B): a text with
    ``%`` and no ``+``, which both decoders read back as the same values."""
    pairs = (("userId", "a b"), ("password", "x+y z"))
    spec = RequestSpec("GET", Encoding.QUERY, pairs, style=frozenset({"percent-space"}))
    query = build("", spec).url.split("?", 1)[1]
    assert query == "userId=a%20b&password=x%2By%20z"
    assert parse_qsl(query) == list(pairs)


REFS = [{"references"}]


@pytest.mark.parametrize(
    "style",
    [set(), {"bom"}, {"no-declaration"}, {"cdata"}, {"entities"}, {"entities", "crlf"}, *REFS],
)
def test_xml_styles_parse_back_to_the_same_values(style: set[str]) -> None:
    values = (("userId", "a]]>b <&>"), ("password", PASSWORD), ("format", "xml"))
    spec = RequestSpec("POST", Encoding.XML, values, style=frozenset(style))
    body = build("", spec).body
    assert parse_account_xml(body) == list(values)
    if "bom" in style:
        assert body.startswith(b"\xef\xbb\xbf<?xml")
    if "no-declaration" in style:
        assert body.startswith(b"<Account>")
    if "cdata" in style:
        assert b"<![CDATA[" in body
    if "entities" in style:
        assert b"&#32;" in body and b"&quot;" in body
    if "references" in style:
        assert b"<userId>&#97;" in body and b"<format>&#120;&#109;&#108;</format>" in body
    assert (b"\r\n" in body) is ("crlf" in style)


@pytest.mark.parametrize("style", [set(), {"bare-names"}, {"filename"}, {"format-file"}])
def test_multipart_styles_parse_back(style: set[str]) -> None:
    spec = RequestSpec("POST", Encoding.MULTIPART, CREDS, style=frozenset(style))
    wire = build("", spec)
    body = wire.body
    assert parse_body(dict(wire.headers)["Content-Type"], body) == list(CREDS)
    assert (b'name="userId"' in body) is ("bare-names" not in style)
    assert (b"filename=" in body) is bool({"filename", "format-file"} & style)
    if "format-file" in style:  # the format part alone
        assert body.count(b"filename=") == 1 and b'name="format"; filename=' in body


def test_shell_literal_keeps_one_line() -> None:
    assert "\n" not in shell_literal("a\r\nb\ufeff\t'")
    assert shell_literal("it's") == "'it'\\''s'"
