"""`bench.run`: a section that fails loses no other section's figures.

A whole `make bench` takes most of an hour; the first full run of 2026-12-02
lost every figure when its last section (scaling) hit a timeout, because the
file was written only at the end. Each section's result is now written as it
completes, and a failure is recorded and the run goes on, ending non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run as bench_run


def test_a_failing_section_is_recorded_and_the_others_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> dict[str, object]:
        raise RuntimeError("check-server wrote no report (exit -9)")

    monkeypatch.setattr(bench_run.suite, "throughput", broken)
    monkeypatch.setattr(bench_run.validation, "compare", lambda *a: {"formats": {}})
    monkeypatch.setattr(bench_run, "machine_info", lambda prism: {"cpu_model": "test"})
    partial = tmp_path / "bench.json"
    skip = set(bench_run.SECTIONS) - {"suite", "validation"}
    data = bench_run.run(bench_run.QUICK, True, skip, partial=partial)
    assert data["suite"] is None and "exit -9" in data["errors"]["suite"]
    assert data["validation"] == {"formats": {}}
    written = json.loads(partial.read_text(encoding="utf-8"))
    assert written["partial"] and written["validation"] == {"formats": {}}
    assert not list(tmp_path.glob("*.tmp"))


def test_a_run_with_a_failed_section_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake(sizes: object, quick: bool, skip: set[str], partial: Path | None = None) -> dict:
        return {name: None for name in bench_run.SECTIONS} | {"errors": {"limit": "boom"}}

    monkeypatch.setattr(bench_run, "run", fake)
    assert bench_run.main(["--quick", "--out-dir", str(tmp_path)]) == 1
    assert json.loads((tmp_path / "bench.json").read_text())["errors"] == {"limit": "boom"}
