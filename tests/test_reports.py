"""The report writers: report.json, junit.xml and report.html."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

import pytest
from jsonschema import Draft202012Validator

from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult, Status
from conformance.reporting.document import report_document, report_schema
from conformance.reporting.files import write_reports
from conformance.reporting.junit import junit_xml
from conformance.reporting.text import format_failure
from conformance.spec.catalogue import Level

PASSWORD = "Canary-P4ss word&=%"
KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"
TARGET = "http://127.0.0.1:8080"
OTHER_KEY = "0123456789abcdef0123456789abcdef"  # key-shaped, not a configured secret


def _request(body: str = "userId=alice&format=json") -> HttpMessage:
    return HttpMessage(
        "POST /SMSApi/rest/regenerateAPIKey HTTP/1.1",
        (("Content-Type", "application/x-www-form-urlencoded"), ("Host", "127.0.0.1")),
        body,
    )


def _response() -> HttpMessage:
    return HttpMessage(
        "HTTP/1.1 200 OK", (("Content-Type", "application/json"),), '{"status": "success"}'
    )


def _failure(rid: str, check: str, message: str = "a key was served", **kw: object) -> Failure:
    fields: dict[str, object] = {
        "expected": "an error response with status=error",
        "actual": "HTTP 200 with a key",
        "request": _request(),
        "response": _response(),
        "reproduction": f"curl -sS -X POST {TARGET}/SMSApi/rest/regenerateAPIKey",
        "seed": 42,
    }
    fields.update(kw)
    return Failure(rid, check, message, **fields)  # type: ignore[arg-type]


def _run(strict: bool = False) -> RunResult:
    """One of each: FAIL (MUST), NON-STRICT (SHOULD), PASS, SKIP, ERROR."""
    result = RunResult("server", TARGET, seed=42, strict=strict, cases=17, duration_s=1.5)
    # Recorded out of catalogue order on purpose.
    result.record_pass("RK-KEY-001")
    result.record_failure(_failure("RK-KEY-002", "key_is_random_uuid", "not a v4 UUID"))
    result.record_pass("RK-FMT-005")
    result.record_failure(
        _failure("RK-FMT-005", "media_type_matches", "text/html for format=json", seed=None)
    )
    result.record_failure(_failure("RK-AUTH-004", "unauthenticated_request_is_refused"))
    result.record_pass("RK-AUTH-001")
    result.record_skip("RK-AUTH-009", "the target refuses header and credentials together")
    result.record_error("RK-ROT-005", "connection reset by peer")
    result.finish()
    return result


STATUSES = {
    "RK-AUTH-001": "pass",
    "RK-AUTH-004": "fail",
    "RK-AUTH-009": "skip",
    "RK-FMT-005": "non-strict",
    "RK-KEY-001": "pass",
    "RK-KEY-002": "non-strict",
    "RK-ROT-005": "error",
}


def _validate(document: object) -> None:
    validator = Draft202012Validator(report_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


# -- report.json -------------------------------------------------------------


def test_schema_is_valid_2020_12() -> None:
    schema = report_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_report_json_validates_and_carries_the_run(tmp_path: Path) -> None:
    result = _run()
    paths = write_reports(result, tmp_path / "out", Redactor())
    assert set(paths) == {"json", "junit", "html"}
    assert {p.name for p in paths.values()} == {"report.json", "junit.xml", "report.html"}
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    _validate(document)
    assert document["schema"] == "regenkey-report/1"
    assert document["suite"] == "server"
    assert document["verdict"] == "fail"  # RK-AUTH-004 is a MUST
    assert document["seed"] == 42
    assert document["target"] == TARGET
    assert document["strict"] is False
    assert document["cases"] == 17
    assert document["duration_s"] == pytest.approx(1.5)
    assert {r["id"]: r["status"] for r in document["requirements"]} == STATUSES
    assert document["summary"] == {"pass": 2, "fail": 1, "non-strict": 2, "skip": 1, "error": 1}


def test_verdict_follows_must_and_strict() -> None:
    assert report_document(_run(), Redactor())["verdict"] == "fail"  # RK-AUTH-004 is a MUST
    only_should = RunResult("server", TARGET, seed=1, strict=False)
    only_should.record_failure(_failure("RK-FMT-005", "media_type_matches"))
    only_should.finish()
    assert report_document(only_should, Redactor())["verdict"] == "pass"
    only_should.strict = True
    assert report_document(only_should, Redactor())["verdict"] == "fail"


def test_requirements_are_in_catalogue_order() -> None:
    ids = [r["id"] for r in report_document(_run(), Redactor())["requirements"]]
    assert ids == [
        "RK-AUTH-001", "RK-AUTH-004", "RK-AUTH-009", "RK-FMT-005",
        "RK-KEY-001", "RK-KEY-002", "RK-ROT-005",
    ]  # fmt: skip


def test_failure_fields_in_json() -> None:
    document = report_document(_run(), Redactor())
    auth = next(r for r in document["requirements"] if r["id"] == "RK-AUTH-004")
    assert auth["level"] == "MUST"
    assert auth["title"] == "no credentials, no key"
    assert auth["checks_run"] == 1
    (failure,) = auth["failures"]
    assert failure["check"] == "unauthenticated_request_is_refused"
    assert failure["request"]["start_line"].startswith("POST ")
    assert failure["request"]["headers"][0] == ["Content-Type", "application/x-www-form-urlencoded"]
    assert failure["response"]["body"] == '{"status": "success"}'
    assert failure["seed"] == 42
    skip = next(r for r in document["requirements"] if r["id"] == "RK-AUTH-009")
    assert skip["skip_reasons"] == ["the target refuses header and credentials together"]
    error = next(r for r in document["requirements"] if r["id"] == "RK-ROT-005")
    assert error["errors"] == ["connection reset by peer"]


def test_failure_without_messages_validates() -> None:
    result = RunResult("client", "regenkey-client --x", seed=0, strict=False)
    result.record_failure(Failure("RK-CLI-002", "", "error taken as success", "exit 1", "exit 0"))
    result.finish()
    document = report_document(result, Redactor())
    _validate(document)
    (failure,) = document["requirements"][0]["failures"]
    assert failure["request"] is None and failure["response"] is None
    assert failure["seed"] is None


def test_empty_run_validates_and_is_incomplete() -> None:
    # A run that judged nothing is never PASS.
    result = RunResult("server", TARGET, seed=0, strict=True)
    result.finish()
    document = report_document(result, Redactor())
    _validate(document)
    assert document["verdict"] == "incomplete"
    assert document["requirements"] == []
    assert result.exit_code() == 2


def _judged(*statuses: tuple[str, str]) -> RunResult:
    """A run with one requirement per (id, outcome): pass, fail, skip or error."""
    result = RunResult("server", TARGET, seed=0, strict=False)
    for rid, outcome in statuses:
        if outcome == "pass":
            result.record_pass(rid)
        elif outcome == "fail":
            result.record_failure(_failure(rid, "a_check"))
        elif outcome == "skip":
            result.record_skip(rid, "blocked")
        else:
            result.record_error(rid, "connection reset")
    result.finish()
    return result


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((("RK-AUTH-001", "pass"),), "pass"),
        ((("RK-AUTH-001", "pass"), ("RK-AUTH-004", "fail")), "fail"),
        # FAIL over ERROR: what was judged broken is broken, whatever else broke.
        ((("RK-AUTH-004", "fail"), ("RK-ROT-005", "error")), "fail"),
        ((("RK-AUTH-004", "fail"), ("RK-ROT-002", "skip")), "fail"),
        # ERROR over INCOMPLETE: the kit or the target broke, never the implementation's fault.
        ((("RK-ROT-005", "error"), ("RK-ROT-002", "skip")), "error"),
        ((("RK-AUTH-001", "pass"), ("RK-ROT-002", "skip")), "incomplete"),
        # A skipped SHOULD or MAY leaves nothing unjudged that the run promised.
        ((("RK-AUTH-001", "pass"), ("RK-FMT-005", "skip"), ("RK-AUTH-009", "skip")), "pass"),
        ((("RK-AUTH-001", "pass"), ("RK-FMT-005", "fail")), "pass"),
    ],
)
def test_one_verdict_with_precedence(statuses: tuple[tuple[str, str], ...], verdict: str) -> None:
    result = _judged(*statuses)
    assert result.verdict == verdict
    assert result.exit_code() == {"pass": 0, "fail": 1, "incomplete": 2, "error": 2}[verdict]
    assert report_document(result, Redactor())["verdict"] == verdict


def test_allow_skip_takes_ids_globs_and_all() -> None:
    result = _judged(("RK-AUTH-001", "pass"), ("RK-ROT-002", "skip"), ("RK-ROT-003", "skip"))
    assert result.verdict == "incomplete"
    assert [r.id for r in result.unjudged()] == ["RK-ROT-002", "RK-ROT-003"]
    result.allowed_skips = frozenset({"RK-ROT-002"})
    assert result.verdict == "incomplete"
    result.allowed_skips = frozenset({"RK-ROT-*"})
    assert result.verdict == "pass" and result.exit_code() == 0
    result.allowed_skips = frozenset({"all"})
    assert result.verdict == "pass"


def test_run_failures_fail_the_run_in_every_writer(tmp_path: Path) -> None:
    result = _judged(("RK-JSON-001", "pass"))
    result.run_failures.append("DRIFT exchange 3: recorded as valid, judged now as RK-JSON-002")
    assert result.verdict == "fail" and result.exit_code() == 1
    paths = write_reports(result, tmp_path, Redactor())
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    _validate(document)
    assert document["verdict"] == "fail" and document["run_failures"][0].startswith("DRIFT")
    suite = _suite(ET.parse(paths["junit"]).getroot())
    assert suite.attrib["failures"] == "1" and suite.attrib["tests"] == "2"
    assert "verdict-fail" in paths["html"].read_text(encoding="utf-8")


def test_junit_counts_an_unjudged_must_as_an_incomplete_error(tmp_path: Path) -> None:
    # Every CI reads <skipped> as green: an unjudged selected MUST must not be one.
    result = _judged(("RK-AUTH-001", "pass"), ("RK-ROT-002", "skip"), ("RK-FMT-005", "skip"))
    suite = _suite(ET.fromstring(junit_xml(result, Redactor())))
    assert (suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]) == (
        "0",
        "1",
        "1",
    )
    cases = _cases(suite)
    error = cases["RK-ROT-002"].find("error")
    assert error is not None and error.attrib["type"] == "INCOMPLETE"
    assert cases["RK-FMT-005"].find("skipped") is not None  # a SHOULD stays a skip
    result.allowed_skips = frozenset({"RK-ROT-002"})
    suite = _suite(ET.fromstring(junit_xml(result, Redactor())))
    assert (suite.attrib["errors"], suite.attrib["skipped"]) == ("0", "2")


# -- format_failure ----------------------------------------------------------


def test_format_failure_is_h2spec_like() -> None:
    failure = _failure("RK-AUTH-004", "unauthenticated_request_is_refused")
    text = format_failure(failure, Level.MUST)
    lines = text.splitlines()
    assert lines[0] == (
        "RK-AUTH-004 [MUST] no credentials, no key  (check: unauthenticated_request_is_refused)"
    )
    assert lines[1] == "  a key was served"
    assert lines[2] == "  Expected: an error response with status=error"
    assert lines[3] == "    Actual: HTTP 200 with a key"
    assert lines[4] == "  Request:  POST /SMSApi/rest/regenerateAPIKey HTTP/1.1"
    assert lines[5].startswith("  Reproduce: curl ")
    assert lines[5].endswith("  (seed 42)")


def test_format_failure_omits_what_is_missing() -> None:
    failure = Failure("RK-KEY-002", "", "not random", "a v4 UUID", "sequential")
    text = format_failure(failure, Level.SHOULD)
    assert text.splitlines()[0] == "RK-KEY-002 [SHOULD] key is a random UUID"
    assert "Request:" not in text and "Reproduce:" not in text


def test_format_failure_indents_multiline_values() -> None:
    failure = Failure("RK-FMT-005", "c", "m", "line one\nline two", "x")
    text = format_failure(failure, Level.SHOULD)
    assert "  Expected: line one\n            line two" in text


# -- junit.xml ---------------------------------------------------------------


def _junit(tmp_path: Path, strict: bool) -> ET.Element:
    paths = write_reports(_run(strict=strict), tmp_path, Redactor())
    return ET.parse(paths["junit"]).getroot()


def _suite(root: ET.Element) -> ET.Element:
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    assert len(suites) == 1
    return suites[0]


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.attrib["name"].split(" ")[0]: c for c in suite.findall("testcase")}


def test_junit_parses_with_right_counts(tmp_path: Path) -> None:
    suite = _suite(_junit(tmp_path, strict=False))
    assert suite.attrib["name"] == "regenkey server"
    assert suite.attrib["tests"] == "7"
    assert suite.attrib["failures"] == "1"
    assert suite.attrib["errors"] == "1"
    assert suite.attrib["skipped"] == "1"
    assert len(suite.findall("testcase/failure")) == 1
    assert len(suite.findall("testcase/skipped")) == 1
    assert len(suite.findall("testcase/error")) == 1
    cases = _cases(suite)
    assert set(cases) == set(STATUSES)
    auth = cases["RK-AUTH-004"]
    assert auth.attrib["classname"] == "regenkey.server"
    assert auth.attrib["name"] == "RK-AUTH-004 no credentials, no key"
    failure = auth.find("failure")
    assert failure is not None and failure.text is not None
    assert "Expected: an error response" in failure.text
    assert "Actual: HTTP 200 with a key" in failure.text
    assert "Reproduce: curl" in failure.text
    skipped = cases["RK-AUTH-009"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == "the target refuses header and credentials together"
    error = cases["RK-ROT-005"].find("error")
    assert error is not None and "connection reset" in error.attrib["message"]
    assert list(cases["RK-AUTH-001"]) == []


def test_junit_non_strict_is_output_unless_strict(tmp_path: Path) -> None:
    lenient = _cases(_suite(_junit(tmp_path / "lenient", strict=False)))
    for rid in ("RK-FMT-005", "RK-KEY-002"):
        assert lenient[rid].find("failure") is None
        out = lenient[rid].find("system-out")
        assert out is not None and out.text is not None
        assert out.text.startswith("NON-STRICT: ")
        assert f"{rid} [SHOULD]" in out.text
    strict_root = _junit(tmp_path / "strict", strict=True)
    strict_suite = _suite(strict_root)
    assert strict_suite.attrib["failures"] == "3"
    strict = _cases(strict_suite)
    for rid in ("RK-FMT-005", "RK-KEY-002"):
        failure = strict[rid].find("failure")
        assert failure is not None
        assert failure.attrib["message"].startswith("NON-STRICT")
        assert strict[rid].find("system-out") is None


def test_junit_escapes_markup(tmp_path: Path) -> None:
    result = RunResult("server", TARGET, seed=0, strict=False)
    nasty = '<b>&amp; "quoted" ]]> </failure>'
    result.record_failure(_failure("RK-AUTH-004", "c", nasty, actual=nasty))
    result.finish()
    paths = write_reports(result, tmp_path, Redactor())
    failure = ET.parse(paths["junit"]).getroot().find(".//failure")
    assert failure is not None and failure.text is not None
    assert nasty in failure.text
    assert nasty in failure.attrib["message"]


# -- report.html -------------------------------------------------------------


def test_html_lists_every_requirement_without_network(tmp_path: Path) -> None:
    text = write_reports(_run(), tmp_path, Redactor())["html"].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for rid, status in STATUSES.items():
        assert rid in text
        assert f"status-{status}" in text
    lowered = text.lower()
    assert "<link" not in lowered
    assert "<script" not in lowered
    assert "@import" not in lowered
    for attr in ("src=", "href=", "url("):
        for scheme in ("http:", "https:", "//"):
            assert f"{attr}{scheme}" not in lowered
            assert f'{attr}"{scheme}' not in lowered
            assert f"{attr}'{scheme}" not in lowered
    assert "<details>" in text
    assert "Expected:" in text and "Actual:" in text and "Reproduce" in text
    assert "FAIL" in text and TARGET in text and "42" in text


def test_html_escapes_everything(tmp_path: Path) -> None:
    result = RunResult("server", TARGET + "/<x>", seed=0, strict=False)
    evil = "<script>alert(1)</script>"
    result.record_failure(
        _failure(
            "RK-AUTH-004", evil, evil, expected=evil, actual=evil, reproduction=evil,
            request=_request(evil), response=HttpMessage(evil, ((evil, evil),), evil),
        )
    )  # fmt: skip
    result.record_skip("RK-AUTH-009", evil)
    result.record_error("RK-ROT-005", evil)
    result.finish()
    text = write_reports(result, tmp_path, Redactor())["html"].read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert html.escape(evil) in text
    assert "/&lt;x&gt;" in text


# -- redaction: planted canaries ---------------------------------------------


def _encodings(secret: str) -> set[str]:
    return {
        secret,
        quote(secret, safe=""),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        xml_escape(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
    }


def _canary_run() -> RunResult:
    forms = sorted(_encodings(PASSWORD))
    planted = " | ".join([*forms, KEY, OTHER_KEY])
    result = RunResult(
        "server", f"http://alice:{quote(PASSWORD, safe='')}@127.0.0.1:8080", seed=7, strict=True
    )
    raw_body = f"userId=alice&password={PASSWORD}&apiKey={KEY}"
    form_body = f"userId=alice&password={quote_plus(PASSWORD)}&apiKey={KEY}"
    xml_body = f"<Account><password>{xml_escape(PASSWORD)}</password><key>{KEY}</key></Account>"
    for rid, body in (
        ("RK-AUTH-004", raw_body),
        ("RK-FMT-005", form_body),
        ("RK-KEY-002", xml_body),
    ):
        result.record_failure(
            Failure(
                rid, f"check_{PASSWORD}", f"leaked {planted}", f"expected {planted}",
                f"actual {planted}",
                request=HttpMessage(
                    f"GET /SMSApi/rest/regenerateAPIKey?password={quote_plus(PASSWORD)} HTTP/1.1",
                    (("apiKey", KEY), ("X-Password", PASSWORD), ("Cookie", planted)),
                    body,
                ),
                response=HttpMessage(
                    "HTTP/1.1 200 OK",
                    (("X-Echo", planted),),
                    f'{{"apiKey": "{KEY}", "new": "{OTHER_KEY}"}} {body}',
                ),
                reproduction=(
                    f"curl -H 'apiKey: {KEY}' --data-urlencode 'password={PASSWORD}' "
                    f"'http://127.0.0.1/?password={quote_plus(PASSWORD)}'"
                ),
                seed=7,
            )
        )  # fmt: skip
    result.record_skip("RK-AUTH-009", f"skipped because {planted}")
    result.record_error("RK-ROT-005", f"error while sending {planted}")
    result.finish()
    return result


@pytest.mark.parametrize("strict", [True, False])
def test_planted_canaries_never_reach_a_file(tmp_path: Path, strict: bool) -> None:
    result = _canary_run()
    result.strict = strict
    paths = write_reports(result, tmp_path, Redactor([PASSWORD, KEY]))
    forbidden = {form.encode("utf-8") for form in _encodings(PASSWORD)}
    forbidden |= {KEY.encode("ascii"), KEY.upper().encode("ascii"), OTHER_KEY.encode("ascii")}
    assert len(paths) == 3
    for path in paths.values():
        data = path.read_bytes()
        assert b"[REDACTED]" in data, path.name
        for form in forbidden:
            assert form not in data, (path.name, form)
        # A key-shaped value the redactor was not told about still shows up only masked.
        assert "0123…cdef".encode() in data, path.name
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    _validate(document)


def test_redactor_applies_even_to_report_document() -> None:
    document = json.dumps(report_document(_canary_run(), Redactor([PASSWORD, KEY])))
    for form in _encodings(PASSWORD):
        assert form not in document
    assert KEY not in document


# -- atomic writing ----------------------------------------------------------


def test_files_written_atomically_no_temp_left(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "reports"
    first = write_reports(_run(), out, Redactor())
    second = write_reports(_run(strict=True), out, Redactor())  # overwrite in place
    assert first == second
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "report.json"]
    assert json.loads(second["json"].read_text(encoding="utf-8"))["strict"] is True


def test_failed_write_leaves_no_temp_and_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import conformance.reporting.files as reports

    write_reports(_run(), tmp_path, Redactor())
    before = (tmp_path / "report.json").read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(reports.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_reports(_run(strict=True), tmp_path, Redactor())
    assert (tmp_path / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml", "report.html", "report.json",
    ]  # fmt: skip


def test_statuses_match_status_enum() -> None:
    statuses = report_schema()["$defs"]["requirement"]["properties"]["status"]["enum"]
    assert sorted(statuses) == sorted(s.value for s in Status)


# -- issue 18: a time per test case, NON-STRICT as a property ------------------------


def test_junit_has_a_time_per_testcase(tmp_path: Path) -> None:
    result = _run()
    result.requirements["RK-AUTH-004"].time_s = 1.25
    root = ET.fromstring(junit_xml(result, Redactor()))
    cases = _cases(_suite(root))
    assert cases["RK-AUTH-004"].attrib["time"] == "1.250"
    for case in cases.values():
        assert float(case.attrib["time"]) >= 0


@pytest.mark.parametrize("strict", [False, True])
def test_junit_non_strict_is_a_verdict_property(strict: bool) -> None:
    cases = _cases(_suite(ET.fromstring(junit_xml(_run(strict=strict), Redactor()))))
    for rid, status in STATUSES.items():
        props = cases[rid].findall("properties/property")
        verdicts = [p.attrib["value"] for p in props if p.attrib["name"] == "verdict"]
        assert verdicts == (["non-strict"] if status == "non-strict" else []), rid
