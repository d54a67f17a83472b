"""The reference server: an ASGI app for /SMSApi/rest/regenerateAPIKey.

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

It is written against ASGI itself, without a framework: it has two routes,
and a framework's layers (routing, middleware, request and response objects)
would cost more than everything the endpoint does (docs/BENCHMARKS.md). An
answer is built whole before its first byte is sent, so a failure anywhere
becomes a complete 500 envelope, never half a response.

Each request is logged as one line (:mod:`reference_impl.server.accesslog`),
e.g. ``POST /SMSApi/rest/regenerateAPIKey 200 json auth=credentials
result=success 1.2ms``: never the query string, a password or a key.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from anyio import CapacityLimiter, to_thread
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from conformance import ENDPOINT_PATH, MEDIA_TYPES, Format, Record, render, spec_bytes
from reference_impl.server.accesslog import LOGGER, Note, Sink, access_line, to_logger
from reference_impl.server.requests import (
    DEFAULT_MAX_BODY,
    UNREADABLE,
    Params,
    Problem,
    Refused,
    read_params,
)
from reference_impl.server.store import Store

ALLOW = "GET, POST"
OPENAPI_PATH = "/openapi.yaml"

NO_AUTH = Problem("no-auth", "401", "authentication required")
BAD_CREDENTIALS = Problem("invalid-credentials", "401", "invalid credentials")
BAD_KEY = Problem("invalid-key", "401", "invalid apiKey")
NOT_FOUND = Problem("not-found", "404", "not found", 404)
NOT_ALLOWED = Problem("method-not-allowed", "405", "method not allowed", 405)
INTERNAL = Problem("internal-error", "500", "internal error", 500)

Headers = list[tuple[bytes, bytes]]

_CONTENT_TYPES = {fmt: f"{MEDIA_TYPES[fmt]}; charset=utf-8".encode() for fmt in Format}
_NO_STORE = (b"cache-control", b"no-store")
_ALLOW_ENDPOINT = [(b"allow", ALLOW.encode())]
_ALLOW_OPENAPI = [(b"allow", b"GET, HEAD")]


@dataclass(slots=True)
class Answer:
    """A whole HTTP response: status, headers (lower-case names), body."""

    status: int
    body: bytes
    headers: Headers = field(default_factory=list)


def _answer(status: int, body: bytes, content_type: bytes, extra: Headers) -> Answer:
    length = (b"content-length", str(len(body)).encode())
    return Answer(status, body, [length, (b"content-type", content_type), *extra])


def envelope(
    record: Record, fmt: Format, status: int = 200, extra: Headers | None = None
) -> Answer:
    """``record`` rendered in ``fmt``, labelled with the format's media type."""
    body = render(record, fmt).encode("utf-8")
    return _answer(status, body, _CONTENT_TYPES[fmt], [_NO_STORE, *(extra or [])])


def refusal(problem: Problem, fmt: Format, note: Note, extra: Headers | None = None) -> Answer:
    """The error envelope for ``problem`` (plain unless it is an HTTP 200 one)."""
    if problem.http_status != 200:
        fmt = Format.PLAIN
    note.format, note.result = fmt.value, problem.label
    record = Record.error(problem.code, problem.reason)
    return envelope(record, fmt, problem.http_status, extra)


def authenticate_and_rotate(store: Store, params: Params) -> tuple[str, Problem | str]:
    """``(auth mode, problem or new key)``; may block (see :func:`needs_thread`)."""
    if params.api_key:
        rotated = store.rotate_by_key(params.api_key)
        return "apiKey", BAD_KEY if rotated is None else rotated[1]
    if params.user_id and params.password:
        account = store.authenticate_credentials(params.user_id, params.password)
        return "credentials", BAD_CREDENTIALS if account is None else store.rotate(account)
    if params.user_id or params.password:
        return "credentials", BAD_CREDENTIALS
    return "none", NO_AUTH


def needs_thread(store: Store, params: Params) -> bool:
    """Whether :func:`authenticate_and_rotate` may block the event loop here:
    password hashing (scrypt, which releases the GIL) always may; key
    operations only on a store that does I/O."""
    if params.api_key:
        return store.blocking
    return bool(params.user_id and params.password)


def hashes_password(params: Params) -> bool:
    """Whether :func:`authenticate_and_rotate` checks a password. Those calls run
    on threads of their own (:data:`PASSWORD_THREADS`), so a flood of wrong
    passwords never makes an apiKey rotation wait for a thread."""
    return not params.api_key and bool(params.user_id and params.password)


#: Threads for requests that check a password (starlette's pool has 40).
PASSWORD_THREADS = 16


class ReferenceApp:
    """The ASGI app :func:`build_app` returns."""

    def __init__(self, store: Store, max_body: int, access_log: Sink) -> None:
        self.store = store
        self.max_body = max_body
        self.access_log = access_log
        self._openapi = spec_bytes("openapi.yaml")
        self._password_threads: tuple[object, CapacityLimiter] | None = None

    def password_threads(self) -> CapacityLimiter:
        """The limiter of :data:`PASSWORD_THREADS`, one per event loop (a
        limiter belongs to the loop that first used it)."""
        loop = asyncio.get_running_loop()
        if self._password_threads is None or self._password_threads[0] is not loop:
            self._password_threads = (loop, CapacityLimiter(PASSWORD_THREADS))
        return self._password_threads[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no WebSocket here; the server closes the connection
        started = time.perf_counter()
        note = Note()
        try:
            answer = await self.answer(scope, receive, note)
        except Exception as exc:  # a bug of ours: a whole 500, no traceback to the client
            LOGGER.error("unhandled %s", type(exc).__name__)
            answer = refusal(INTERNAL, Format.PLAIN, note)
        try:
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
            )
            await send({"type": "http.response.body", "body": answer.body})
        finally:
            self.access_log(access_line(scope, answer.status, note, started))

    async def answer(self, scope: Scope, receive: Receive, note: Note) -> Answer:
        path, method = scope["path"], scope["method"]
        if path == ENDPOINT_PATH:
            if method not in ("GET", "POST"):
                return refusal(NOT_ALLOWED, Format.PLAIN, note, _ALLOW_ENDPOINT)
            return await self.regenerate(scope, receive, note)
        if path == OPENAPI_PATH:
            if method not in ("GET", "HEAD"):
                return refusal(NOT_ALLOWED, Format.PLAIN, note, _ALLOW_OPENAPI)
            note.result = "openapi"
            return _answer(200, self._openapi, b"application/yaml; charset=utf-8", [])
        return refusal(NOT_FOUND, Format.PLAIN, note)

    async def regenerate(self, scope: Scope, receive: Receive, note: Note) -> Answer:
        try:
            params = await read_params(scope, receive, self.max_body)
        except Refused as exc:
            return refusal(exc.problem, exc.format, note)
        except Exception as exc:  # never a 5xx for client input
            LOGGER.warning("unreadable request (%s)", type(exc).__name__)
            return refusal(UNREADABLE, Format.PLAIN, note)
        store = self.store
        try:
            if hashes_password(params):
                auth, outcome = await to_thread.run_sync(
                    authenticate_and_rotate, store, params, limiter=self.password_threads()
                )
            elif needs_thread(store, params):
                auth, outcome = await run_in_threadpool(authenticate_and_rotate, store, params)
            else:
                auth, outcome = authenticate_and_rotate(store, params)
        except Exception as exc:
            LOGGER.error("store failure (%s)", type(exc).__name__)
            return refusal(INTERNAL, params.format, note)
        note.auth = auth
        if isinstance(outcome, Problem):
            return refusal(outcome, params.format, note)
        note.format, note.result = params.format.value, "success"
        return envelope(Record.success(outcome), params.format)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: acknowledge both."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_app(
    store: Store, *, max_body: int = DEFAULT_MAX_BODY, access_log: Sink = to_logger
) -> ReferenceApp:
    """The reference server's ASGI app, backed by ``store``.

    ``max_body`` caps request bodies (bytes); a larger one gets HTTP 413.
    ``access_log`` receives one line per request (default: the
    ``regenkey.server`` logger; see :mod:`reference_impl.server.accesslog`).
    """
    if max_body < 1:
        raise ValueError("max_body must be positive")
    return ReferenceApp(store, max_body, access_log)
