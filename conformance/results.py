"""What a run found: one shared model for the server and the client suites.

Verdict words follow h2spec: PASS, FAIL (a MUST broke), NON-STRICT (a SHOULD
broke; fails the run only with ``--strict``), SKIP (with a reason), ERROR (the
kit or the network broke; never counted against the implementation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from conformance.catalogue import Level, catalogue, requirement


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict word, not a password)
    FAIL = "fail"
    NON_STRICT = "non-strict"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True)
class HttpMessage:
    """A request or response as sent or received, secrets already redacted."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str


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

    @property
    def verdict(self) -> str:
        """'pass' or 'fail': a MUST failed, or with --strict a SHOULD too."""
        for result in self.requirements.values():
            if result.status is Status.FAIL:
                return "fail"
            if self.strict and result.status is Status.NON_STRICT:
                return "fail"
        return "pass"

    @property
    def has_errors(self) -> bool:
        return any(r.status is Status.ERROR for r in self.requirements.values())

    def exit_code(self) -> int:
        """0 conformant, 1 not conformant, 2 the kit or network broke."""
        if self.verdict == "fail":
            return 1
        return 2 if self.has_errors else 0
