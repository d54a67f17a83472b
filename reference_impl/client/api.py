"""The reference client: one call, sync and async, returning a typed result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

from conformance import (
    REDACTED,
    ConnectFailed,
    Encoding,
    ExchangeError,
    ExchangeTimeout,
    Format,
    HttpClient,
    Record,
    Redactor,
    ResponseTooLarge,
    Violation,
    WireRequest,
    validate_body,
)
from reference_impl.client.errors import (
    ApiError,
    ClientTimeout,
    ConnectionFailed,
    ProtocolError,
    TransportError,
)
from reference_impl.client.request import Credentials, Method, prepare

if TYPE_CHECKING:
    import httpx

DEFAULT_TIMEOUT = 10.0
# A response is a few dozen bytes; past this the server is hostile or broken,
# and reading on would only fill memory.
MAX_RESPONSE_BYTES = 1 << 20


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
    return _interpret(response.status_code, response.content, fmt)


def _interpret(
    http_status: int, body: bytes, fmt: Format, secrets: tuple[str | None, ...] = ()
) -> RegenerateResult:
    """As :func:`interpret`; ``secrets`` (what was sent) are scrubbed from the
    errors, since a hostile or broken server may echo them in a reason or a
    body that a parser's message then quotes."""
    verdict = validate_body(body, fmt)
    redact = _scrubber(secrets)
    if verdict.record is None:
        violations = tuple(Violation(v.requirement, redact(v.message)) for v in verdict.violations)
        raise ProtocolError(violations, http_status)
    record = verdict.record
    if not record.is_success or record.api_key is None:
        raise ApiError(redact(record.status_code), redact(record.reason), http_status)
    return RegenerateResult(record.api_key, record, http_status)


MIN_FRAGMENT = 8


def _scrubber(secrets: tuple[str | None, ...]) -> Callable[[str], str]:
    """Replaces each secret (raw, URL- or form-encoded, XML-escaped) and any
    run of at least :data:`MIN_FRAGMENT` of its characters: a parser's message
    quotes a fixed number of characters, which may cut a secret short."""
    redactor = Redactor([s for s in secrets if s], mask_all_keys=False)
    forms = {f for s in secrets if s for f in (s, quote(s, safe=""), quote_plus(s), escape(s))}
    fragments = sorted(
        {f[i:j] for f in forms for i in range(len(f)) for j in range(i + MIN_FRAGMENT, len(f) + 1)},
        key=len,
        reverse=True,
    )

    def scrub(text: str) -> str:
        text = redactor(text)
        for fragment in fragments:
            text = text.replace(fragment, REDACTED)
        return text

    return scrub


def _exchange(request: WireRequest, timeout: float, proxy: str | None) -> tuple[int, bytes]:
    """The whole exchange, bounded by the kit's client (conformance.HttpClient):
    ``timeout`` from connect to the last byte, MAX_RESPONSE_BYTES decoded bytes,
    and no proxy but ``proxy`` (the environment's HTTP_PROXY is never read)."""
    base = request.url.split("?")[0]
    try:
        with HttpClient(timeout, max_body=MAX_RESPONSE_BYTES, proxy=proxy) as client:
            answer = client.request(request.method, request.url, request.headers, request.body)
    except ExchangeTimeout:
        raise ClientTimeout(f"no complete answer from {base} within {timeout:g} s") from None
    except ConnectFailed:
        raise ConnectionFailed(f"cannot connect to {base}") from None
    except ResponseTooLarge as exc:
        raise TransportError(f"the response is too large ({exc}); stopped reading") from None
    except ExchangeError as exc:
        raise TransportError(f"request to {base} failed: {exc}") from None
    return answer.status, answer.body


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
    proxy: str | None = None,
) -> RegenerateResult:
    """Regenerate the account's API key; the previous key stops working.
    ``proxy`` (``http://host:port``) is used only when given."""
    request, fmt = _prepare(base_url, user_id, password, api_key, format, method, encoding)
    status, body = _exchange(request, timeout, proxy)
    return _interpret(status, body, fmt, (password, api_key))


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
    proxy: str | None = None,
) -> RegenerateResult:
    """The async twin of :func:`regenerate_api_key`: the same bounded exchange,
    in a worker thread (it ends by its own deadline, so the thread always does)."""
    request, fmt = _prepare(base_url, user_id, password, api_key, format, method, encoding)
    status, body = await asyncio.to_thread(_exchange, request, timeout, proxy)
    return _interpret(status, body, fmt, (password, api_key))
