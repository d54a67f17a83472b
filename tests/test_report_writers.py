"""Report writers carry any text safely, and never write through a planted symlink.

Every code point 0x00-0x1F and 0x7F-0x9F, and a lone surrogate, go through
each writer in a failure's message, actual value and response body; each
file must still parse (ElementTree, html.parser, json), the control codes
must arrive as visible escapes in XML and HTML, and JSON must keep them.
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.judging.redaction import Redactor
from conformance.judging.results import Failure, HttpMessage, RunResult
from conformance.reporting.files import write_reports
from conformance.reporting.text import printable
from conformance.server.recording import FILE, Recorder

CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)])
HOSTILE = f"before{CONTROLS}\ud800after\x1b[2J\x9b31m"
FORBIDDEN_IN_XML = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"} | {"\ud800"}
RAW_CONTROLS = {c for c in CONTROLS if c not in "\t\n"} | {"\ud800"}


def _run() -> RunResult:
    result = RunResult("client", f"cmd {HOSTILE}", seed=1, strict=True)
    result.record_failure(
        Failure(
            "RK-CLI-003",
            "client_accepts_allowed_variants",
            message=f"stderr: {HOSTILE}",
            expected="a record",
            actual=HOSTILE,
            request=HttpMessage("POST /x", (("X-H", HOSTILE),), HOSTILE),
            response=HttpMessage("HTTP 200", (("Content-Type", HOSTILE),), HOSTILE),
            reproduction=f"run {HOSTILE}",
        )
    )
    result.record_skip("RK-CLI-001", f"skipped: {HOSTILE}")
    result.record_error("RK-CLI-002", f"error: {HOSTILE}")
    result.finish()
    return result


def test_printable_escapes_every_control_and_keeps_text() -> None:
    shown = printable(HOSTILE + "\tü…\n")
    assert not set(shown) & RAW_CONTROLS
    assert shown.endswith("\tü…\n") and "\\x1b[2J" in shown and "\\x9b31m" in shown
    assert "\\ud800" in shown
    assert printable(shown) == shown  # idempotent


def test_junit_is_well_formed_whatever_the_text(tmp_path: Path) -> None:
    paths = write_reports(_run(), tmp_path, Redactor())
    data = paths["junit"].read_bytes()
    root = ET.fromstring(data)  # raises on any character XML 1.0 forbids
    text = data.decode("utf-8")
    assert not set(text) & (FORBIDDEN_IN_XML | {chr(c) for c in range(0x7F, 0xA0)})
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None
    assert "\\x1b[2J" in failure.text and "\\x9b31m" in failure.text


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_carries_no_control_character(tmp_path: Path) -> None:
    paths = write_reports(_run(), tmp_path, Redactor())
    page = paths["html"].read_text(encoding="utf-8")
    assert not set(page) & RAW_CONTROLS
    collected = _Collect()
    collected.feed(page)
    collected.close()
    assert "\\x1b[2J" in "".join(collected.text)


def test_json_keeps_the_text_exactly_and_parses(tmp_path: Path) -> None:
    paths = write_reports(_run(), tmp_path, Redactor())
    document = json.loads(paths["json"].read_bytes().decode("utf-8"))
    (failing,) = [r for r in document["requirements"] if r["failures"]]
    assert failing["failures"][0]["actual"] == HOSTILE  # lossless, surrogate and all
    assert document["verdict"] == "fail"


# --- no symlink is followed, every file is 0600 ------------------------------------------


def _planted(tmp_path: Path, name: str) -> tuple[Path, Path]:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    directory = tmp_path / "out"
    directory.mkdir(exist_ok=True)
    (directory / name).symlink_to(victim)
    return directory, victim


@pytest.mark.parametrize("name", ["report.json", "junit.xml", "report.html"])
def test_reports_replace_a_planted_symlink_and_are_0600(tmp_path: Path, name: str) -> None:
    directory, victim = _planted(tmp_path, name)
    paths = write_reports(_run(), directory, Redactor())
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    for path in paths.values():
        assert not path.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_recorder_refuses_a_planted_symlink(tmp_path: Path) -> None:
    directory, victim = _planted(tmp_path, FILE)
    with pytest.raises(OSError):
        Recorder(directory, Redactor())
    assert victim.read_text() == "precious\n"


def test_recorder_tightens_an_existing_file_to_0600(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text("old\n")
    os.chmod(tmp_path / FILE, 0o644)
    recorder = Recorder(tmp_path, Redactor())
    recorder.close()
    assert stat.S_IMODE((tmp_path / FILE).stat().st_mode) == 0o600
    assert (tmp_path / FILE).read_text() == ""
