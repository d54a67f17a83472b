"""Correct but unusual servers pass the server suite (issue 15, acceptance).

Each server in tests/servers/unusual.py differs from the reference server only
where the page allows; the suite, run strictly as ``check-server --strict``
would, must report nothing but the SHOULDs the entry names (a random key that
is not a UUID may report RK-KEY-002, and only that).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from urllib.parse import urlencode

import pytest

from conformance import ENDPOINT_PATH
from conformance.judging.results import Status
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import PLAIN_USER, TRICKY_USER, Accounts
from tests.servers.unusual import (
    SPECIAL_REASON,
    UNUSUAL,
    Unusual,
    evidence,
    reframing,
    reported,
    run_suite,
)


@pytest.mark.parametrize("server", UNUSUAL, ids=lambda s: s.name)
def test_a_correct_but_unusual_server_passes(server: Unusual) -> None:
    result = run_suite(server.make, store=server.store(), framing=server.framing)
    found = reported(result)
    assert found == set(server.allowed), evidence(result, found ^ set(server.allowed))
    for rid in server.allowed:
        assert result.requirements[rid].status is Status.NON_STRICT  # a SHOULD, never a FAIL
    assert result.exit_code() == (1 if server.allowed else 0)
    not_judged = [r.id for r in result.requirements.values() if r.status is not Status.PASS]
    assert set(not_judged) == set(server.allowed), evidence(result, set(not_judged))


# --- each variant is what it says ---------------------------------------------------------

Shows = Callable[[bytes, float], bool]


def _head(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0].lower()


# name -> (format asked, right password?, what the raw answer shows)
SHOWS: dict[str, tuple[str, bool, Shows]] = {
    "close-delimited": ("json", True, lambda r, s: b"content-length" not in _head(r)),
    "closes-after-each-answer-unannounced": (
        "json",
        True,
        lambda r, s: b"content-length" in _head(r) and b"connection" not in _head(r),
    ),
    "http-1.0-close-delimited": ("json", True, lambda r, s: r.startswith(b"HTTP/1.0 200")),
    "chunked-below-asgi": ("xml", True, lambda r, s: b";piece=1\r\n" in r and b"X-Checksum" in r),
    "chunked-by-the-asgi-server": (
        "json",
        True,
        lambda r, s: b"transfer-encoding: chunked" in _head(r) and b"\r\n7\r\n" in r,
    ),
    "gzip-every-body": ("plain", False, lambda r, s: b"content-encoding: gzip" in _head(r)),
    "gzip-and-chunked": ("json", True, lambda r, s: b"\r\n9\r\n\x1f\x8b" in r),
    "early-hints": (
        "json",
        True,
        lambda r, s: r.startswith(b"HTTP/1.1 100") and r.count(b" 103 ") == 2,
    ),
    "media-type-any-case": ("json", True, lambda r, s: b'Application/JSON; Charset="UTF-8"' in r),
    "json-u-escapes-any-order": ("json", True, lambda r, s: b'"\\u0072\\u0065ason" : ' in r),
    "xml-crlf-char-refs": ("xml", False, lambda r, s: b"\r\n  <status>&#x65;&#114;" in r),
    "plain-crlf": ("plain", True, lambda r, s: r.endswith(b"reason=success\r\n")),
    "any-error-code-status-reason": ("plain", False, lambda r, s: SPECIAL_REASON.encode() in r),
    "errors-special-json-ascii-xml-bom-cdata": (
        "xml",
        False,
        lambda r, s: b"\r\n\r\n\xef\xbb\xbf<?xml" in r and b"<![CDATA[" in r and b"&apos;" in r,
    ),
    "plain-trailing-white-space": ("plain", True, lambda r, s: r.endswith(b"success \t\r\n")),
    "slow-password-hashing": ("plain", False, lambda r, s: s >= 0.06),
}
SHOWN_BY_ITS_VERDICT = {"non-uuid-random-keys"}  # RK-KEY-002 NON-STRICT above, and only it
SHOWN_BY_FOO = {"unknown-method-501": 501, "unknown-method-400": 400}


def _raw_answer(server: Unusual, fmt: str, right: bool) -> tuple[bytes, float]:
    store = server.store()
    accounts = Accounts("Sandbox-raw-123", "Tr1cky raw+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    password = accounts.plain_password if right else "wrong-password"
    query = urlencode({"userId": PLAIN_USER, "password": password, "format": fmt})
    request = f"GET {ENDPOINT_PATH}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with ExitStack() as stack:
        base_url = stack.enter_context(serving(server.make(store, accounts)))
        if server.framing is not None:
            base_url = stack.enter_context(reframing(base_url, server.framing))
        host, port = base_url.removeprefix("http://").split(":")
        started = time.monotonic()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request.encode())
            raw = b""
            while len(raw) < 1 << 20 and (piece := sock.recv(65536)):
                raw += piece
        return raw, time.monotonic() - started


def test_every_variant_is_shown() -> None:
    assert set(SHOWS) | SHOWN_BY_ITS_VERDICT | set(SHOWN_BY_FOO) == {s.name for s in UNUSUAL}


@pytest.mark.parametrize("name", sorted(SHOWN_BY_FOO))
def test_an_unknown_method_gets_the_variant_s_status(name: str) -> None:
    (server,) = [s for s in UNUSUAL if s.name == name]
    store = server.store()
    with serving(server.make(store, Accounts("Sandbox-raw-123", "x"))) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        request = f"FOO {ENDPOINT_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request.encode())
            raw = sock.recv(65536)
    assert raw.startswith(b"HTTP/1.1 %d " % SHOWN_BY_FOO[name]), raw[:200]


@pytest.mark.parametrize("name", sorted(SHOWS))
def test_the_variant_is_what_it_says(name: str) -> None:
    (server,) = [s for s in UNUSUAL if s.name == name]
    fmt, right, shows = SHOWS[name]
    raw, seconds = _raw_answer(server, fmt, right)
    assert shows(raw, seconds), raw[:600]


def test_a_server_that_closes_after_each_answer_unannounced_loses_no_request() -> None:
    """The kit reuses kept-alive connections; a server may close one right after
    its answer without saying so. No request may be lost to that race (before the
    fix, a request sent as the server closed failed with a reset: the run was ERROR)."""
    from conformance import HttpClient

    store = MemoryStore()
    with ExitStack() as stack:
        base_url = stack.enter_context(serving(build_app(store)))
        base_url = stack.enter_context(reframing(base_url, "length-then-close"))
        client = stack.enter_context(HttpClient(5.0))
        statuses = [client.request("GET", base_url + "/openapi.yaml").status for _ in range(200)]
    assert statuses == [200] * 200
