"""The benchmarks run end to end (``python -m bench.run --quick``).

A smoke test only: it checks that every section ran and wrote the keys the
README's table is made from. It asserts nothing about speed; performance
claims live in ``make bench`` (docs/BENCHMARKS.md), never in timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# About four minutes on two loaded cores (every section, peers included): a slow
# proof, run by `make soak`, so that `make test` stays under ten minutes.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_writes_every_section(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    data = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))

    machine = data["machine"]
    assert {"cpu_model", "cores", "python", "packages"} <= set(machine)
    assert machine["packages"]["schemathesis"]

    suite = data["suite"]
    for tool in ("check_server", "schemathesis"):
        assert {"cases", "cases_per_s", "peak_rss_mib"} <= set(suite[tool])
        assert suite[tool]["requests_seen_by_server"]["median"] > 0, tool
        assert "median" in suite[tool]["cases_per_s"] and suite[tool]["cases_per_s"]["runs"]
    assert suite["check_server"]["regenerations_seen_by_server"]["median"] > 0
    assert "ratio" in suite
    # schemathesis at its default (one worker) and at its best of --workers 1, 2, auto
    assert set(suite["schemathesis_by_workers"]) == {"1", "2", "auto"}
    best = suite["schemathesis_best"]
    assert best["workers"] in {"1", "2", "auto"}
    rates = {w: r["cases_per_s"]["median"] for w, r in suite["schemathesis_by_workers"].items()}
    assert best["cases_per_s"]["median"] == max(rates.values())
    assert suite["ratio"] <= suite["ratio_default"]  # the best setting is never slower
    assert suite["schemathesis"]["requests_seen_by_server"]["median"] > 0

    # the extension's overhead: schemathesis with it and without it, same run
    ext = data["extension"]
    for side in ("with_extension", "without_extension"):
        assert ext[side]["requests_seen_by_server"]["median"] > 0, side
    assert ext["with_extension"]["runs"][0]["verdict"] == "pass"  # no false positive
    assert ext["overhead"] > 0 and ext["target"] == 1.3
    # one ratio per round (the two runs back to back, order alternating), and the CPU-time one
    assert len(ext["overhead_by_round"]) == data["repeats"]
    assert ext["overhead_cpu"] > 0

    # the limit: both bare loops, check-server measured against the faster one
    lim = data["limit"]
    assert set(lim["loops"]) == {"kit", "httpx"}
    assert lim["limit_rps"] == max(v["median"] for v in lim["loops"].values()) > 0
    assert [r["max_examples"] for r in lim["check_server"]] == [2]
    for row in lim["check_server"]:
        assert row["requests"]["median"] > 0 and row["rps"]["median"] > 0
        assert row["ratio_vs_limit"] == round(row["rps"]["median"] / lim["limit_rps"], 3)

    catches = data["catches"]
    assert catches["broken_servers"] == 1 and len(catches["servers"]) == 2  # correct + 1 broken
    assert catches["correct_server_passes"] == {"check_server": True, "schemathesis": True}
    assert catches["servers"][1]["check_server"]["flagged"]  # the broken one is caught
    assert catches["servers"][1]["check_server"]["failed_ids"] == catches["servers"][1]["breaks"]

    rps = data["rps"]
    assert rps["reference"]["key_chain"]["good"][0] > 0  # every request regenerated a key
    assert rps["reference"]["key_chain"]["bad"] == [0]
    assert rps["bare_starlette"]["median"] > 0 and "ratio_vs_bare" in rps
    assert "prism" in rps

    formats = data["validation"]["formats"]
    assert set(formats) == {"json", "xml", "plain"}
    for row in formats.values():
        assert {"validate_body_us", "library_us", "normative_only_us"} <= set(row)

    startup = data["startup"]
    assert startup["regenkey_help_s"]["median"] > 0
    assert startup["reference_server"]["idle_rss_mib"]["median"] > 0

    assert data["scaling"] and "cases_per_s" in data["scaling"][0]
    assert {
        "suite_vs_schemathesis",
        "reference_vs_bare",
        "suite_catches_all_schemathesis_catches",
        "suite_vs_schemathesis_default",
        "extension_overhead",
        "check_server_2_vs_bare_loop",
        "check_server_2_vs_its_replay",
    } <= set(data["targets"])

    table = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert table.count("\n| ") > 10 and "schemathesis" in table and "Prism" in table
    assert "Broken servers flagged" in table
    assert "bare loop" in table and "extension" in table and "its best setting" in table
