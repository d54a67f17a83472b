"""A report says what judged it (issue 18): the kit's version, the
catalogue's version and a sha256 over the spec artefacts, in report.json,
JUnit's properties and the HTML header; and every run gets a report folder
of its own, even two started in the same second."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance import Redactor
from conformance.judging.results import RunResult
from conformance.reporting.document import report_schema
from conformance.reporting.files import write_reports
from conformance.spec.catalogue import catalogue_version, kit_identity, spec_digest
from regenkey import terminal

SPEC = Path(__file__).resolve().parent.parent / "spec"


def _result() -> RunResult:
    result = RunResult("server", "http://127.0.0.1:1", 7, False)
    result.result_for("RK-HTTP-001").checks_run = 1
    result.finish()
    return result


def _independent_digest(root: Path) -> str:
    """The documented scheme, computed from the checkout's spec/ folder."""
    digest = hashlib.sha256()
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    for name in names:
        data = (root / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def test_the_catalogue_has_a_version_and_the_kit_reads_it() -> None:
    raw = yaml.safe_load((SPEC / "requirements.yaml").read_text(encoding="utf-8"))
    assert isinstance(raw["version"], str) and raw["version"]
    assert catalogue_version() == raw["version"]


def test_the_spec_digest_covers_every_artefact_file_in_sorted_order() -> None:
    assert spec_digest() == _independent_digest(SPEC)
    assert len(spec_digest()) == 64


def test_the_kit_identity_is_the_installed_distribution() -> None:
    kit = kit_identity()
    assert kit.version == metadata.version("regenkey-kit")
    assert kit.catalogue_version == catalogue_version() and kit.spec_sha256 == spec_digest()


def test_report_json_junit_and_html_name_what_judged_the_run(tmp_path: Path) -> None:
    kit = kit_identity()
    paths = write_reports(_result(), tmp_path, Redactor())
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert document["kit"] == {
        "version": kit.version,
        "catalogue_version": kit.catalogue_version,
        "spec_sha256": kit.spec_sha256,
    }
    schema = report_schema()
    Draft202012Validator(schema).validate(document)
    assert "kit" in schema["required"]
    without = {k: v for k, v in document.items() if k != "kit"}
    assert not Draft202012Validator(schema).is_valid(without)

    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["kit_version"] == kit.version
    assert props["catalogue_version"] == kit.catalogue_version
    assert props["spec_sha256"] == kit.spec_sha256

    page = paths["html"].read_text(encoding="utf-8")
    header = page.split("<table", 1)[0]
    assert f"regenkey-kit <code>{kit.version}</code>" in header
    assert f"catalogue <code>{kit.catalogue_version}</code>" in header
    assert kit.spec_sha256 in header


def test_two_runs_in_the_same_second_get_distinct_report_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instant = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)

    class _Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> _Frozen:  # type: ignore[override]
            return cls.fromtimestamp(instant.timestamp(), UTC)

    monkeypatch.setattr(terminal, "datetime", _Frozen)
    root = tmp_path / "reports"
    folders = [terminal.report_dir(None, root) for _ in range(5)]
    assert len(set(folders)) == 5
    for folder in folders:
        assert folder.is_dir() and folder.parent == root  # created, exclusively, at once
        assert folder.name.startswith("20261201T120000Z-")
    for n, folder in enumerate(folders):  # the reports of one never overwrite another's
        write_reports(
            RunResult("server", f"http://127.0.0.1:{n + 1}", n, False), folder, Redactor()
        )
    targets = {json.loads((f / "report.json").read_text())["target"] for f in folders}
    assert len(targets) == 5


def test_a_given_report_dir_is_used_as_given(tmp_path: Path) -> None:
    given = tmp_path / "mine"
    assert terminal.report_dir(given) == given


def test_an_uncreatable_report_root_is_left_to_save_reports(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    folder = terminal.report_dir(None, blocker / "reports")
    assert not folder.exists()  # no traceback here; save_reports says why, after the run
    assert not terminal.save_reports(_result(), folder, Redactor(), "check-server")
