"""The reference client: typed results and one clear error per failure kind."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from conformance import Format, Record, render
from conformance.loopback import serving
from reference_impl.client import (
    ApiError,
    ClientTimeout,
    ConnectionFailed,
    ProtocolError,
    aregenerate_api_key,
    regenerate_api_key,
)
from reference_impl.server import MemoryStore, build_app

KEY = "03db883b5e19416fbd306413b2fc0eb4"


def answering(body: str, status: int = 200) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, text=body))


@pytest.mark.parametrize("fmt", list(Format))
def test_success_in_every_format_is_a_typed_result(fmt: Format) -> None:
    body = render(Record.success(KEY), fmt)
    result = regenerate_api_key("http://sandbox", user_id="u", password="p", format=fmt.value,
                                transport=answering(body))  # fmt: skip
    assert result.api_key == KEY and result.record.status_code == "900"


def test_error_envelope_is_an_api_error_even_with_http_200() -> None:
    body = render(Record.error("401", "invalid credentials"), Format.JSON)
    with pytest.raises(ApiError) as caught:
        regenerate_api_key("http://sandbox", user_id="u", password="p", transport=answering(body))
    assert caught.value.status_code == "401" and caught.value.reason == "invalid credentials"


def test_non_conformant_body_is_a_protocol_error_with_its_violations() -> None:
    body = '{"status":"success","apiKey":"NOT-A-KEY","statusCode":"900","reason":"success"}'
    with pytest.raises(ProtocolError) as caught:
        regenerate_api_key("http://sandbox", api_key=KEY, transport=answering(body))
    assert {v.requirement for v in caught.value.violations} == {"RK-KEY-001"}


def test_timeout_and_refused_connection_are_their_own_errors() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ClientTimeout):
        regenerate_api_key("http://sandbox", api_key=KEY, transport=httpx.MockTransport(slow))
    with pytest.raises(ConnectionFailed):
        regenerate_api_key("http://127.0.0.1:9", api_key=KEY, timeout=2)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"user_id": "u"}, {"user_id": "u", "password": "p", "api_key": KEY},
     {"api_key": KEY, "format": "html"}, {"api_key": KEY, "method": "GET", "encoding": "form"}],
)  # fmt: skip
def test_usage_mistakes_are_refused_before_sending(kwargs: dict[str, str]) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    with pytest.raises(ValueError):
        regenerate_api_key("http://sandbox", transport=httpx.MockTransport(never), **kwargs)  # type: ignore[arg-type]


def test_the_key_travels_only_in_the_header() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=render(Record.success(KEY), Format.PLAIN))

    regenerate_api_key("http://sandbox", api_key=KEY, format="plain",
                       transport=httpx.MockTransport(record))  # fmt: skip
    (request,) = seen
    assert request.headers["apiKey"] == KEY
    assert KEY not in str(request.url) and KEY.encode() not in request.content


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
