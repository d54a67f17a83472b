"""Write what a run found: ``report.json``, ``junit.xml`` and ``report.html``.

Every string that reaches a file passes through the run's :class:`Redactor`
once more, as a last line of defence, even though the checks redact what they
record. Each file is written atomically (temporary file in the same
directory, mode 0600, fsync, ``os.replace``), so a reader never sees half a
report and a symlink planted at a report's name is replaced, never followed.
Characters a format cannot carry (C0/C1 controls, lone surrogates) are
written as visible escapes (``\\x1b``) by :func:`printable`, which the
terminal uses too. All three files read the one :attr:`RunResult.verdict`.
See ``docs/REPORTS.md``.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from conformance.judging.redaction import Redactor
from conformance.judging.results import (
    Failure,
    HttpMessage,
    RequirementResult,
    RunResult,
    Status,
    Verdict,
)
from conformance.reporting import html as report_html_body
from conformance.reporting import scripts as report_scripts
from conformance.reporting.text import (
    Clean,
    cleaner,
    redact_failure,
)
from conformance.spec.catalogue import Level, is_known, kit_identity, requirement

SCHEMA_ID = "regenkey-report/1"
FILES = {"json": "report.json", "junit": "junit.xml", "html": "report.html"}


@cache
def _schema_text() -> str:
    return (files("conformance.reporting") / "report.schema.json").read_text(encoding="utf-8")


def report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) that every ``report.json`` validates against."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


# -- text --------------------------------------------------------------------


def _title(rid: str) -> str:
    return requirement(rid).title if is_known(rid) else ""


def _indented(text: str, indent: str) -> str:
    """Continuation lines of a multi-line value line up under the first."""
    return text.replace("\n", "\n" + indent)


def format_failure(failure: Failure, level: Level | str) -> str:
    """One failure as h2spec prints it; used by the terminal and by JUnit."""
    level_word = level.value if isinstance(level, Level) else str(level)
    head = f"{failure.requirement_id} [{level_word}] {_title(failure.requirement_id)}"
    if failure.check:
        head += f"  (check: {failure.check})"
    lines = [head.rstrip(), "  " + _indented(failure.message, "  ")]
    lines.append("  Expected: " + _indented(failure.expected, " " * 12))
    lines.append("    Actual: " + _indented(failure.actual, " " * 12))
    if failure.request is not None:
        lines.append(f"  Request:  {failure.request.start_line}")
    if failure.reproduction:
        seed = f"  (seed {failure.seed})" if failure.seed is not None else ""
        lines.append(f"  Reproduce: {failure.reproduction}{seed}")
    return "\n".join(lines)


# -- report.json --------------------------------------------------------------


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


def _started(result: RunResult) -> str | None:
    return result.started.isoformat() if result.started is not None else None


def _summary(result: RunResult) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for req in result.requirements.values():
        counts[req.status.value] += 1
    return counts


def _kit_doc() -> dict[str, str]:
    """What judged the run (issue 18): the kit, the catalogue, the spec's digest."""
    kit = kit_identity()
    return {
        "version": kit.version,
        "catalogue_version": kit.catalogue_version,
        "spec_sha256": kit.spec_sha256,
    }


def _kit_properties() -> list[tuple[str, str]]:
    return [(f"kit_{name}" if name == "version" else name, v) for name, v in _kit_doc().items()]


def _kit_html() -> str:
    kit = kit_identity()
    return (
        f'<p class="kit">Judged by regenkey-kit <code>{_e(kit.version)}</code> &middot; '
        f"catalogue <code>{_e(kit.catalogue_version)}</code> &middot; "
        f"spec sha256 <code>{_e(kit.spec_sha256)}</code></p>"
    )


def report_document(result: RunResult, redactor: Redactor) -> dict[str, Any]:
    """The ``report.json`` document, requirements in catalogue order."""
    started = _started(result)
    scripts = report_scripts.script_names(result)
    return {
        "schema": SCHEMA_ID,
        "kit": _kit_doc(),
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
        "summary": _summary(result),
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


# -- junit.xml ---------------------------------------------------------------


def _failures_text(req: RequirementResult, redactor: Clean) -> str:
    texts = [format_failure(redact_failure(f, redactor), req.level) for f in req.failures]
    return redactor("\n\n".join(texts))


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _case_properties(case: ET.Element, req: RequirementResult) -> None:
    """NON-STRICT is no JUnit outcome: a ``verdict`` property says it (issue 18)."""
    if req.status is Status.NON_STRICT:
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="verdict", value=Status.NON_STRICT.value)


def _testcase(
    parent: ET.Element, result: RunResult, req: RequirementResult, r: Clean, unjudged: set[str]
) -> str | None:
    """Add one requirement's testcase; return the JUnit outcome it counts as."""
    case = ET.SubElement(
        parent,
        "testcase",
        classname=r(f"regenkey.{result.suite}"),
        name=r(f"{req.id} {req.title}"),
        time=f"{req.time_s:.3f}",
    )
    _case_properties(case, req)
    failing = req.status is Status.FAIL or (req.status is Status.NON_STRICT and result.strict)
    if failing:
        word = "FAIL" if req.status is Status.FAIL else "NON-STRICT"
        first = r(req.failures[0].message) if req.failures else ""
        node = ET.SubElement(case, "failure", message=f"{word}: {_first_line(first)}", type=word)
        node.text = _failures_text(req, r)
        return "failure"
    if req.status is Status.NON_STRICT:
        ET.SubElement(case, "system-out").text = "NON-STRICT: " + _failures_text(req, r)
        return None
    if req.id in unjudged:
        # A selected MUST not judged: INCOMPLETE. JUnit has no such outcome and
        # every CI reads <skipped> as green, so it is an error of its own type.
        reason = r("; ".join(req.skip_reasons)) or "no check ran"
        node = ET.SubElement(
            case,
            "error",
            message=f"INCOMPLETE: not judged: {_first_line(reason)}",
            type="INCOMPLETE",
        )
        node.text = reason
        return "error"
    if req.status is Status.SKIP:
        reason = r("; ".join(req.skip_reasons)) or "no check ran"
        ET.SubElement(case, "skipped", message=reason)
        return "skipped"
    if req.status is Status.ERROR:
        text = r("\n".join(req.errors))
        node = ET.SubElement(case, "error", message=_first_line(text), type="ERROR")
        node.text = text
        return "error"
    return None


def junit_xml(result: RunResult, redactor: Redactor) -> bytes:
    """The JUnit XML report: one testsuite, one testcase per requirement (and
    one per fault of the run as a whole). Totals agree with the verdict: FAIL
    has failures, ERROR and INCOMPLETE have errors (of type ERROR, resp.
    INCOMPLETE) and no failures, PASS has neither."""
    r = cleaner(redactor)
    suites = ET.Element("testsuites", name="regenkey")
    suite = ET.SubElement(suites, "testsuite", name=r(f"regenkey {result.suite}"))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("seed", str(result.seed)),
        ("target", result.target),
        ("strict", str(result.strict).lower()),
        ("verdict", result.verdict.value),
        *_kit_properties(),
    ):
        ET.SubElement(props, "property", name=name, value=r(value))
    counts = {"failure": 0, "skipped": 0, "error": 0}
    ordered = result.ordered()
    unjudged = {req.id for req in result.unjudged()}
    for req in ordered:
        outcome = _testcase(suite, result, req, r, unjudged)
        if outcome is not None:
            counts[outcome] += 1
    if not ordered and result.verdict is Verdict.INCOMPLETE:
        case = ET.SubElement(
            suite, "testcase", classname=r(f"regenkey.{result.suite}"), name="nothing judged"
        )
        ET.SubElement(
            case, "error", message="INCOMPLETE: no requirement was judged", type="INCOMPLETE"
        )
        counts["error"] += 1
    for n, fault in enumerate(result.run_failures, 1):
        case = ET.SubElement(
            suite, "testcase", classname=r(f"regenkey.{result.suite}"), name=f"run fault {n}"
        )
        node = ET.SubElement(case, "failure", message=r(_first_line(fault)), type="FAIL")
        node.text = r(fault)
        counts["failure"] += 1
    attrs = {
        "tests": str(len(suite.findall("testcase"))),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{result.duration_s:.3f}",
    }
    for element in (suites, suite):
        for key, value in attrs.items():
            element.set(key, value)
    ET.indent(suites)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


# -- report.html -------------------------------------------------------------


def _e(text: str) -> str:
    return report_html_body.e(text)


def report_html(result: RunResult, redactor: Redactor) -> str:
    """A standalone HTML page: no network resources, everything escaped."""
    r = redactor
    summary = _summary(result)
    counts = ", ".join(f"{n} {word.upper()}" for word, n in summary.items())
    body = report_html_body.report_body(result, r, report_scripts.script_names(result))
    suite = _e(r(result.suite))
    verdict = _e(result.verdict.value)
    faults = "".join(f"<p>Run fault: {_e(r(f))}</p>" for f in result.run_failures)
    unjudged = [req.id for req in result.unjudged()]
    if unjudged and result.verdict is Verdict.INCOMPLETE:
        faults += f"<p>Not judged (INCOMPLETE): {_e(', '.join(unjudged))}</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>regenkey {suite} report</title>
<style>{report_html_body.CSS}</style></head>
<body>
<h1>regenkey {suite} suite: <span class="verdict-{verdict}">{verdict.upper()}</span></h1>
<p>Target: <code>{_e(r(result.target))}</code> &middot; seed <code>{result.seed}</code>
&middot; strict: {"yes" if result.strict else "no"} &middot; {result.cases} cases
&middot; {result.duration_s:.2f} s</p>
{_kit_html()}
<p>{_e(counts)}</p>
{faults}
{body}
</body></html>
"""


# -- writing -----------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_reports(result: RunResult, directory: Path, redactor: Redactor) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html; return them by kind."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = json.dumps(report_document(result, redactor), indent=2, ensure_ascii=False)
    contents = {
        # A lone surrogate (no UTF-8 form) becomes its JSON escape \udcxx: lossless.
        "json": (document + "\n").encode("utf-8", "backslashreplace"),
        "junit": junit_xml(result, redactor),
        "html": report_html(result, redactor).encode("utf-8"),
    }
    written: dict[str, Path] = {}
    for kind, data in contents.items():
        path = directory / FILES[kind]
        _write_atomically(path, data)
        written[kind] = path
    for name, script in report_scripts.replay_scripts(result, cleaner(redactor)).items():
        path = directory / name  # beside report.html, which links to it
        _write_atomically(path, script.encode("utf-8", "backslashreplace"))
        path.chmod(0o700)
        written[name] = path
    return written
