"""``junit.xml``: one testsuite, one testcase per requirement.

NON-STRICT is no JUnit outcome, and every CI reads ``<skipped>`` as green, so
an unjudged selected MUST (INCOMPLETE) is an ``<error>`` of its own type.
The totals read the one :attr:`RunResult.verdict`, as report.json and the
HTML do. See ``docs/REPORTS.md``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from enum import StrEnum

from conformance.judging.redaction import Redactor
from conformance.judging.results import RequirementResult, RunResult, Status, Verdict
from conformance.reporting.document import kit_doc
from conformance.reporting.text import Clean, cleaner, first_line, format_failure, redact_failure


class Outcome(StrEnum):
    """What a testcase counts as in the totals of its testsuite."""

    FAILURE = "failure"
    SKIPPED = "skipped"
    ERROR = "error"


def _kit_properties() -> list[tuple[str, str]]:
    return [(f"kit_{name}" if name == "version" else name, v) for name, v in kit_doc().items()]


def _failures_text(req: RequirementResult, redactor: Clean) -> str:
    texts = [format_failure(redact_failure(f, redactor), req.level) for f in req.failures]
    return redactor("\n\n".join(texts))


def _case_properties(case: ET.Element, req: RequirementResult) -> None:
    """NON-STRICT is no JUnit outcome: a ``verdict`` property says it (issue 18)."""
    if req.status is Status.NON_STRICT:
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="verdict", value=Status.NON_STRICT.value)


def _testcase(
    parent: ET.Element, result: RunResult, req: RequirementResult, r: Clean, unjudged: set[str]
) -> Outcome | None:
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
        node = ET.SubElement(case, "failure", message=f"{word}: {first_line(first)}", type=word)
        node.text = _failures_text(req, r)
        return Outcome.FAILURE
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
            message=f"INCOMPLETE: not judged: {first_line(reason)}",
            type="INCOMPLETE",
        )
        node.text = reason
        return Outcome.ERROR
    if req.status is Status.SKIP:
        reason = r("; ".join(req.skip_reasons)) or "no check ran"
        ET.SubElement(case, "skipped", message=reason)
        return Outcome.SKIPPED
    if req.status is Status.ERROR:
        text = r("\n".join(req.errors))
        node = ET.SubElement(case, "error", message=first_line(text), type="ERROR")
        node.text = text
        return Outcome.ERROR
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
    counts: Counter[Outcome] = Counter()
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
        counts[Outcome.ERROR] += 1
    for n, fault in enumerate(result.run_failures, 1):
        case = ET.SubElement(
            suite, "testcase", classname=r(f"regenkey.{result.suite}"), name=f"run fault {n}"
        )
        node = ET.SubElement(case, "failure", message=r(first_line(fault)), type="FAIL")
        node.text = r(fault)
        counts[Outcome.FAILURE] += 1
    attrs = {
        "tests": str(len(suite.findall("testcase"))),
        "failures": str(counts[Outcome.FAILURE]),
        "errors": str(counts[Outcome.ERROR]),
        "skipped": str(counts[Outcome.SKIPPED]),
        "time": f"{result.duration_s:.3f}",
    }
    for element in (suites, suite):
        for key, value in attrs.items():
            element.set(key, value)
    ET.indent(suites)
    data: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
