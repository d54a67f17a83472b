"""What the client suite asks of a client: the whole product of format,
rendering, outcome and way of authenticating, and what a client did in each
scenario (a case).

The plan is generated, not listed: for each format, every rendering
:func:`~conformance.protocol.records.every_rendering` allows (the first is
the page's own, the baseline) is served as a success and as an error, to each way of
authenticating, with HTTP 200, as the vendor's own ecosystem answers errors
too; variants ride on the media type's charset spellings (and ``text/xml``).
A client that misreads a baseline breaks RK-CLI-001; one that reads the
baseline but not a variant of it breaks RK-CLI-003. Each format's baseline
error is served once more under HTTP 401 to each way of authenticating: a
client that cannot read it there breaks only the SHOULD RK-CLI-004. With the
key, each format is asked twice more to rotate twice in one run
(``REGENKEY_ROTATIONS=2``): the second regeneration must carry the key the
first returned, and the client must report the last answer (RK-CLI-002).
Account values and error records come from :mod:`conformance.client.adversarial`.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.client.adversarial import account_value, api_key, error_record
from conformance.client.app import Answer, RecordedRequest
from conformance.protocol.records import MEDIA_TYPES, Format, Record, every_rendering, render


class Auth(StrEnum):
    CREDENTIALS = "credentials"
    KEY = "key"


ERROR_REASONS = {Auth.CREDENTIALS: "invalid credentials", Auth.KEY: "invalid apiKey"}


def adapter_env(
    base_url: str, fmt: Format, auth: Auth, user_id: str, password: str, api_key: str
) -> dict[str, str]:
    """The REGENKEY_* variables of the adapter contract for one run of the
    client: where to send, the format to ask for, and the credentials or the
    key (``auth`` says which)."""
    env = {"REGENKEY_BASE_URL": base_url, "REGENKEY_FORMAT": fmt.value}
    if auth is Auth.CREDENTIALS:
        env |= {"REGENKEY_USER_ID": user_id, "REGENKEY_PASSWORD": password}
    else:
        env["REGENKEY_API_KEY"] = api_key
    return env


@dataclass(frozen=True)
class Expectation:
    """What a client was given and so must send.

    ``auth`` None means either form (an SDK's own test); ``fmt`` None means any
    of the three formats. ``later_keys``: keys a rotating scenario issued,
    which its later requests carry.
    """

    user_id: str | None
    password: str | None
    api_key: str | None
    fmt: Format | None = None
    auth: Auth | None = None
    later_keys: tuple[str, ...] = ()


class KeyChain:
    """The answers of a scenario that rotates twice: the request carrying the
    current key gets the next planned answer (a success makes its key the
    current one); any other request is refused. What each request got is kept
    for the judges."""

    def __init__(self, first_key: str, answers: list[tuple[Record, str]], refusal: Record):
        self.first_key = first_key
        self.answers = answers
        self.refusal = refusal
        self._lock = threading.Lock()
        self._served: list[tuple[RecordedRequest, Record, str]] = []
        self._current, self._next = first_key, 0

    def answer(self, request: RecordedRequest, fmt: Format) -> tuple[Record, str]:
        with self._lock:
            carried = [v.strip() for v in request.header_values("apiKey")]
            if self._current in carried and self._next < len(self.answers):
                record, body = self.answers[self._next]
                self._next += 1
                if record.api_key is not None:
                    self._current = record.api_key
            else:
                record, body = self.refusal, render(self.refusal, fmt)
            self._served.append((request, record, body))
            return record, body

    def served_to(self, request: RecordedRequest) -> tuple[Record, str] | None:
        with self._lock:
            return next(((rec, b) for req, rec, b in self._served if req is request), None)

    @property
    def issued(self) -> tuple[str, ...]:
        return tuple(r.api_key for r, _ in self.answers if r.api_key is not None)


@dataclass(frozen=True)
class Scenario:
    """One run of the client: its inputs and the answer it is served."""

    name: str
    fmt: Format
    auth: Auth
    record: Record  # what a client that did everything asked must report
    variant: str
    body: str
    content_type: str
    http_status: int
    user_id: str
    password: str
    api_key: str
    baseline: bool
    rotations: int = 1  # regenerations asked for in one run (REGENKEY_ROTATIONS)
    chain: KeyChain | None = field(default=None, compare=False, repr=False)

    @property
    def expectation(self) -> Expectation:
        creds = self.auth is Auth.CREDENTIALS
        return Expectation(
            self.user_id if creds else None,
            self.password if creds else None,
            None if creds else self.api_key,
            self.fmt,
            self.auth,
            self.chain.issued if self.chain is not None else (),
        )

    def env(self, base_url: str) -> dict[str, str]:
        """The REGENKEY_* variables of the adapter contract."""
        env = adapter_env(base_url, self.fmt, self.auth, self.user_id, self.password, self.api_key)
        if self.rotations > 1:
            env["REGENKEY_ROTATIONS"] = str(self.rotations)
        return env

    def answer(self, request: RecordedRequest) -> Answer:
        body = self.body
        if self.chain is not None:
            body = self.chain.answer(request, self.fmt)[1]
        return Answer(self.http_status, self.content_type, body.encode("utf-8"))

    def served(self, requests: list[RecordedRequest]) -> tuple[Record, str]:
        """The record (and body) the client must report: the answer to its
        last request; a client that rotates once is judged on that one."""
        found = self.chain.served_to(requests[-1]) if self.chain and requests else None
        return found or (self.record, self.body)

    def secrets(self) -> tuple[str, ...]:
        keys = self.chain.issued if self.chain is not None else ()
        found = (self.password, self.api_key, self.record.api_key, *keys)
        return tuple(s for s in found if s)


@dataclass
class Output:
    """What the command did: its exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Case:
    """A scenario (or, in an SDK's test, none) and what the client did."""

    expect: Expectation
    requests: list[RecordedRequest] = field(default_factory=list)
    scenario: Scenario | None = None
    output: Output | None = None
    error: str | None = None  # the kit could not judge it: an ERROR

    @property
    def label(self) -> str:
        return self.scenario.name if self.scenario is not None else "request"

    @property
    def served(self) -> tuple[Record, str] | None:
        return self.scenario.served(self.requests) if self.scenario is not None else None


@dataclass(frozen=True)
class _Plan:
    fmt: Format
    success: bool
    variant: str  # a renderings() label
    content_type: str
    auth: Auth
    http_status: int = 200
    baseline: bool = False
    rotations: int = 1


def _media_types(fmt: Format) -> list[str]:
    """The spellings of a format's media type that variants take turns with."""
    media = MEDIA_TYPES[fmt]
    spellings = [f"{media}; charset=UTF-8", media, f"{media};charset=utf-8"]
    if fmt is Format.XML:
        spellings += ["text/xml; charset=utf-8", "text/xml"]
    return spellings


def _product(fmt: Format, auths: tuple[Auth, ...]) -> list[_Plan]:
    """Every rendering x outcome x way of authenticating of one format."""
    media = MEDIA_TYPES[fmt]
    labels = [label for label, _ in every_rendering(Record.success("0" * 32), fmt)]
    spellings = _media_types(fmt)
    plans = []
    for success in (True, False):
        for n, label in enumerate(labels):
            for m, auth in enumerate(auths):
                ct = media if n == 0 else spellings[(n + m + success) % len(spellings)]
                plans.append(_Plan(fmt, success, label, ct, auth, baseline=n == 0))
    # The page's error again, under a 4xx status alone (RK-CLI-004).
    plans += [_Plan(fmt, False, labels[0], media, auth, http_status=401) for auth in auths]
    if Auth.KEY in auths:  # rotate twice: ending in a success, and in an error
        plans += [_Plan(fmt, ok, labels[0], media, Auth.KEY, rotations=2) for ok in (True, False)]
    return plans


ALL_FORMATS = (Format.PLAIN, Format.JSON, Format.XML)


def plan(
    rng: random.Random,
    auths: tuple[Auth, ...] = (Auth.CREDENTIALS, Auth.KEY),
    formats: tuple[Format, ...] = ALL_FORMATS,
) -> list[Scenario]:
    """The whole product for ``formats`` and ``auths``, each scenario with
    fresh secrets and error records drawn from ``rng``."""
    plans = [p for fmt in ALL_FORMATS if fmt in formats for p in _product(fmt, auths)]
    return [_scenario(rng, p, n) for n, p in enumerate(plans, start=1)]


def _scenario(rng: random.Random, p: _Plan, n: int) -> Scenario:
    user_id, password = account_value(rng, n, "user"), account_value(rng, n + 1, "password")
    first_key = api_key(rng)
    words = "rotation refused" if p.rotations > 1 else ERROR_REASONS[p.auth]
    record = Record.success(api_key(rng)) if p.success else error_record(rng, n, words)
    body = dict(every_rendering(record, p.fmt))[p.variant]
    chain = None
    if p.rotations > 1:
        issued = Record.success(api_key(rng))
        final = record
        answers = [(issued, render(issued, p.fmt)), (final, body)]
        refusal = error_record(rng, n + 1, "apiKey revoked")
        chain = KeyChain(first_key, answers, refusal)
        body = answers[0][1]
    kind = "success" if p.success else "error"
    name = f"{n:02d} {p.fmt.value} {kind} {p.auth.value} {p.variant} [{p.content_type}]"
    if p.http_status != 200:
        name += f" HTTP {p.http_status}"
    if p.rotations > 1:
        name += f" rotating {p.rotations} times"
    return Scenario(
        name=name,
        fmt=p.fmt,
        auth=p.auth,
        record=record,
        variant=p.variant,
        body=body,
        content_type=p.content_type,
        http_status=p.http_status,
        user_id=user_id,
        password=password,
        api_key=first_key,
        baseline=p.baseline,
        rotations=p.rotations,
        chain=chain,
    )


def baseline_for(scenario: Scenario, scenarios: list[Scenario]) -> Scenario | None:
    """The baseline a variant is compared with: same format, same kind of
    record, the same way of authenticating when there is one."""
    candidates = [
        s
        for s in scenarios
        if s.baseline
        and s.http_status == 200
        and s.fmt is scenario.fmt
        and s.record.is_success == scenario.record.is_success
    ]
    same_auth = [s for s in candidates if s.auth is scenario.auth]
    found = same_auth or candidates
    return found[0] if found else None
