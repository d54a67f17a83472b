"""What the client suite asks of a client: one scenario per format, way of
authenticating and answer variant, and what a client did in each (a case).

Baselines serve the page's own rendering (the first of
:func:`conformance.renderings`, what :func:`conformance.render` writes); the
other scenarios serve every other variant :func:`conformance.renderings`
allows, charset parameters and ``text/xml``, all with HTTP 200, as the
vendor's own ecosystem answers errors too: 21 scenarios when both ways of
authenticating and every format are judged. A client that misreads a
baseline breaks RK-CLI-001; one that reads the baseline but not a variant of
it breaks RK-CLI-003. Beside those, each format's baseline error envelope is
served once more under HTTP 401 (24 in all): a client that cannot read it
there breaks only the SHOULD RK-CLI-004.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.client.app import Answer, RecordedRequest
from conformance.protocol.records import MEDIA_TYPES, Format, Record, renderings


class Auth(StrEnum):
    CREDENTIALS = "credentials"
    KEY = "key"


ERROR_REASONS = {Auth.CREDENTIALS: "invalid credentials", Auth.KEY: "invalid apiKey"}


@dataclass(frozen=True)
class Expectation:
    """What a client was given and so must send.

    ``auth`` None means either form (an SDK's own test); ``fmt`` None means any
    of the three formats.
    """

    user_id: str | None
    password: str | None
    api_key: str | None
    fmt: Format | None = None
    auth: Auth | None = None


@dataclass(frozen=True)
class Scenario:
    """One run of the client: its inputs and the answer it is served."""

    name: str
    fmt: Format
    auth: Auth
    record: Record
    variant: str
    body: str
    content_type: str
    http_status: int
    user_id: str
    password: str
    api_key: str
    baseline: bool

    @property
    def expectation(self) -> Expectation:
        creds = self.auth is Auth.CREDENTIALS
        return Expectation(
            self.user_id if creds else None,
            self.password if creds else None,
            None if creds else self.api_key,
            self.fmt,
            self.auth,
        )

    def env(self, base_url: str) -> dict[str, str]:
        """The REGENKEY_* variables of the adapter contract."""
        env = {"REGENKEY_BASE_URL": base_url, "REGENKEY_FORMAT": self.fmt.value}
        if self.auth is Auth.CREDENTIALS:
            env |= {"REGENKEY_USER_ID": self.user_id, "REGENKEY_PASSWORD": self.password}
        else:
            env["REGENKEY_API_KEY"] = self.api_key
        return env

    def answer(self, _request: RecordedRequest) -> Answer:
        return Answer(self.http_status, self.content_type, self.body.encode("utf-8"))

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.api_key, self.record.api_key) if s)


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


@dataclass(frozen=True)
class _Plan:
    fmt: Format
    success: bool
    variant: str  # a renderings() label, or "<label>+<media type>"
    content_type: str
    http_status: int = 200
    baseline: bool = False


def _plans(fmt: Format) -> list[_Plan]:
    media = MEDIA_TYPES[fmt]
    probe_ok = Record.success("0" * 32)
    labels = [label for label, _ in renderings(probe_ok, fmt)]
    canonical, variants = labels[0], labels[1:]
    error_labels = [label for label, _ in renderings(Record.error("401", "x"), fmt)]
    # Charset parameters ride on the first variant and on the error variant.
    charset = [f"{media}; charset=UTF-8"] + [media] * (len(variants) - 1)
    plans = [
        _Plan(fmt, True, canonical, media, baseline=True),
        _Plan(fmt, False, canonical, media, baseline=True),
        *(_Plan(fmt, True, label, ct) for label, ct in zip(variants, charset, strict=True)),
        _Plan(fmt, False, error_labels[1], f"{media};charset=utf-8"),
        # The baseline error again, under a 4xx status alone (RK-CLI-004).
        _Plan(fmt, False, error_labels[0], media, http_status=401),
    ]
    if fmt is Format.XML:
        plans.append(_Plan(fmt, True, canonical, "text/xml; charset=utf-8"))
    return plans


def _token(rng: random.Random, n: int = 8) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _key(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


ALL_FORMATS = (Format.PLAIN, Format.JSON, Format.XML)


def plan(
    rng: random.Random,
    auths: tuple[Auth, ...] = (Auth.CREDENTIALS, Auth.KEY),
    formats: tuple[Format, ...] = ALL_FORMATS,
) -> list[Scenario]:
    """Every scenario of ``formats``, each with fresh secrets: passwords need
    encoding in every encoding (space, ``+ & = % #``, non-ASCII)."""
    scenarios: list[Scenario] = []
    turn = 0
    for fmt in (f for f in ALL_FORMATS if f in formats):
        for p in _plans(fmt):
            # A success baseline for each way of authenticating; the rest take turns.
            chosen = list(auths) if p.baseline and p.success else [auths[turn % len(auths)]]
            turn += 0 if p.baseline and p.success else 1
            for auth in chosen:
                scenarios.append(_scenario(rng, p, auth, len(scenarios) + 1))
    return scenarios


def _scenario(rng: random.Random, p: _Plan, auth: Auth, n: int) -> Scenario:
    code = "401" if p.http_status == 200 else "403"
    record = Record.success(_key(rng)) if p.success else Record.error(code, ERROR_REASONS[auth])
    label = p.variant
    body = dict(renderings(record, p.fmt))[label]
    kind = "success" if p.success else "error"
    name = f"{n:02d} {p.fmt.value} {kind} {auth.value} {label} [{p.content_type}]"
    if p.http_status != 200:
        name += f" HTTP {p.http_status}"
    return Scenario(
        name=name,
        fmt=p.fmt,
        auth=auth,
        record=record,
        variant=label,
        body=body,
        content_type=p.content_type,
        http_status=p.http_status,
        user_id=f"rk.{_token(rng, 6)}@example.com",
        password=f"Pw {_token(rng)} +&=%41#ü€",
        api_key=_key(rng),
        baseline=p.baseline,
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
