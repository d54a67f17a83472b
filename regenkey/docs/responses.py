"""The responses the reference shows, produced by the reference server.

The server runs in this process (``conformance.transport.loopback.serving``) with a
throwaway account; every body is judged by the kit's validators before it
goes into the page, so the page shows only what the spec allows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from conformance import ENDPOINT_PATH, Format, Record, validate_body
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app

USER_ID = "docs-example"


@dataclass(frozen=True)
class Exchange:
    """One request the docs describe, and what the reference server answered."""

    title: str
    request: str  # how the request is shown (placeholders, never the password)
    fmt: Format
    http_status: int
    content_type: str
    body: str
    record: Record


@dataclass(frozen=True)
class _Ask:
    title: str
    shown: str
    fmt: Format
    data: dict[str, str]
    auth: str  # "credentials", "wrong-password", "key", "bad-key", "none"
    success: bool


_ASKS = (
    _Ask(
        "Success, JSON",
        "POST form: userId, password, format=json",
        Format.JSON,
        {"format": "json"},
        "credentials",
        True,
    ),
    _Ask(
        "Success, XML",
        "POST form: userId, password, format=xml",
        Format.XML,
        {"format": "xml"},
        "credentials",
        True,
    ),
    _Ask(
        "Success, plain",
        "POST form: userId, password, format=plain",
        Format.PLAIN,
        {"format": "plain"},
        "credentials",
        True,
    ),
    _Ask(
        "Success, plain by default",
        "POST: the current key in the apiKey header, no format",
        Format.PLAIN,
        {},
        "key",
        True,
    ),
    _Ask(
        "Error, JSON: wrong password",
        "POST form: userId, a wrong password, format=json",
        Format.JSON,
        {"format": "json"},
        "wrong-password",
        False,
    ),
    _Ask(
        "Error, XML: wrong password",
        "POST form: userId, a wrong password, format=xml",
        Format.XML,
        {"format": "xml"},
        "wrong-password",
        False,
    ),
    _Ask(
        "Error, plain: wrong password",
        "POST form: userId, a wrong password, format=plain",
        Format.PLAIN,
        {"format": "plain"},
        "wrong-password",
        False,
    ),
    _Ask(
        "Error, JSON: no credentials",
        "POST form: format=json, no credentials",
        Format.JSON,
        {"format": "json"},
        "none",
        False,
    ),
    _Ask(
        "Error, XML: a revoked key",
        "POST form: a previous key in the apiKey header, format=xml",
        Format.XML,
        {"format": "xml"},
        "bad-key",
        False,
    ),
    _Ask(
        "Error, plain: unknown format",
        "POST form: userId, password, format=yaml",
        Format.PLAIN,
        {"format": "yaml"},
        "credentials",
        False,
    ),
)


class DocsResponseError(RuntimeError):
    """The reference server answered something the docs cannot show."""


def _judge(ask: _Ask, response: httpx.Response) -> Exchange:
    verdict = validate_body(response.content, ask.fmt)
    if verdict.record is None:
        problems = "; ".join(str(v) for v in verdict.violations)
        raise DocsResponseError(f"{ask.title}: the body is not valid: {problems}")
    if verdict.record.is_success != ask.success:
        raise DocsResponseError(f"{ask.title}: expected success={ask.success}, got {verdict}")
    return Exchange(
        ask.title,
        ask.shown,
        ask.fmt,
        response.status_code,
        response.headers.get("content-type", ""),
        response.text,
        verdict.record,
    )


def produce_exchanges() -> list[Exchange]:
    """Ask the reference server every request of the docs; judge each answer."""
    password = f"Docs-{secrets.token_hex(8)}"
    store = MemoryStore()
    store.add_account(USER_ID, password)
    exchanges = []
    with serving(build_app(store)) as base_url, httpx.Client(timeout=10) as client:
        url = base_url + ENDPOINT_PATH
        current = revoked = ""
        for ask in _ASKS:
            data, headers = dict(ask.data), {}
            if ask.auth in ("credentials", "wrong-password"):
                wrong = ask.auth == "wrong-password"
                data |= {"userId": USER_ID, "password": "not-" + password if wrong else password}
            elif ask.auth in ("key", "bad-key"):
                headers["apiKey"] = current if ask.auth == "key" else revoked
            exchange = _judge(ask, client.post(url, data=data, headers=headers))
            if exchange.record.api_key is not None:
                revoked, current = current, exchange.record.api_key
            exchanges.append(exchange)
    return exchanges
