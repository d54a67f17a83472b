"""The client suite's safety scenarios (issue 16): what hurts an SDK's user in
production, served after the scenario plan and judged by
:mod:`conformance.client.safety_checks` (RK-CLI-005..010).

Each scenario serves something a real network or server may do: the first
answer stalled or dropped, an HTML 502 page, an empty body, a body cut short,
a redirect to another origin, or a plain success; :class:`SafetyApp` serves
it and counts what arrives. A stall is bounded: it ends when the scenario's
command has ended, and never later than its own deadline.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.client.app import RecordedRequest, Recorder, read_request
from conformance.client.scenarios import Auth, Output, adapter_env
from conformance.protocol.records import ENDPOINT_PATH, MEDIA_TYPES, Format, Record, render


class Kind(StrEnum):
    STALL = "stalled-answer"
    DROP = "dropped-answer"
    HTML_502 = "html-502"
    EMPTY = "empty-body"
    TRUNCATED = "cut-short-body"
    REDIRECT = "redirect-elsewhere"
    SINGLE = "one-success"


# The ids each kind of scenario judges (RK-CLI-008 reads every case's output).
JUDGES: dict[Kind, tuple[str, ...]] = {
    Kind.STALL: ("RK-CLI-005", "RK-CLI-006", "RK-CLI-008"),
    Kind.DROP: ("RK-CLI-005", "RK-CLI-008"),
    Kind.HTML_502: ("RK-CLI-005", "RK-CLI-009", "RK-CLI-008"),
    Kind.EMPTY: ("RK-CLI-005", "RK-CLI-009", "RK-CLI-008"),
    Kind.TRUNCATED: ("RK-CLI-005", "RK-CLI-009", "RK-CLI-008"),
    Kind.REDIRECT: ("RK-CLI-007", "RK-CLI-008"),
    Kind.SINGLE: ("RK-CLI-010", "RK-CLI-008"),
}
UNREADABLE = (Kind.HTML_502, Kind.EMPTY, Kind.TRUNCATED)
HTML_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
STALL_FACTOR = 6  # the stall's bound is this many times --timeout (60 s by default)


@dataclass(frozen=True)
class Reply:
    """One answer: a status, headers and a body; ``stall`` holds it back until
    the scenario ends, ``drop`` closes the connection without a word."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    stall: bool = False
    drop: bool = False


@dataclass(frozen=True)
class SafetyScenario:
    """One safety scenario: the client's inputs and what the kit does."""

    number: int
    kind: Kind
    fmt: Format
    auth: Auth
    user_id: str
    password: str = field(repr=False)
    api_key: str = field(repr=False)  # the key a key-mode client is given
    new_key: str = field(repr=False)  # the key a success issues

    @property
    def name(self) -> str:
        return f"{self.number:02d} safety {self.kind.value} {self.fmt.value} {self.auth.value}"

    @property
    def judges(self) -> tuple[str, ...]:
        return JUDGES[self.kind]

    @property
    def success_body(self) -> str:
        return render(Record.success(self.new_key), self.fmt)

    @property
    def served_body(self) -> str:
        """The body a request (the first, for a stall or a drop) was answered with."""
        if self.kind is Kind.HTML_502:
            return HTML_PAGE
        if self.kind is Kind.EMPTY:
            return ""
        body = self.success_body
        if self.kind is Kind.TRUNCATED:  # cut before the key and inside "success"
            return body[: min(body.find("success") + 4, body.find("apiKey") + 3)]
        return body

    def env(self, base_url: str) -> dict[str, str]:
        """The REGENKEY_* variables of the adapter contract."""
        return adapter_env(base_url, self.fmt, self.auth, self.user_id, self.password, self.api_key)

    def given(self) -> tuple[str, ...]:
        """The secrets the client was given and the one it may be handed."""
        mine = self.password if self.auth is Auth.CREDENTIALS else self.api_key
        return (mine, self.new_key)

    def reply(self, n: int, elsewhere: str) -> Reply:
        """The answer to the ``n``-th request (0 first) of this scenario."""
        media = f"{MEDIA_TYPES[self.fmt]}; charset=UTF-8"
        success = Reply(200, (("content-type", media),), self.success_body.encode())
        if self.kind is Kind.STALL and n == 0:
            return Reply(stall=True)
        if self.kind is Kind.DROP and n == 0:
            return Reply(drop=True)
        if self.kind is Kind.HTML_502:
            return Reply(502, (("content-type", "text/html"),), HTML_PAGE.encode())
        if self.kind in (Kind.EMPTY, Kind.TRUNCATED):
            return Reply(200, (("content-type", media),), self.served_body.encode())
        if self.kind is Kind.REDIRECT:
            status = 307 if self.auth is Auth.CREDENTIALS else 302
            location = f"{elsewhere}{ENDPOINT_PATH}"
            return Reply(status, (("location", location), ("content-type", "text/plain")))
        return success


def _token(rng: random.Random, n: int) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _key(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def safety_plan(
    rng: random.Random,
    auths: tuple[Auth, ...],
    formats: tuple[Format, ...],
    first_number: int,
    wanted: frozenset[str] | None = None,
) -> list[SafetyScenario]:
    """The safety scenarios, numbered from ``first_number``: the stall first
    (it takes longest), a redirect and a success for each way of
    authenticating; the rest draw theirs. Formats are drawn from ``formats``.
    With ``wanted`` (``--req``), only the scenarios judging one of those ids."""
    kinds: list[tuple[Kind, Auth]] = []
    for kind in Kind:
        if kind in (Kind.REDIRECT, Kind.SINGLE):
            kinds += [(kind, auth) for auth in auths]
        else:
            kinds.append((kind, rng.choice(auths)))
    if wanted is not None:
        kinds = [(k, a) for k, a in kinds if set(JUDGES[k]) & wanted]
    scenarios: list[SafetyScenario] = []
    for kind, auth in kinds:
        scenarios.append(
            SafetyScenario(
                number=first_number + len(scenarios),
                kind=kind,
                fmt=rng.choice(formats),
                auth=auth,
                user_id=f"rk.{_token(rng, 6)}@example.com",
                password=f"Sf {_token(rng, 8)} +&=%41#ü€",
                api_key=_key(rng),
                new_key=_key(rng),
            )
        )
    return scenarios


@dataclass
class SafetyCase:
    """A safety scenario and what the client did in it: the requests at the
    first origin, those the second origin (the redirect's target) received,
    and how the command ended."""

    scenario: SafetyScenario
    bound: float  # the stall's bound, seconds
    requests: list[RecordedRequest] = field(default_factory=list)
    elsewhere: list[RecordedRequest] = field(default_factory=list)
    output: Output | None = None
    error: str | None = None  # the kit could not judge it: an ERROR
    timed_out: bool = False  # still running past the bound (a stall only)

    @property
    def label(self) -> str:
        return self.scenario.name


class SafetyApp(Recorder):
    """The ASGI app of the safety scenarios: records every request and answers
    with the scenario's :meth:`SafetyScenario.reply`."""

    def __init__(self) -> None:
        super().__init__()
        self._scenario: SafetyScenario | None = None
        self._elsewhere = ""
        self._release = threading.Event()
        self._stall_until = 0.0

    def plan(self, scenario: SafetyScenario, elsewhere: str, stall_for: float) -> None:
        with self._lock:
            self._requests, self._scenario, self._elsewhere = [], scenario, elsewhere
            self._release = threading.Event()
            self._stall_until = time.monotonic() + stall_for

    def release(self) -> None:
        """End every stall (the scenario's command is done)."""
        self._release.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request, _too_large = await read_request(scope, receive)  # answered all the same
        with self._lock:
            scenario, elsewhere = self._scenario, self._elsewhere
            release, until = self._release, self._stall_until
            n = len(self._requests)
            if n < 100:
                self._requests.append(request)
        if scenario is None:
            reply = Reply(503, (("content-type", "text/plain"),), b"no scenario is running")
        else:
            reply = scenario.reply(n, elsewhere)
        if reply.stall:  # bounded: the scenario's end, or its own deadline
            while not release.is_set() and time.monotonic() < until:
                await asyncio.sleep(0.05)
        if reply.stall or reply.drop:
            _drop(send)
            return
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in reply.headers]
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


def _drop(send: Any) -> None:
    """Close the connection without an answer. ASGI has no word for that;
    uvicorn's h11 cycle keeps its transport beside ``send``. Without one the
    app raises, and the server answers 500: a failed first answer either way."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("the scenario drops this answer")
    transport.close()
