"""The reference client: typed results and one clear error per failure kind."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from conformance import Format, Record, render
from conformance.transport.loopback import serving
from reference_impl.client import (
    ApiError,
    ClientTimeout,
    ConnectionFailed,
    ProtocolError,
    aregenerate_api_key,
    regenerate_api_key,
)
from reference_impl.server import MemoryStore, build_app
from tests.reliability.hostile import Target, hostile_server

KEY = "03db883b5e19416fbd306413b2fc0eb4"


@contextmanager
def answering(body: str, status: str = "200 OK") -> Iterator[Target]:
    """A loopback server that answers every request with ``body``."""

    def answer(sock: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        data = body.encode()
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode() + data)

    with hostile_server(answer) as target:
        yield target


@pytest.mark.parametrize("fmt", list(Format))
def test_success_in_every_format_is_a_typed_result(fmt: Format) -> None:
    with answering(render(Record.success(KEY), fmt)) as target:
        result = regenerate_api_key(target.url, user_id="u", password="p", format=fmt.value)
    assert result.api_key == KEY and result.record.status_code == "900"


def test_error_envelope_is_an_api_error_even_with_http_200() -> None:
    body = render(Record.error("401", "invalid credentials"), Format.JSON)
    with answering(body) as target, pytest.raises(ApiError) as caught:
        regenerate_api_key(target.url, user_id="u", password="p")
    assert caught.value.status_code == "401" and caught.value.reason == "invalid credentials"


def test_non_conformant_body_is_a_protocol_error_with_its_violations() -> None:
    body = '{"status":"success","apiKey":"NOT-A-KEY","statusCode":"900","reason":"success"}'
    with answering(body) as target, pytest.raises(ProtocolError) as caught:
        regenerate_api_key(target.url, api_key=KEY)
    assert {v.requirement for v in caught.value.violations} == {"RK-KEY-001"}


def test_timeout_and_refused_connection_are_their_own_errors() -> None:
    with hostile_server("hang") as target, pytest.raises(ClientTimeout):
        regenerate_api_key(target.url, api_key=KEY, timeout=0.5)
    with pytest.raises(ConnectionFailed):
        regenerate_api_key("http://127.0.0.1:9", api_key=KEY, timeout=2)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"user_id": "u"}, {"user_id": "u", "password": "p", "api_key": KEY},
     {"api_key": KEY, "format": "html"}, {"api_key": KEY, "method": "GET", "encoding": "form"}],
)  # fmt: skip
def test_usage_mistakes_are_refused_before_sending(kwargs: dict[str, str]) -> None:
    with answering("unused") as target:
        with pytest.raises(ValueError):
            regenerate_api_key(target.url, **kwargs)  # type: ignore[arg-type]
        assert target.first_contact is None, "nothing may be sent"


def test_the_key_travels_only_in_the_header() -> None:
    with answering(render(Record.success(KEY), Format.PLAIN)) as target:
        regenerate_api_key(target.url, api_key=KEY, format="plain")
    (request,) = target.requests
    head, _, body = request.partition(b"\r\n\r\n")
    request_line, *headers = head.decode().split("\r\n")
    assert f"apiKey: {KEY}" in headers
    assert KEY not in request_line and KEY.encode() not in body


def test_async_twin_rotates_against_a_real_server() -> None:
    store = MemoryStore()
    store.add_account("alice", "Alice-pass-1")
    with serving(build_app(store)) as url:

        async def twice() -> tuple[str, str]:
            first = await aregenerate_api_key(url, user_id="alice", password="Alice-pass-1")
            second = await aregenerate_api_key(url, api_key=first.api_key, format="xml")
            return first.api_key, second.api_key

        first, second = asyncio.run(twice())
        assert first != second
        with pytest.raises(ApiError):
            regenerate_api_key(url, api_key=first)
