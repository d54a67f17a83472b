"""The test vectors: the files are sound, the reference agrees with every one,
and check-parser tells a correct parser from broken ones by requirement id."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from conformance import Format, Record, is_known, render, spec_bytes, validate_body
from conformance.judging.results import RunResult, Status
from conformance.spec.artefacts import load_yaml
from conformance.vectors.parser_suite import ParserSuiteConfig, run_parser_suite
from conformance.vectors.suite import (
    Vector,
    body_vectors,
    judge_request,
    load_vectors,
    request_vectors,
    vector_document,
    vector_file_names,
    vectors_schema,
)

ROOT = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).resolve().parent / "parsers" / "broken_parser.py"
REFERENCE = f"{sys.executable} -m regenkey.cli parse"
BODY_LEVEL = {
    "RK-JSON-001", "RK-JSON-002", "RK-JSON-003", "RK-XML-001", "RK-XML-002", "RK-XML-003",
    "RK-PLAIN-001", "RK-SUCC-001", "RK-SUCC-002", "RK-SUCC-003", "RK-KEY-001",
    "RK-ERR-001", "RK-ERR-002", "RK-ERR-003", "RK-ERR-004",
}  # fmt: skip
OWN_FORMAT = {"json": "RK-JSON", "xml": "RK-XML", "plain": "RK-PLAIN"}


# --- the files ------------------------------------------------------------------------


def _groups() -> list[tuple[str, dict[str, object]]]:
    return [(name, group) for name in vector_file_names() for group in vector_document(name)]


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(vectors_schema())


@pytest.mark.parametrize("name", vector_file_names())
def test_every_file_validates_against_the_schema(name: str) -> None:
    validator = jsonschema.Draft202012Validator(vectors_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(
        vector_document(name))]  # fmt: skip
    assert not errors, errors[:5]


def test_descriptions_are_unique_short_and_state_facts() -> None:
    seen: set[str] = set()
    for _name, group in _groups():
        tests = group["tests"]
        assert isinstance(tests, list)
        for description in [group["description"], *(t["description"] for t in tests)]:
            assert isinstance(description, str)
            assert description not in seen, description
            seen.add(description)
            assert 0 < len(description) < 80, description
            assert not re.search(r"\bshould\b", description, re.IGNORECASE), description


def test_every_requirement_id_exists_and_groups_name_their_tests_ids() -> None:
    for _name, group in _groups():
        group_ids = set(group["requirements"])  # type: ignore[call-overload]
        assert all(is_known(rid) for rid in group_ids), group_ids
        for test in group["tests"]:  # type: ignore[attr-defined]
            ids = set(test["requirements"])
            violates = set(test["expect"].get("violates", ()))
            assert all(is_known(rid) for rid in ids | violates), test["description"]
            assert violates <= ids <= group_ids, test["description"]


def test_there_are_at_least_150_vectors_valid_and_invalid_in_every_format() -> None:
    vectors = body_vectors()
    assert len(vectors) >= 150
    for fmt in Format:
        kinds = {v.valid for v in vectors if v.format is fmt}
        assert kinds == {True, False}, fmt


def test_every_body_level_requirement_has_invalid_vectors_in_each_format_it_covers() -> None:
    invalid = [v for v in body_vectors() if not v.valid]
    assert BODY_LEVEL <= {rid for v in invalid for rid in v.violates}
    for fmt in Format:
        covered = {rid for v in invalid if v.format is fmt for rid in v.violates}
        wanted = {r for r in BODY_LEVEL if r.startswith(("RK-SUCC", "RK-KEY", "RK-ERR"))}
        wanted |= {r for r in BODY_LEVEL if r.startswith(OWN_FORMAT[fmt.value] + "-")}
        assert wanted <= covered, (fmt, sorted(wanted - covered))


def test_every_spec_example_is_a_vector() -> None:
    entries = [e for e in load_yaml("examples/index.yaml")["examples"] if e["kind"] == "response"]
    vectors = {(v.format, v.body): v for v in body_vectors()}
    for entry in entries:
        vector = vectors[Format(entry["format"]), spec_bytes(f"examples/{entry['file']}")]
        assert vector.violates == frozenset(entry.get("violates", ())), entry["file"]


def _shrunk_records() -> list[Record]:
    """Every @example(Record(...)) of tests/test_properties.py."""
    tree = ast.parse((ROOT / "tests" / "test_properties.py").read_text(encoding="utf-8"))
    records = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "example":
            (call,) = node.args
            assert isinstance(call, ast.Call)
            records.append(Record(*(ast.literal_eval(a) for a in call.args)))
    return records


def test_every_hypothesis_counterexample_is_a_vector_in_every_format() -> None:
    records = _shrunk_records()
    assert len(records) >= 6
    bodies = {(v.format, v.body) for v in body_vectors()}
    for record in records:
        for fmt in Format:
            assert (fmt, render(record, fmt).encode("utf-8")) in bodies, (record, fmt)


# --- the reference agrees --------------------------------------------------------------


@pytest.mark.parametrize("vector", body_vectors(), ids=lambda v: v.label)
def test_the_reference_validator_agrees_with_every_body_vector(vector: Vector) -> None:
    assert vector.format is not None and vector.body is not None
    verdict = validate_body(vector.body, vector.format)
    assert verdict.requirement_ids == vector.violates
    assert verdict.record == vector.record


@pytest.mark.parametrize("vector", request_vectors(), ids=lambda v: v.label)
def test_the_reference_judge_agrees_with_every_request_vector(vector: Vector) -> None:
    assert vector.raw_request is not None
    params, broken = judge_request(vector.raw_request, vector.given)
    assert broken == vector.violates
    if vector.valid:
        assert params == vector.params


def test_vectors_load_in_file_order() -> None:
    files = [v.file for v in load_vectors()]
    assert files == sorted(files)


# --- check-parser -----------------------------------------------------------------------


def _suite(command: str, timeout: float = 10.0) -> RunResult:
    return run_parser_suite(ParserSuiteConfig(command=command, timeout=timeout))


def _failing(result: RunResult) -> set[str]:
    return {r.id for r in result.requirements.values() if r.status is Status.FAIL}


PARSE_IDS = {"RK-PARSE-001", "RK-PARSE-002", "RK-PARSE-003"}


def _non_strict(result: RunResult) -> set[str]:
    return {r.id for r in result.requirements.values() if r.status is Status.NON_STRICT}


def test_check_parser_passes_the_reference_parser(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "check-parser", "--command", REFERENCE,
         "--report-dir", str(tmp_path), "--strict"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["suite"] == "parser" and report["verdict"] == "pass"
    assert report["cases"] == len(body_vectors())
    assert {r["id"] for r in report["requirements"]} == PARSE_IDS
    assert {r["status"] for r in report["requirements"]} == {"pass"}
    assert {"junit.xml", "report.html"} <= {p.name for p in tmp_path.iterdir()}


def test_every_body_vector_is_judged_under_the_parse_ids_it_names() -> None:
    named = 0
    for vector in body_vectors():
        assert set(vector.judged_ids) <= PARSE_IDS
        assert ("RK-PARSE-001" in vector.judged_ids) == vector.valid
        assert ("RK-PARSE-003" in vector.judged_ids) == (not vector.valid)
        if vector.valid:
            assert vector.record is not None
            assert vector.is_error_body == (not vector.record.is_success)
        elif vector.violates & {"RK-ERR-001", "RK-ERR-002", "RK-ERR-003", "RK-ERR-004"}:
            assert vector.is_error_body, vector.label
        parse_ids = PARSE_IDS & set(vector.requirements)
        if parse_ids:  # a vector that names them names exactly the ones it is judged under
            named += 1
            assert parse_ids == set(vector.judged_ids), vector.label
    assert named >= 5


@pytest.mark.parametrize("bug", ["upper-keys", "bar-in-reason", "extra-members"])
def test_a_tolerant_parser_is_non_strict_under_rk_parse_003_only(bug: str) -> None:
    result = _suite(f"{sys.executable} {BROKEN} --bug {bug}")
    assert _failing(result) == set() and not result.has_errors
    assert _non_strict(result) == {"RK-PARSE-003"}
    assert result.exit_code() == 0  # tolerating what it does not know is allowed
    failure = result.requirements["RK-PARSE-003"].failures[0]
    assert "accepted an invalid body" in failure.message
    assert failure.reproduction.startswith("printf '%s\\n' '{\"id\": ")
    command = f"{sys.executable} {BROKEN} --bug {bug}"
    strict = run_parser_suite(ParserSuiteConfig(command=command, strict=True))
    assert strict.exit_code() == 1


@pytest.mark.parametrize(
    ("bug", "rid", "words"),
    [
        ("drops-reason", "RK-PARSE-001", "read another record"),
        ("success-on-error", "RK-PARSE-002", "a success or a key for an error body"),
    ],
)
def test_a_broken_parser_is_caught_by_exactly_its_must(bug: str, rid: str, words: str) -> None:
    result = _suite(f"{sys.executable} {BROKEN} --bug {bug}")
    assert _failing(result) == {rid}
    assert _non_strict(result) == set() and not result.has_errors
    assert result.exit_code() == 1
    assert words in result.requirements[rid].failures[0].message


def test_every_parse_must_has_a_broken_parser() -> None:
    from conformance.spec.catalogue import Level, catalogue

    musts = {r.id for r in catalogue() if r.id.startswith("RK-PARSE-") and r.level is Level.MUST}
    assert musts == {"RK-PARSE-001", "RK-PARSE-002"}


def test_a_parser_that_names_wrong_ids_is_non_strict() -> None:
    result = _suite(f"{sys.executable} {BROKEN} --bug wrong-ids")
    assert _failing(result) == set()  # every valid body still reads right
    assert _non_strict(result) == {"RK-PARSE-003"}
    text = result.requirements["RK-PARSE-003"].failures[0].message
    assert "named other requirement ids" in text


def test_a_parsers_background_child_does_not_survive_the_run(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    result = _suite(f"{sys.executable} {BROKEN} --bug background --pidfile {pidfile}")
    assert result.exit_code() == 0
    pid = int(pidfile.read_text(encoding="utf-8"))
    assert _gone_within(pid, 5.0), f"the parser's child {pid} outlived check-parser"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _is_zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (f"{sys.executable} {BROKEN} --bug crash", "exited with code 3"),
        (f"{sys.executable} {BROKEN} --bug garbage", "is not JSON"),
        ("regenkey-no-such-parser", "exited with code 127"),
    ],
)
def test_a_parser_that_cannot_be_judged_is_an_error(command: str, words: str) -> None:
    result = _suite(command)
    assert result.exit_code() == 2 and not _failing(result)
    errors = [e for r in result.requirements.values() for e in r.errors]
    assert errors and all(words in e for e in errors), errors[:2]


def test_a_hanging_parser_is_an_error_and_the_cli_exits_2(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "check-parser", "--timeout", "1",
         "--command", f"{sys.executable} {BROKEN} --bug hang", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout[-2000:]
    assert "no answer within 1 s" in out.stdout


def test_the_reference_parser_answers_unreadable_requests_with_an_error() -> None:
    lines = ["not json", json.dumps({"id": 5, "format": "yaml", "body": "x"}),
             json.dumps({"id": 6, "format": "plain", "body_base64": "%%"}),
             json.dumps({"id": 7, "format": "json", "body": "{}"})]  # fmt: skip
    out = subprocess.run(REFERENCE.split(), input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True)  # fmt: skip
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["id"] for a in answers] == [None, 5, 6, 7]
    assert all("error" in a for a in answers)
    assert answers[3]["violates"] == ["RK-JSON-001"]


def test_check_parser_usage_errors_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "regenkey.cli", "check-parser"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert out.returncode == 2 and "--command is required" in out.stderr
