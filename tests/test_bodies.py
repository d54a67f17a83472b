"""Response bodies: the page's examples, the invalid examples, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance import Format, Record, render, spec_bytes, validate_body
from conformance.spec.artefacts import load_yaml

EXAMPLES = [e for e in load_yaml("examples/index.yaml")["examples"] if e["kind"] == "response"]
SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"


def test_there_is_an_invalid_example_for_every_body_requirement() -> None:
    body_level = {
        "RK-JSON-001", "RK-JSON-002", "RK-JSON-003", "RK-XML-001", "RK-XML-002",
        "RK-XML-003", "RK-PLAIN-001", "RK-SUCC-001", "RK-SUCC-002", "RK-SUCC-003",
        "RK-KEY-001", "RK-ERR-001", "RK-ERR-002", "RK-ERR-003", "RK-ERR-004",
    }  # fmt: skip
    covered = {rid for e in EXAMPLES for rid in e.get("violates", ())}
    assert body_level <= covered, sorted(body_level - covered)


@pytest.mark.parametrize("entry", EXAMPLES, ids=lambda e: e["file"])
def test_example_fails_with_exactly_its_requirement(entry: dict[str, object]) -> None:
    body = spec_bytes(f"examples/{entry['file']}")
    verdict = validate_body(body, Format(str(entry["format"])))
    assert verdict.requirement_ids == frozenset(entry.get("violates", ()))  # type: ignore[arg-type]
    assert (verdict.record is not None) == bool(entry["valid"])


@pytest.mark.parametrize(
    ("name", "fmt", "key"),
    [
        ("response-success.json", Format.JSON, "03db883b5e19416fbd306413b2fc0eb4"),
        ("response-success.xml", Format.XML, "c2219af547f440cb86184c94365b68fe"),
        ("response-success.txt", Format.PLAIN, "11e70941da2c4887926e461c405634a4"),
    ],
)
def test_page_examples_parse_and_render_back_byte_for_byte(
    name: str, fmt: Format, key: str
) -> None:
    body = spec_bytes(f"examples/valid/{name}")
    assert validate_body(body, fmt).record == Record.success(key)
    assert render(Record.success(key), fmt).encode() == body


def test_examples_are_the_page_text_verbatim() -> None:
    page = spec_bytes("page.txt").decode()
    for name in ("response-success.json", "response-success.xml", "response-success.txt"):
        assert spec_bytes(f"examples/valid/{name}").decode() in page
    assert spec_bytes("examples/valid/request-account.xml").decode() in page


def test_json_number_status_code_is_one_violation_not_two() -> None:
    body = (
        '{"status":"success","apiKey":"03db883b5e19416fbd306413b2fc0eb4",'
        '"statusCode":900,"reason":"success"}'
    )
    verdict = validate_body(body, Format.JSON)
    assert [v.requirement for v in verdict.violations] == ["RK-JSON-002"]


def test_trailing_newline_in_key_is_caught_despite_python_dollar() -> None:
    # Regression: Python's "$" matches before a final newline; jsonschema uses it.
    body = (
        '{"status":"success","apiKey":"03db883b5e19416fbd306413b2fc0eb4\\n",'
        '"statusCode":"900","reason":"success"}'
    )
    assert validate_body(body, Format.JSON).requirement_ids == {"RK-KEY-001"}


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><r>&b;</r>',
    ],
)
def test_hostile_xml_is_refused_as_ill_formed(body: bytes) -> None:
    assert validate_body(body, Format.XML).requirement_ids == {"RK-XML-003"}


def test_allowed_whitespace_and_charset_variants_pass() -> None:
    key = "11e70941da2c4887926e461c405634a4"
    body = f"status=success | apiKey={key} | statusCode=900 | reason=success\r\n"
    assert validate_body(body, Format.PLAIN).ok


def _regenkey(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regenkey.cli", *args], capture_output=True, text=True, check=False
    )


def test_cli_validate_passes_the_three_page_responses() -> None:
    files = [
        str(SPEC_DIR / "examples/valid" / n)
        for n in ("response-success.json", "response-success.xml", "response-success.txt")
    ]
    result = _regenkey("validate", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 3


def test_cli_validate_names_the_requirement_of_each_invalid_example() -> None:
    invalid = [e for e in EXAMPLES if not e["valid"]]
    result = _regenkey("validate", *(str(SPEC_DIR / "examples" / str(e["file"])) for e in invalid))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    blocks = result.stdout.split("FAIL ")[1:]
    assert len(blocks) == len(invalid)
    for entry, block in zip(invalid, blocks, strict=True):
        assert block.startswith(str(SPEC_DIR / "examples" / str(entry["file"])))
        cited = {line.split()[0] for line in block.splitlines()[1:]}
        assert cited == set(entry["violates"]), (entry["file"], block)  # type: ignore[call-overload]


def test_cli_validate_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    result = _regenkey("validate", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stdout
