"""What the suite commands share on the terminal: arguments checked the same
way, the same progress lines, and the same per-requirement summary."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from conformance import Redactor, catalogue
from conformance.reports import format_failure
from conformance.results import RunResult, Status

WORDS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NON_STRICT: "NON-STRICT",
         Status.SKIP: "SKIP", Status.ERROR: "ERROR"}  # fmt: skip
SHOWN_FAILURES = 3


def unknown_ids(ids: list[str] | None) -> str | None:
    """A usage problem when ``--req`` names ids the catalogue does not have."""
    known = {r.id for r in catalogue()}
    unknown = [r for r in ids or [] if r not in known]
    return f"unknown requirement id(s): {', '.join(unknown)}" if unknown else None


def new_seed(given: int | None) -> int:
    return given if given is not None else random.SystemRandom().randrange(2**32)


def report_dir(given: Path | None) -> Path:
    return given or Path("reports") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def progress_printer(redactor: Redactor) -> Callable[[int, int, str, str], None]:
    def progress(n: int, total: int, name: str, outcome: str) -> None:
        print(f"  [{n:>2}/{total}] {name} ... {redactor(outcome)}", flush=True)

    return progress


def print_summary(result: RunResult, redactor: Redactor, what: str = "requests") -> None:
    """Failures h2spec-style, then one line per requirement, then the verdict."""
    for req in result.ordered():
        for failure in req.failures[:SHOWN_FAILURES]:
            print(redactor(format_failure(failure, req.level)))
        if len(req.failures) > SHOWN_FAILURES:
            more = len(req.failures) - SHOWN_FAILURES
            print(f"  ... and {more} more for {req.id} (see the reports)")
    print("\nRequirements:")
    for req in result.ordered():
        note = f" ({req.checks_run} checked)" if req.checks_run else ""
        if req.status is Status.SKIP and req.skip_reasons:
            note = f" ({redactor(req.skip_reasons[0])})"
        if req.status is Status.ERROR and req.errors:
            note = f" ({redactor(req.errors[0])})"
        print(f"  {WORDS[req.status]:<10} {req.id} [{req.level}] {req.title}{note}")
    counts = {s: sum(r.status is s for r in result.requirements.values()) for s in Status}
    tally = ", ".join(f"{n} {WORDS[s].lower()}" for s, n in counts.items() if n)
    print(f"\n{result.cases} {what}, seed {result.seed}: {tally}")
    # ERROR when nothing failed but the kit or the target broke (exit 2): a run
    # that could not judge must not read as a pass.
    verdict = "ERROR" if result.exit_code() == 2 else result.verdict.upper()
    print(f"Verdict: {verdict}{' (strict)' if result.strict else ''}")
