"""What every client check works on: the :class:`ClientContext` of a run (its
cases, the result, the redactor), how a failure is written, and how what a
command printed compares with what it was served.

The context also keeps one verdict per scenario and requirement (``cells``),
from which :mod:`conformance.reporting.matrix` draws the run's matrix.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from conformance.client.app import Param, RecordedRequest
from conformance.client.scenarios import Auth, Case, Scenario
from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult, Status
from conformance.judging.spellings import KEY_SHAPE
from conformance.spec.catalogue import Level, requirement

# The worse verdict wins a cell.
_RANK = {Status.PASS: 0, Status.NON_STRICT: 1, Status.FAIL: 2}


@dataclass
class ClientContext:
    cases: list[Case]
    result: RunResult
    redactor: Redactor
    raw: bool = False
    reproduction: str = ""
    check_name: str = ""
    _assessed: dict[int, tuple[str, str]] = field(default_factory=dict)
    # scenario name -> requirement id -> the verdict that scenario earned
    cells: dict[str, dict[str, Status]] = field(default_factory=dict)

    def expect(
        self,
        rid: str,
        ok: bool,
        case: Case,
        request: RecordedRequest | None,
        message: str,
        expected: str,
        actual: str,
    ) -> bool:
        if ok:
            self.result.record_pass(rid)
            self._cell(case, rid, Status.PASS)
        else:
            self.fail(rid, case, request, message, expected, actual)
        return ok

    def passed(self, rid: str, case: Case) -> None:
        self.result.record_pass(rid)
        self._cell(case, rid, Status.PASS)

    def fail(
        self,
        rid: str,
        case: Case,
        request: RecordedRequest | None,
        message: str,
        expected: str,
        actual: str,
    ) -> None:
        answer = _answer_message(case, self.redactor)
        self.write_failure(rid, case.label, request, answer, (message, expected, actual))
        must = requirement(rid).level is Level.MUST
        self._cell(case, rid, Status.FAIL if must else Status.NON_STRICT)

    def write_failure(
        self,
        rid: str,
        label: str,
        request: RecordedRequest | None,
        answer: HttpMessage | None,
        texts: tuple[str, str, str],
    ) -> None:
        """``rid`` failed in the scenario ``label``: ``texts`` are the message,
        what was expected and what happened; every text is redacted, and the
        failure carries the line that replays the run (or, without one, the seed)."""
        r = self.redactor
        message, expected, actual = texts
        repro = f"{self.reproduction} --req {rid}" if self.reproduction else ""
        self.result.record_failure(
            Failure(
                requirement_id=rid,
                check=self.check_name,
                message=r(f"[{label}] {message}"),
                expected=r(expected),
                actual=r(actual),
                request=request_message(request, r) if request is not None else None,
                response=answer,
                reproduction=r(repro),
                seed=None if repro else self.result.seed,  # the replay line has it
            )
        )

    def matrix(self) -> dict[str, dict[str, Status]]:
        """One row per scenario (in plan order), one verdict per requirement
        it judged; a scenario the kit could not run is ERROR for every
        requirement the run judged."""
        rids = sorted({rid for row in self.cells.values() for rid in row})
        rows = dict(self.cells)
        for case in self.cases:
            if case.error is not None:
                rows[case.label] = dict.fromkeys(rids, Status.ERROR)
        return dict(sorted(rows.items(), key=lambda item: _number(item[0])))

    def _cell(self, case: Case, rid: str, status: Status) -> None:
        row = self.cells.setdefault(case.label, {})
        if rid not in row or _RANK[status] > _RANK[row[rid]]:
            row[rid] = status

    @contextmanager
    def running(self, name: str) -> Iterator[None]:
        previous, self.check_name = self.check_name, name
        try:
            yield
        finally:
            self.check_name = previous

    def requests(self) -> Iterator[tuple[Case, RecordedRequest]]:
        for case in self.cases:
            if case.error is None:
                for request in case.requests:
                    yield case, request

    def assessed(self, case: Case) -> tuple[str, str]:
        """``("ok" | "lie" | "wrong", what was printed)`` for a command's case."""
        if id(case) not in self._assessed:
            self._assessed[id(case)] = _assess(case, self.raw)
        return self._assessed[id(case)]


def _number(name: str) -> int:
    head = name.split(" ", 1)[0]
    return int(head) if head.isdigit() else 1 << 30


def request_message(request: RecordedRequest, r: Redactor) -> HttpMessage:
    headers = tuple((n, r(v)) for n, v in request.headers)
    start = f"{request.method} {r(request.target)}"
    return HttpMessage(start, headers, r.bytes(request.body[:2048]))


def _answer_message(case: Case, r: Redactor) -> HttpMessage | None:
    scenario = case.scenario
    if not isinstance(scenario, Scenario):  # none, or another suite's (safety) scenario
        return None
    headers = (("content-type", scenario.content_type),)
    body = scenario.served(case.requests)[1]
    return HttpMessage(f"HTTP {scenario.http_status}", headers, r(body))


def named(params: list[Param], name: str) -> list[Param]:
    """Parameters called ``name`` in any letter case (the name is judged apart)."""
    return [p for p in params if p.name.lower() == name.lower()]


_WIRE = ("status", "statusCode", "reason", "apiKey")


def _printed(case: Case) -> str:
    out = case.output
    if out is None:
        return ""
    stderr = out.stderr.strip().splitlines()[-3:]
    tail = f"; stderr: {' / '.join(stderr)}" if stderr else ""
    return f"{out.stdout.strip()[:600] or '(nothing)'} (exit {out.exit_code}{tail})"


def _assess(case: Case, raw: bool) -> tuple[str, str]:
    out, served = case.output, case.served
    assert served is not None and out is not None
    record, body = served
    if raw:
        same = out.stdout.rstrip() == body.rstrip()
        return ("ok" if same else "wrong"), _printed(case)
    try:
        data = json.loads(out.stdout)
    except ValueError:
        return "wrong", f"not one JSON object: {_printed(case)}"
    if not isinstance(data, dict):
        return "wrong", f"not one JSON object: {_printed(case)}"
    key = data.get("apiKey")
    served_key = (record.api_key or "").lower()
    if isinstance(key, str) and KEY_SHAPE.fullmatch(key) and key.lower() != served_key:
        # A key not served, or not the last one: its user drops the key that works.
        # A garbled one (an undecoded reference) is a misreading, judged as one.
        chain = case.scenario.chain if isinstance(case.scenario, Scenario) else None
        if chain is not None and key in (chain.first_key, *chain.issued):
            return "lie", f"a key the last rotation revoked (a stale one): {_printed(case)}"
        return "lie", f"a key that was not served: {_printed(case)}"
    if not record.is_success and data.get("status") == "success":
        return "lie", f"an error reported as a success: {_printed(case)}"
    reported = {name: data[name] for name in _WIRE if name in data}
    return ("ok" if reported == record.as_dict() else "wrong"), _printed(case)


def served_record(case: Case) -> str:
    assert case.served is not None
    return json.dumps(case.served[0].as_dict())


def expected_output(ctx: ClientContext, case: Case) -> str:
    """What the command should have printed: the body (--raw) or the record."""
    assert case.served is not None
    return case.served[1] if ctx.raw else served_record(case)


def judged_cases(ctx: ClientContext) -> Iterator[Case]:
    return (c for c in ctx.cases if c.error is None and c.output is not None and c.scenario)


def reproduction(command: str, raw: bool, auth: Auth | None, seed: int, formats: str = "") -> str:
    """The command line that replays the run (secrets come from the scenarios);
    ``auth`` None: both ways of authenticating, the default."""
    flags = (" --raw" if raw else "") + (f" --auth {auth.value}" if auth is not None else "")
    flags += f" --formats {formats}" if formats else ""
    return f"regenkey check-client --command {shlex.quote(command)}{flags} --seed {seed}"
