"""The reference server: a Starlette app for /SMSApi/rest/regenerateAPIKey.

Behaviour chosen where the spec leaves a choice (see spec/requirements.yaml):

* Authentication: a non-empty ``apiKey`` header, when present, is used and any
  credentials beside it are ignored (RK-AUTH-009 is implementation-defined).
  Otherwise a non-empty ``userId`` and ``password`` authenticate. A key
  authenticates and is replaced in one atomic step, so of concurrent requests
  presenting the same key exactly one succeeds.
* Every refusal of a request to the endpoint is HTTP 200 with the error
  envelope in the requested format (plain when the format is missing, unknown
  or unreadable), because the vendor's clients treat any other status as a
  transport failure. Only 404 (other paths), 405 (other methods, with
  ``Allow: GET, POST``; HEAD included, so that no HEAD rotates a key), 413
  (body over the limit) and 500 (the store failed) use their HTTP status;
  those carry the plain envelope.
* Client input never causes a 5xx: everything that reads the request turns
  its failures into an error envelope with statusCode "400" (or "415").

Each request is logged as one line to the ``regenkey.server`` logger, e.g.
``POST /SMSApi/rest/regenerateAPIKey 200 json auth=credentials result=success
1.2ms``: never the query string, a password or a key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance import ENDPOINT_PATH, MEDIA_TYPES, Format, Record, render, spec_text
from reference_impl.server.requests import (
    DEFAULT_MAX_BODY,
    UNREADABLE,
    Params,
    Problem,
    Refused,
    read_params,
)
from reference_impl.server.store import Store

LOGGER = logging.getLogger("regenkey.server")
ALLOW = "GET, POST"
OPENAPI_PATH = "/openapi.yaml"

NO_AUTH = Problem("no-auth", "401", "authentication required")
BAD_CREDENTIALS = Problem("invalid-credentials", "401", "invalid credentials")
BAD_KEY = Problem("invalid-key", "401", "invalid apiKey")
NOT_FOUND = Problem("not-found", "404", "not found", 404)
NOT_ALLOWED = Problem("method-not-allowed", "405", "method not allowed", 405)
INTERNAL = Problem("internal-error", "500", "internal error", 500)

_NOTE = "regenkey.note"


@dataclass
class _Note:
    """What the access log says about a request, filled in as it is handled."""

    format: str = "plain"
    auth: str = "none"
    result: str = "-"


def _note(scope: Scope) -> _Note:
    note = scope.get(_NOTE)
    return note if isinstance(note, _Note) else _Note()


def envelope(
    record: Record, fmt: Format, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``record`` rendered in ``fmt``, labelled with the format's media type."""
    return Response(
        render(record, fmt),
        status_code=status,
        media_type=f"{MEDIA_TYPES[fmt]}; charset=utf-8",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def refusal(
    problem: Problem, fmt: Format, scope: Scope, headers: dict[str, str] | None = None
) -> Response:
    if problem.http_status != 200:
        fmt = Format.PLAIN
    note = _note(scope)
    note.format, note.result = fmt.value, problem.label
    record = Record.error(problem.code, problem.reason)
    return envelope(record, fmt, problem.http_status, headers)


def authenticate_and_rotate(store: Store, params: Params) -> tuple[str, Problem | str]:
    """``(auth mode, problem or new key)``; blocking, run in a worker thread."""
    if params.api_key:
        rotated = store.rotate_by_key(params.api_key)
        return "apiKey", BAD_KEY if rotated is None else rotated[1]
    if params.user_id and params.password:
        account = store.authenticate_credentials(params.user_id, params.password)
        return "credentials", BAD_CREDENTIALS if account is None else store.rotate(account)
    if params.user_id or params.password:
        return "credentials", BAD_CREDENTIALS
    return "none", NO_AUTH


class AccessLog:
    """ASGI middleware: one log line per HTTP request, written when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = scope[_NOTE] = _Note()
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            note.result = "internal-error"
            raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            path = quote(str(scope.get("path", ""))[:200], safe="/-._~!$'()*+,;=:@")
            method = quote(str(scope.get("method", ""))[:20], safe="")
            LOGGER.info(
                "%s %s %d %s auth=%s result=%s %.1fms",
                method, path, status, note.format, note.auth, note.result, elapsed,
            )  # fmt: skip


class _AnyMethod:
    """An ASGI endpoint that sees every method (a plain function Route gets
    only GET and HEAD), so that the handler answers the others itself."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self._app = request_response(handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def build_app(store: Store, *, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """The reference server's ASGI app, backed by ``store``.

    ``max_body`` caps request bodies (bytes); a larger one gets HTTP 413.
    """
    if max_body < 1:
        raise ValueError("max_body must be positive")
    openapi_text = spec_text("openapi.yaml")

    async def regenerate(request: Request) -> Response:
        scope = request.scope
        if request.method not in ("GET", "POST"):
            return refusal(NOT_ALLOWED, Format.PLAIN, scope, {"Allow": ALLOW})
        try:
            params = await read_params(request, max_body)
        except Refused as exc:
            return refusal(exc.problem, exc.format, scope)
        except Exception as exc:  # never a 5xx for client input
            LOGGER.warning("unreadable request (%s)", type(exc).__name__)
            return refusal(UNREADABLE, Format.PLAIN, scope)
        try:
            auth, outcome = await run_in_threadpool(authenticate_and_rotate, store, params)
        except Exception as exc:
            LOGGER.error("store failure (%s)", type(exc).__name__)
            return refusal(INTERNAL, params.format, scope)
        note = _note(scope)
        note.auth = auth
        if isinstance(outcome, Problem):
            return refusal(outcome, params.format, scope)
        note.format, note.result = params.format.value, "success"
        return envelope(Record.success(outcome), params.format)

    async def openapi(request: Request) -> Response:
        _note(request.scope).result = "openapi"
        return Response(openapi_text, media_type="application/yaml; charset=utf-8")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        problem = {404: NOT_FOUND, 405: NOT_ALLOWED}.get(status)
        if problem is None:
            problem = Problem("bad-request", "400", "bad request", 400)
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
        return refusal(problem, Format.PLAIN, request.scope, headers)

    async def internal_error(request: Request, exc: Exception) -> Response:
        LOGGER.error("unhandled %s", type(exc).__name__)
        return refusal(INTERNAL, Format.PLAIN, request.scope)

    app = Starlette(
        routes=[
            Route(ENDPOINT_PATH, _AnyMethod(regenerate)),
            Route(OPENAPI_PATH, openapi, methods=["GET"]),
        ],
        middleware=[Middleware(AccessLog)],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.router.redirect_slashes = False
    return app
