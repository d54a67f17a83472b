"""``report.json``: the document (requirements in catalogue order) and its schema.

Every string that reaches the document passes through the run's
:class:`Redactor` once more, as a last line of defence, even though the checks
redact what they record. The document reads the one :attr:`RunResult.verdict`,
as JUnit (:mod:`conformance.reporting.junit`) and the HTML
(:mod:`conformance.reporting.html`) do. See ``docs/REPORTS.md``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult, Status
from conformance.reporting import scripts as report_scripts
from conformance.reporting.matrix import matrix_doc
from conformance.reporting.text import redact_failure
from conformance.spec.catalogue import kit_identity

SCHEMA_ID = "regenkey-report/1"


@cache
def _schema_text() -> str:
    return (files("conformance.reporting") / "report.schema.json").read_text(encoding="utf-8")


def report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) that every ``report.json`` validates against."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def status_counts(result: RunResult) -> dict[str, int]:
    """How many requirements ended in each status, every status named."""
    counts = {status.value: 0 for status in Status}
    for req in result.requirements.values():
        counts[req.status.value] += 1
    return counts


def kit_doc() -> dict[str, str]:
    """What judged the run (issue 18): the kit, the catalogue, the spec's digest."""
    kit = kit_identity()
    return {
        "version": kit.version,
        "catalogue_version": kit.catalogue_version,
        "spec_sha256": kit.spec_sha256,
    }


def _message_doc(message: HttpMessage | None) -> dict[str, Any] | None:
    if message is None:
        return None
    return {
        "start_line": message.start_line,
        "headers": [[name, value] for name, value in message.headers],
        "body": message.body,
    }


def _failure_doc(failure: Failure, script: str | None = None) -> dict[str, Any]:
    return {
        "requirement_id": failure.requirement_id,
        "check": failure.check,
        "message": failure.message,
        "expected": failure.expected,
        "actual": failure.actual,
        "request": _message_doc(failure.request),
        "response": _message_doc(failure.response),
        "reproduction": failure.reproduction,
        "seed": failure.seed,
        "script": script,
    }


def report_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The ``report.json`` document, requirements in catalogue order."""
    started = result.started.isoformat() if result.started is not None else None
    scripts = report_scripts.script_names(result)
    return {
        "schema": SCHEMA_ID,
        "kit": kit_doc(),
        "suite": redactor(result.suite),
        "verdict": result.verdict.value,
        "unjudged": [r.id for r in result.unjudged()],
        "allowed_skips": sorted(result.allowed_skips),
        "run_failures": [redactor(f) for f in result.run_failures],
        "seed": result.seed,
        "target": redactor(result.target),
        "strict": result.strict,
        "started": redactor(started) if started is not None else None,
        "duration_s": round(result.duration_s, 6),
        "cases": result.cases,
        **({"matrix": matrix_doc(result, redactor)} if result.matrix else {}),
        "summary": status_counts(result),
        "requirements": [
            {
                "id": req.id,
                "level": req.level.value,
                "title": redactor(req.title),
                "status": req.status.value,
                "checks_run": req.checks_run,
                "failures": [
                    _failure_doc(redact_failure(f, redactor), scripts.get(id(f)))
                    for f in req.failures
                ],
                "skip_reasons": [redactor(s) for s in req.skip_reasons],
                "errors": [redactor(e) for e in req.errors],
                "blocked_by": list(req.blocked_by),
                "time_s": round(req.time_s, 6),
            }
            for req in result.ordered()
        ],
    }


def report_json(result: RunResult, redactor: Redactor) -> bytes:
    """``report.json`` as written: indented UTF-8, a lone surrogate (no UTF-8
    form) as its JSON escape ``\\udcxx`` (lossless)."""
    document = json.dumps(report_document(result, redactor), indent=2, ensure_ascii=False)
    return (document + "\n").encode("utf-8", "backslashreplace")
