"""Run the client suite: start the conformance servers, run the command once
per scenario, then judge everything it sent and printed.

Scenarios run ``jobs`` at a time, each on a server of its own (its base URL
tells the servers apart), so a slow client costs seconds, not minutes. The
command's exit code is recorded, never judged; a command that cannot start
or outlives its timeout makes the case an ERROR, not a failure.

The safety scenarios (:mod:`conformance.client.safety`, RK-CLI-005..010)
are numbered after the plan and shown after it; they run beside it on
servers of their own, in two lanes (the stall, which takes longest, and the
rest). Progress lines come in scenario order, their counter the scenario's
number.

For an SDK's own tests, :func:`sdk_server` runs one conformance server and
judges what the SDK sent with the request checks alone (the pytest plugin).
"""

from __future__ import annotations

import os
import queue
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from conformance.client import safety_checks, variant_checks  # noqa: F401 (RK-CLI-003..010)
from conformance.client.app import Answer, RecordedRequest, RecordingApp
from conformance.client.checks import (  # importing registers the checks
    REQUEST_CHECKS,
    ClientContext,
    reproduction,
)
from conformance.client.execution import run_command
from conformance.client.safety import Kind, SafetyCase, SafetyScenario, safety_plan
from conformance.client.safety_run import run_safety
from conformance.client.scenarios import (
    ALL_FORMATS,
    Auth,
    Case,
    Expectation,
    Scenario,
    plan,
)
from conformance.judging.redaction import Redactor
from conformance.judging.registry import CheckSpec, registered_checks
from conformance.judging.results import RequirementResult, RunResult, Status
from conformance.protocol.records import ENDPOINT_PATH, MEDIA_TYPES, Format, Record, render
from conformance.spec.catalogue import Party
from conformance.transport.loopback import serving

Serve = Callable[[Any], AbstractContextManager[str]]
Progress = Callable[[int, int, str, str], None]
BOTH_WAYS = (Auth.CREDENTIALS, Auth.KEY)


@dataclass(frozen=True, kw_only=True)
class ClientSuiteConfig:
    command: str
    raw: bool = False
    strict: bool = False
    requirements: frozenset[str] | None = None
    timeout: float = 10.0  # seconds per run of the command (REGENKEY_CLIENT_TIMEOUT)
    seed: int = 0
    auth: Auth | None = None  # the one way of authenticating the client supports; None: both
    jobs: int = 2
    formats: tuple[Format, ...] = ALL_FORMATS  # the formats the client claims to parse

    @property
    def auths(self) -> tuple[Auth, ...]:
        """The ways of authenticating the scenarios use."""
        return BOTH_WAYS if self.auth is None else (self.auth,)


def parse_auth(text: str) -> Auth | None:
    """``--auth both|credentials|key`` (argparse has checked the choice)."""
    return None if text == "both" else Auth(text)


def parse_formats(text: str) -> tuple[Format, ...] | str:
    """``--formats json,xml``: the formats, in the suite's order, or a usage problem."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in {f.value for f in ALL_FORMATS}]
    if unknown or not names:
        return f"--formats takes a comma list of plain, json, xml (got {text!r})"
    return tuple(f for f in ALL_FORMATS if f.value in names)


PARSER_AREA = "RK-PARSE-"  # check-parser's checks, never the client suite's


def selected_checks(
    requirements: Iterable[str] | None, names: Iterable[str] | None = None
) -> list[CheckSpec]:
    """The client checks that judge any of ``requirements`` (all when None);
    a parser's own checks (RK-PARSE-*) are check-parser's."""
    found = [
        c
        for c in registered_checks(Party.CLIENT)
        if not all(rid.startswith(PARSER_AREA) for rid in c.requirement_ids)
    ]
    if names is not None:
        found = [c for c in found if c.name in set(names)]
    if requirements is None:
        return found
    wanted = set(requirements)
    return [c for c in found if wanted & set(c.requirement_ids)]


def add_secret(redactor: Redactor, secret: str | None) -> None:
    """A secret in every spelling a client may send or print: the Redactor's
    own generator (:mod:`conformance.judging.spellings`) covers URL-encoding in any
    variant, twice too, JavaScript's encodeURIComponent and backslash escapes."""
    redactor.add(secret)


def _scrubbed_environment(timeout: float) -> dict[str, str]:
    """The kit's environment without the user's own REGENKEY_* variables, and
    with REGENKEY_CLIENT_TIMEOUT: the seconds each run has (``--timeout``), which
    a client may take as its own request timeout (the adapter contract)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    return env | {"REGENKEY_CLIENT_TIMEOUT": f"{timeout:g}"}


def numbered(n: int, name: str) -> str:
    """``name`` led by the scenario number ``n`` (``07 json error ...``): a
    leading number the name carries that is not ``n`` is replaced, so that the
    counter of a progress line and the scenario it names always agree."""
    head, _, rest = name.partition(" ")
    if head.isdigit():
        return name if int(head) == n else f"{n:02d} {rest}"
    return f"{n:02d} {name}"


class _InOrder:
    """Progress lines in scenario order, whatever order the jobs finish in,
    so that ``[ 2/24]`` is always scenario 02 (:func:`numbered`)."""

    def __init__(self, names: list[str], progress: Progress | None) -> None:
        self._names, self._progress = names, progress
        self._lock = threading.Lock()
        self._finished: dict[int, str] = {}
        self._next = 0

    def done(self, index: int, word: str) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._finished[index] = word
            while self._next in self._finished:
                name = self._names[self._next]
                word = self._finished.pop(self._next)
                self._next += 1
                self._progress(self._next, len(self._names), numbered(self._next, name), word)


def _run_scenarios(
    config: ClientSuiteConfig,
    scenarios: list[Scenario],
    serve: Serve,
    progress: Progress | None,
    safety: list[SafetyScenario] | None = None,
) -> tuple[list[Case], list[SafetyCase]]:
    """The plan's cases, then the safety scenarios' (numbered after them)."""
    safety = safety or []
    cases = [Case(s.expectation, scenario=s) for s in scenarios]
    jobs = max(1, min(config.jobs, len(scenarios)))
    free: queue.Queue[tuple[RecordingApp, str]] = queue.Queue()
    base = _scrubbed_environment(config.timeout)
    shown = _InOrder([s.name for s in scenarios] + [s.name for s in safety], progress)
    cannot_start: list[str] = []
    stalls = [s for s in safety if s.kind is Kind.STALL]
    rest = [s for s in safety if s.kind is not Kind.STALL]
    safety_cases: dict[int, list[SafetyCase]] = {}

    def run_group(group: list[SafetyScenario]) -> None:
        first = len(scenarios) + (safety.index(group[0]) if group else 0)
        found = run_safety(config.command, base, group, config.timeout, shown.done, first)
        safety_cases[first] = found

    with ExitStack() as stack:
        for _ in range(jobs):
            app = RecordingApp()
            free.put((app, stack.enter_context(serve(app))))

        def one(index: int) -> None:
            case = cases[index]
            scenario = case.scenario
            assert scenario is not None
            if cannot_start:  # it will not start for the next scenario either
                case.error = cannot_start[0]
                shown.done(index, case.error)
                return
            app, url = free.get()
            try:
                app.plan(scenario.answer)
                outcome = run_command(config.command, base | scenario.env(url), config.timeout)
                case.requests = app.take()
            finally:
                free.put((app, url))
            if isinstance(outcome, str):
                case.error = outcome
                if "cannot start" in outcome:
                    cannot_start.append(outcome)
                word = outcome
            else:
                case.output = outcome
                word = f"exit {outcome.exit_code}, {len(case.requests)} request(s)"
            shown.done(index, word)

        with ThreadPoolExecutor(max_workers=2) as side:
            # beside the plan (the stall takes longest); shown after it, in number order
            groups = [side.submit(run_group, group) for group in (stalls, rest) if group]
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(one, range(len(cases))))
            for group in groups:
                group.result()
    ordered = [c for first in sorted(safety_cases) for c in safety_cases[first]]
    return cases, sorted(ordered, key=lambda c: c.scenario.number)


# Requirements that only a scenario of one way of authenticating can judge: with
# ``--auth`` leaving it out, they are outside the run's scope, not unjudged.
NEEDS_AUTH = {Auth.KEY: ("RK-AUTH-010",), Auth.CREDENTIALS: ("RK-PARAM-003",)}


def judge(
    ctx: ClientContext,
    specs: list[CheckSpec],
    requirements: frozenset[str] | None,
    out_of_scope: frozenset[str] = frozenset(),
) -> None:
    """Run ``specs`` over ``ctx``'s cases and settle the verdicts; ids in
    ``out_of_scope`` appear only if something was recorded for them."""
    for spec in specs:
        with ctx.running(spec.name):
            try:
                spec.func(ctx)
            except Exception as exc:  # a bug in the kit: ERROR, never the client's fault
                for rid in spec.requirement_ids:
                    ctx.result.record_error(rid, f"{spec.name}: kit error {type(exc).__name__}")
    for case in ctx.cases:
        if case.error is not None:
            for spec in specs:
                for rid in spec.requirement_ids:
                    ctx.result.record_error(rid, ctx.redactor(f"{case.label}: {case.error}"))
    result = ctx.result
    if requirements is not None:
        result.requirements = {k: v for k, v in result.requirements.items() if k in requirements}
    for spec in specs:
        for rid in spec.requirement_ids:
            if rid in out_of_scope and rid not in result.requirements:
                continue
            if requirements is None or rid in requirements:
                result.result_for(rid)
    result.finish()


def run_client_suite(
    config: ClientSuiteConfig,
    redactor: Redactor,
    progress: Progress | None = None,
    serve: Serve = serving,
) -> RunResult:
    """Judge the client that ``config.command`` runs; secrets go to ``redactor``."""
    result = RunResult("client", config.command, config.seed, config.strict)
    result.started = datetime.now(UTC)
    started = time.perf_counter()
    auths = config.auths
    scenarios = plan(random.Random(config.seed), auths, config.formats)  # noqa: S311
    result.scope = {"formats": [f.value for f in config.formats], "auth": [a.value for a in auths]}
    safety_rng = random.Random(f"{config.seed}/safety")  # noqa: S311 (the plan's draws stay)
    safety = safety_plan(safety_rng, auths, config.formats, len(scenarios) + 1, config.requirements)
    for scenario in scenarios:
        for secret in scenario.secrets():
            add_secret(redactor, secret)
    for extra in safety:
        for secret in (extra.password, extra.api_key, extra.new_key):
            add_secret(redactor, secret)
    cases, safety_cases = _run_scenarios(config, scenarios, serve, progress, safety)
    result.cases = sum(len(c.requests) for c in cases)
    result.cases += sum(len(c.requests) + len(c.elsewhere) for c in safety_cases)
    formats = "" if config.formats == ALL_FORMATS else ",".join(f.value for f in config.formats)
    repro = reproduction(config.command, config.raw, config.auth, config.seed, formats)
    ctx = safety_checks.SafetyContext(
        cases, result, redactor, config.raw, repro, safety=safety_cases
    )
    skipped = [rid for auth, ids in NEEDS_AUTH.items() if auth not in auths for rid in ids]
    judge(ctx, selected_checks(config.requirements), config.requirements, frozenset(skipped))
    result.matrix = ctx.matrix()  # scenario x requirement (reporting/matrix.py)
    result.duration_s = time.perf_counter() - started
    return result


def judge_requests(
    cases: list[Case], redactor: Redactor, strict: bool = False, seed: int = 0
) -> RunResult:
    """Judge recorded requests alone (an SDK's own test): the request checks."""
    result = RunResult("client", "pytest", seed, strict)
    result.cases = sum(len(c.requests) for c in cases)
    judge(ClientContext(cases, result, redactor), selected_checks(None, REQUEST_CHECKS), None)
    return result


# --- an SDK's own tests (the pytest plugin) -------------------------------------------


@dataclass
class ConformanceServer:
    """A running conformance server and the account an SDK may use on it."""

    base_url: str
    user_id: str
    password: str = field(repr=False)  # a traceback printing the server never shows it
    api_key: str = field(repr=False)
    app: RecordingApp
    issued_keys: list[str] = field(default_factory=list)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, exactly as it arrived."""
        return self.app.take()

    def answer(self, request: RecordedRequest) -> Answer:
        if request.raw_path != ENDPOINT_PATH:
            return Answer(404, "text/plain", b"not found")
        params, _ = request.params()
        values = {p.name: p.value for p in params}
        fmt = Format.parse(values.get("format"))
        headers = [v.strip() for v in request.header_values("apiKey")]
        by_key = self.api_key in headers
        by_credentials = (values.get("userId"), values.get("password")) == (
            self.user_id,
            self.password,
        )
        if fmt is None:
            record, fmt = Record.error("400", "unknown format"), Format.PLAIN
        elif by_key or by_credentials:
            record = Record.success(uuid.uuid4().hex)
            self.issued_keys.append(record.api_key or "")
        else:
            record = Record.error("401", "invalid credentials")
        return Answer(200, f"{MEDIA_TYPES[fmt]}; charset=UTF-8", render(record, fmt).encode())

    def redactor(self) -> Redactor:
        redactor = Redactor()
        for secret in (self.password, self.api_key, *self.issued_keys):
            add_secret(redactor, secret)
        return redactor

    def verdicts(
        self, strict: bool = False
    ) -> tuple[list[RequirementResult], list[RequirementResult]]:
        """The kit's verdicts on the requests so far: (the requirements that fail,
        the SHOULDs broken but not failing); the pytest plugin formats them."""
        requests = self.requests
        if not requests:
            return [], []
        expect = Expectation(self.user_id, self.password, self.api_key)
        redactor = self.redactor()
        result = judge_requests([Case(expect, requests)], redactor, strict)
        failing, findings = [], []
        for req in result.ordered():
            if req.status is Status.FAIL or (strict and req.status is Status.NON_STRICT):
                failing.append(req)
            elif req.status is Status.NON_STRICT:
                findings.append(req)
        return failing, findings


@contextmanager
def sdk_server() -> Iterator[ConformanceServer]:
    """A conformance server for an SDK's test, with a fresh account.

    It answers like the real endpoint, with one simplification: its key stays
    valid after a regeneration, so a test may use it more than once.
    """
    app = RecordingApp()
    with serving(app) as base_url:
        server = ConformanceServer(
            base_url=base_url,
            user_id=f"sdk.{secrets.token_hex(3)}@example.com",
            password=f"Sdk {secrets.token_urlsafe(6)} +&=%41#ü€",
            api_key=uuid.uuid4().hex,
            app=app,
        )
        app.plan(server.answer)
        yield server
