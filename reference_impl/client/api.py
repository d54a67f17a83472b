"""The reference client: one call, sync and async, returning a typed result."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from conformance import Encoding, Format, Record, WireRequest, validate_body
from reference_impl.client.errors import (
    ApiError,
    ClientTimeout,
    ConnectionFailed,
    ProtocolError,
    TransportError,
)
from reference_impl.client.request import Credentials, Method, prepare

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class RegenerateResult:
    """A successful regeneration: the new key and the record it came in."""

    api_key: str
    record: Record
    http_status: int


def _prepare(
    base_url: str,
    user_id: str | None,
    password: str | None,
    api_key: str | None,
    format: str,
    method: str,
    encoding: str,
) -> tuple[WireRequest, Format]:
    fmt = Format.parse(format)
    if fmt is None:
        raise ValueError(f"format must be plain, json or xml, not {format!r}")
    credentials = Credentials(user_id, password, api_key)
    return prepare(base_url, credentials, fmt, Method(method.upper()), Encoding(encoding)), fmt


def interpret(response: httpx.Response, fmt: Format) -> RegenerateResult:
    """Judge a response by its body (RK-ERR-005): a key, an ApiError, or a
    ProtocolError. Parsing goes through the spec's validators only."""
    verdict = validate_body(response.content, fmt)
    if verdict.record is None:
        raise ProtocolError(verdict.violations, response.status_code)
    record = verdict.record
    if not record.is_success or record.api_key is None:
        raise ApiError(record.status_code, record.reason, response.status_code)
    return RegenerateResult(record.api_key, record, response.status_code)


def _transport_error(exc: httpx.HTTPError, url: str) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return ClientTimeout(f"no answer from {url} in time")
    if isinstance(exc, httpx.ConnectError):
        return ConnectionFailed(f"cannot connect to {url}")
    return TransportError(f"request to {url} failed: {type(exc).__name__}")


def regenerate_api_key(
    base_url: str,
    *,
    user_id: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    format: str = "json",
    method: str = "POST",
    encoding: str = "form",
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> RegenerateResult:
    """Regenerate the account's API key; the previous key stops working."""
    request, fmt = _prepare(base_url, user_id, password, api_key, format, method, encoding)
    base = request.url.split("?")[0]
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.request(
                request.method, request.url, headers=list(request.headers), content=request.body
            )
    except httpx.HTTPError as exc:
        raise _transport_error(exc, base) from None
    return interpret(response, fmt)


async def aregenerate_api_key(
    base_url: str,
    *,
    user_id: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    format: str = "json",
    method: str = "POST",
    encoding: str = "form",
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RegenerateResult:
    """The async twin of :func:`regenerate_api_key`."""
    request, fmt = _prepare(base_url, user_id, password, api_key, format, method, encoding)
    base = request.url.split("?")[0]
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.request(
                request.method, request.url, headers=list(request.headers), content=request.body
            )
    except httpx.HTTPError as exc:
        raise _transport_error(exc, base) from None
    return interpret(response, fmt)
