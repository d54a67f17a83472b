"""Run the client suite: start the conformance servers, run the command once
per scenario, then judge everything it sent and printed.

Scenarios run ``jobs`` at a time, each on a server of its own (its base URL
tells the servers apart), so a slow client costs seconds, not minutes. The
command's exit code is recorded, never judged; a command that cannot start
or outlives its timeout makes the case an ERROR, not a failure.

For an SDK's own tests, :func:`sdk_server` runs one conformance server and
judges what the SDK sent with the request checks alone (the pytest plugin).
"""

from __future__ import annotations

import os
import queue
import random
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote, quote_plus

from conformance.catalogue import Party
from conformance.client_suite.checks import (  # importing registers the checks
    REQUEST_CHECKS,
    ClientContext,
    reproduction,
)
from conformance.client_suite.scenarios import Auth, Case, Expectation, Output, Scenario, plan
from conformance.client_suite.server import Answer, RecordedRequest, RecordingApp
from conformance.loopback import serving
from conformance.records import ENDPOINT_PATH, MEDIA_TYPES, Format, Record, render
from conformance.redaction import Redactor
from conformance.registry import CheckSpec, registered_checks
from conformance.reports import format_failure
from conformance.results import RunResult, Status

Serve = Callable[[Any], AbstractContextManager[str]]
CANNOT_START = (126, 127)  # the shell's "not executable" and "not found"
AUTHS = {"both": (Auth.CREDENTIALS, Auth.KEY), "credentials": (Auth.CREDENTIALS,),
         "key": (Auth.KEY,)}  # fmt: skip


@dataclass(frozen=True)
class ClientSuiteConfig:
    command: str
    raw: bool = False
    strict: bool = False
    requirements: frozenset[str] | None = None
    timeout: float = 10.0
    seed: int = 0
    auth: str = "both"
    jobs: int = 2


def selected_checks(
    requirements: Iterable[str] | None, names: Iterable[str] | None = None
) -> list[CheckSpec]:
    """The client checks that judge any of ``requirements`` (all when None)."""
    found = registered_checks(Party.CLIENT)
    if names is not None:
        found = [c for c in found if c.name in set(names)]
    if requirements is None:
        return found
    wanted = set(requirements)
    return [c for c in found if wanted & set(c.requirement_ids)]


def add_secret(redactor: Redactor, secret: str | None) -> None:
    """A secret in every spelling a client may send or print, double-encoded too."""
    if not secret:
        return
    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        redactor.add(form)
        redactor.add(quote(form, safe=""))
        redactor.add(quote_plus(form))
    redactor.add(quote(secret, safe="~()*!.'"))  # JavaScript's encodeURIComponent
    redactor.add(secret.encode("ascii", "backslashreplace").decode("ascii"))
    redactor.add(secret.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00"))


def _scrubbed_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}


MAX_OUTPUT = 1 << 20  # per stream; a client prints one small JSON object


class _Capture(threading.Thread):
    """Reads one of the command's pipes, keeping at most ``limit`` bytes; past
    that it stops and raises the alarm, so that a client printing without end
    neither fills the kit's memory nor waits out its timeout."""

    def __init__(self, stream: IO[bytes], limit: int, alarm: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit, self.alarm = stream, limit, alarm
        self.data = bytearray()
        self.overflow = False

    def run(self) -> None:
        # os.read, not the buffered stream: no lock that a close could wait on.
        try:
            while chunk := os.read(self.stream.fileno(), 65536):
                if len(self.data) + len(chunk) > self.limit:
                    self.overflow = True
                    return
                self.data += chunk
        except OSError:
            pass
        finally:
            self.stream.close()
            self.alarm.set()


def run_command(command: str, env: dict[str, str], timeout: float) -> Output | str:
    """Run ``command`` through the shell; an ERROR message if it cannot be judged:
    it cannot start, it outlives ``timeout`` (it and everything it started are
    killed), or it prints more than :data:`MAX_OUTPUT` bytes on either stream."""
    try:
        proc = subprocess.Popen(  # noqa: S602 (the contract: CMD runs through the shell)
            command, shell=True, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return f"the command cannot start: {exc.strerror}"
    assert proc.stdout is not None and proc.stderr is not None
    alarm = threading.Event()
    out, err = _Capture(proc.stdout, MAX_OUTPUT, alarm), _Capture(proc.stderr, MAX_OUTPUT, alarm)
    out.start()
    err.start()
    deadline = time.monotonic() + timeout
    problem = None
    while problem is None:
        alarm.clear()  # before looking: a reader that finishes after this wakes the wait
        if out.overflow or err.overflow:
            stream = "stdout" if out.overflow else "stderr"
            problem = f"the command printed more than {MAX_OUTPUT} bytes on {stream}"
        elif not out.is_alive() and not err.is_alive():
            break  # both pipes closed: the command (and whatever it started) is done
        elif (remaining := deadline - time.monotonic()) <= 0:
            problem = f"the command did not finish within {timeout:g} s"
        else:
            alarm.wait(remaining)
    if problem is None:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problem = f"the command did not finish within {timeout:g} s"
    if problem is not None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the shell and everything it started
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    for capture in (out, err):
        capture.join(timeout=1)  # a grandchild in a session of its own may keep a pipe open
    if problem is not None:
        return problem
    stderr = err.data.decode("utf-8", errors="replace")
    if proc.returncode in CANNOT_START:
        last = stderr.strip().splitlines()[-1:] or [""]
        return f"the command cannot start (exit {proc.returncode}): {last[0][:200]}"
    return Output(proc.returncode, out.data.decode("utf-8", errors="replace"), stderr)


def _run_scenarios(
    config: ClientSuiteConfig,
    scenarios: list[Scenario],
    serve: Serve,
    progress: Callable[[int, int, str, str], None] | None,
) -> list[Case]:
    cases = [Case(s.expectation, scenario=s) for s in scenarios]
    jobs = max(1, min(config.jobs, len(scenarios)))
    free: queue.Queue[tuple[RecordingApp, str]] = queue.Queue()
    base = _scrubbed_environment()
    done = [0]
    cannot_start: list[str] = []
    with ExitStack() as stack:
        for _ in range(jobs):
            app = RecordingApp()
            free.put((app, stack.enter_context(serve(app))))

        def one(case: Case) -> None:
            scenario = case.scenario
            assert scenario is not None
            if cannot_start:  # it will not start for the next scenario either
                case.error = cannot_start[0]
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
            done[0] += 1
            if progress is not None:
                progress(done[0], len(cases), scenario.name, word)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, cases))
    return cases


def judge(ctx: ClientContext, specs: list[CheckSpec], requirements: frozenset[str] | None) -> None:
    """Run ``specs`` over ``ctx``'s cases and settle the verdicts."""
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
            if requirements is None or rid in requirements:
                result.result_for(rid)
    result.finish()


def run_client_suite(
    config: ClientSuiteConfig,
    redactor: Redactor,
    progress: Callable[[int, int, str, str], None] | None = None,
    serve: Serve = serving,
) -> RunResult:
    """Judge the client that ``config.command`` runs; secrets go to ``redactor``."""
    result = RunResult("client", config.command, config.seed, config.strict)
    result.started = datetime.now(UTC)
    started = time.perf_counter()
    scenarios = plan(random.Random(config.seed), AUTHS[config.auth])  # noqa: S311
    for scenario in scenarios:
        for secret in scenario.secrets():
            add_secret(redactor, secret)
    cases = _run_scenarios(config, scenarios, serve, progress)
    result.cases = sum(len(c.requests) for c in cases)
    repro = reproduction(config.command, config.raw, config.auth, config.seed)
    ctx = ClientContext(cases, result, redactor, config.raw, repro)
    judge(ctx, selected_checks(config.requirements), config.requirements)
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


def summary_counts(result: RunResult) -> dict[Status, int]:
    counts = dict.fromkeys(Status, 0)
    for r in result.requirements.values():
        counts[r.status] += 1
    return counts


# --- an SDK's own tests (the pytest plugin) -------------------------------------------


@dataclass
class ConformanceServer:
    """A running conformance server and the account an SDK may use on it."""

    base_url: str
    user_id: str
    password: str
    api_key: str
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

    def verdicts(self, strict: bool = False) -> tuple[list[str], list[str]]:
        """The kit's verdicts on the requests so far: (failures, SHOULD findings)."""
        requests = self.requests
        if not requests:
            return [], []
        expect = Expectation(self.user_id, self.password, self.api_key)
        redactor = self.redactor()
        result = judge_requests([Case(expect, requests)], redactor, strict)
        failing, findings = [], []
        for req in result.ordered():
            texts = [redactor(format_failure(f, req.level)) for f in req.failures[:3]]
            if req.status is Status.FAIL or (strict and req.status is Status.NON_STRICT):
                failing += texts
            elif req.status is Status.NON_STRICT:
                findings += texts
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
