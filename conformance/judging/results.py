"""What a run found: one shared model for the server and the client suites.

Verdict words follow h2spec: PASS, FAIL (a MUST broke), NON-STRICT (a SHOULD
broke; fails the run only with ``--strict``), SKIP (with a reason), ERROR (the
kit or the network broke; never counted against the implementation).

A run has one verdict, :attr:`RunResult.verdict`, and every writer (the
terminal, report.json, junit.xml, report.html) and the exit code read it:
FAIL over ERROR over INCOMPLETE over PASS (docs/REPORTS.md says why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase

from conformance.spec.catalogue import Level, catalogue, requirement


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict word, not a password)
    FAIL = "fail"
    NON_STRICT = "non-strict"
    SKIP = "skip"
    ERROR = "error"


class Verdict(StrEnum):
    """The verdict of a whole run, in order of precedence (the first that holds wins)."""

    FAIL = "fail"
    ERROR = "error"
    INCOMPLETE = "incomplete"
    PASS = "pass"  # noqa: S105 (a verdict word, not a password)


EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.INCOMPLETE: 2, Verdict.ERROR: 2}


def matches(rid: str, patterns: Iterable[str]) -> bool:
    """Whether ``rid`` is named by one of ``patterns`` (ids, globs, or ``all``)."""
    return any(p == "all" or fnmatchcase(rid, p) for p in patterns)


@dataclass(frozen=True)
class HttpMessage:
    """A request or response as sent or received, secrets already redacted."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True)
class Step:
    """One request of a failed check's sequence, as a replay script sends it.

    ``command`` is a curl line whose secrets are variables: ``$REGENKEY_PASSWORD``,
    ``$REGENKEY_API_KEY`` (the key current when the check started) and ``$KEY_<n>``
    (the key step ``n`` was answered with). ``expect_key`` is what a conformant
    server answers: True a new key, False a refusal, None not judged by the script."""

    command: str
    expected: str
    expect_key: bool | None
    issues: str = ""  # the variable this step's new key is read into ("KEY_3"), or ""


@dataclass(frozen=True)
class Failure:
    """One broken requirement, as h2spec reports it."""

    requirement_id: str
    check: str
    message: str
    expected: str
    actual: str
    request: HttpMessage | None = None
    response: HttpMessage | None = None
    reproduction: str = ""
    seed: int | None = None
    # A failure that needed several requests (the key lifecycle): every request
    # the check sent up to it, replayed by reports as ``reproduce-<n>.sh``.
    sequence: tuple[Step, ...] = ()


@dataclass
class RequirementResult:
    id: str
    level: Level
    title: str
    status: Status = Status.SKIP
    checks_run: int = 0
    failures: list[Failure] = field(default_factory=list)
    skip_reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # The ids whose failure (or lack of a verdict) kept a check of this one
    # from running: the root causes a report shows first.
    blocked_by: list[str] = field(default_factory=list)
    time_s: float = 0.0  # seconds the checks that judged it took


@dataclass
class RunResult:
    """Everything one run of a suite found."""

    suite: str
    target: str
    seed: int
    strict: bool
    requirements: dict[str, RequirementResult] = field(default_factory=dict)
    checks: dict[str, Status] = field(default_factory=dict)
    cases: int = 0
    duration_s: float = 0.0
    started: datetime | None = None
    # What the run was asked to judge, by dimension, e.g. check-client's
    # {"formats": ["json"], "auth": ["credentials", "key"]}; empty: everything.
    scope: dict[str, list[str]] = field(default_factory=dict)
    # Selected MUSTs that may end unjudged (SKIP) without making the run
    # INCOMPLETE: ids, globs (RK-ROT-*) or "all" (--allow-skip).
    allowed_skips: frozenset[str] = frozenset()
    # Faults of the run as a whole, outside any requirement (replay: spec
    # drift); any of them makes the run FAIL.
    run_failures: list[str] = field(default_factory=list)
    # check-client: scenario name -> requirement id -> the verdict that
    # scenario earned (conformance/reporting/matrix.py renders it); empty
    # for the other suites.
    matrix: dict[str, dict[str, Status]] = field(default_factory=dict)

    def result_for(self, rid: str) -> RequirementResult:
        if rid not in self.requirements:
            req = requirement(rid)
            self.requirements[rid] = RequirementResult(rid, req.level, req.title)
        return self.requirements[rid]

    def record_pass(self, rid: str) -> None:
        self.result_for(rid).checks_run += 1

    def record_failure(self, failure: Failure) -> None:
        result = self.result_for(failure.requirement_id)
        result.checks_run += 1
        result.failures.append(failure)

    def record_skip(self, rid: str, reason: str) -> None:
        self.result_for(rid).skip_reasons.append(reason)

    def record_blocked(self, rid: str, reason: str, causes: Iterable[str]) -> None:
        """A SKIP because ``causes`` failed or could not be judged."""
        result = self.result_for(rid)
        result.skip_reasons.append(reason)
        result.blocked_by += [c for c in causes if c not in result.blocked_by]

    def record_error(self, rid: str, message: str) -> None:
        self.result_for(rid).errors.append(message)

    def finish(self) -> None:
        """Settle each requirement's status from what was recorded."""
        for result in self.requirements.values():
            if result.failures:
                broken_should = result.level is not Level.MUST
                result.status = Status.NON_STRICT if broken_should else Status.FAIL
            elif result.errors:
                result.status = Status.ERROR
            elif result.checks_run:
                result.status = Status.PASS
            else:
                result.status = Status.SKIP

    def ordered(self) -> list[RequirementResult]:
        order = {req.id: n for n, req in enumerate(catalogue())}
        return sorted(self.requirements.values(), key=lambda r: order[r.id])

    def unjudged(self) -> list[RequirementResult]:
        """Selected MUSTs that ended SKIP and are not allowed to: INCOMPLETE."""
        return [
            r
            for r in self.ordered()
            if r.status is Status.SKIP
            and r.level is Level.MUST
            and not matches(r.id, self.allowed_skips)
        ]

    @property
    def verdict(self) -> Verdict:
        """The run's one verdict, first match wins:

        FAIL        a MUST failed (with --strict a SHOULD too), or a run failure;
        ERROR       the kit or the target broke for some requirement;
        INCOMPLETE  a selected MUST was not judged (unless allowed), or nothing was;
        PASS        otherwise.
        """
        statuses = {r.status for r in self.requirements.values()}
        if Status.FAIL in statuses or self.run_failures:
            return Verdict.FAIL
        if self.strict and Status.NON_STRICT in statuses:
            return Verdict.FAIL
        if Status.ERROR in statuses:
            return Verdict.ERROR
        if not self.requirements or self.unjudged():
            return Verdict.INCOMPLETE
        return Verdict.PASS

    @property
    def has_errors(self) -> bool:
        return any(r.status is Status.ERROR for r in self.requirements.values())

    def exit_code(self) -> int:
        """0 PASS, 1 FAIL, 2 INCOMPLETE or ERROR (never green)."""
        return EXIT_CODES[self.verdict]
