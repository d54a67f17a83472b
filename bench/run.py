"""``make bench``: measure the kit against its peers, as ratios taken in one run.

Writes ``reports/bench.json`` (every figure, the medians of several runs and
the runs themselves, with the machine and the versions) and
``reports/bench.md`` (the table the README shows). Everything runs on
127.0.0.1 in bounded loops. ``--quick`` is a tiny end-to-end pass (a handful
of cases, one run each) for the smoke test; its figures mean nothing.

    python -m bench.run [--quick] [--out-dir reports] [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import catches, limit, rps, suite, validation
from bench.common import ROOT, machine_info
from bench.peers import prism_binary
from bench.report import markdown
from conformance.reporting.files import _write_atomically

SECTIONS = ("suite", "extension", "limit", "catches", "rps", "validation", "startup", "scaling")


@dataclass(frozen=True)
class Sizes:
    repeats: int
    kit_examples: int  # check-server --max-examples
    peer_examples: int  # schemathesis --max-examples (about the same number of cases)
    connections: int
    seconds: float
    records: int
    scaling: tuple[int, ...]  # check-server --max-examples steps (empty: reuse the suite's)
    warmup: float = 0.5
    peers: bool = True  # Prism, and the full `regenkey run`
    peer_phases: str | None = None  # schemathesis --phases (None: its defaults)
    catch_limit: int | None = None  # broken servers in the catches section (None: all)
    limit_sizes: tuple[int, ...] = (2000, 10000)  # check-server against the bare loop
    loop_requests: int = 5000  # rotations per bare-loop run
    extension_phases: str = "examples,coverage,fuzzing"  # with and without the extension


# About 1,000 cases each in the suite comparison (check-server: 1.04 per
# example + 165; schemathesis' default phases: about 2.3 per example).
FULL = Sizes(repeats=3, kit_examples=800, peer_examples=430, connections=16, seconds=2.5,
             records=300, scaling=(1, 800, 9850))  # fmt: skip
QUICK = Sizes(repeats=1, kit_examples=1, peer_examples=1, connections=2, seconds=0.2,
              records=5, scaling=(), warmup=0.05, peers=False, peer_phases="fuzzing",
              catch_limit=1, limit_sizes=(2,), loop_requests=50,
              extension_phases="fuzzing")  # fmt: skip
# What each tool catches: per broken server, check-server's default number of
# examples and schemathesis with 20 (about 50 cases each).
CATCH_EXAMPLES = (25, 20)


def _timed(name: str, job: Any, timings: dict[str, float]) -> Any:
    print(f"bench: {name} ...", flush=True)
    started = time.perf_counter()
    result = job()
    timings[name] = round(time.perf_counter() - started, 1)
    print(f"bench: {name} done in {timings[name]} s", flush=True)
    return result


def run(sizes: Sizes, quick: bool, skip: set[str], partial: Path | None = None) -> dict[str, Any]:
    """Every section not skipped, in order; ``partial`` (if given) is
    rewritten after each section, so a run cut short keeps what it measured."""
    timings: dict[str, float] = {}
    data: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "repeats": sizes.repeats,
        "machine": machine_info(prism_binary()),
        "timings_s": timings,
    }
    jobs = {
        "suite": lambda: suite.throughput(
            sizes.kit_examples, sizes.peer_examples, sizes.repeats, sizes.peer_phases
        ),
        "extension": lambda: suite.extension_overhead(
            sizes.peer_examples, sizes.repeats, sizes.extension_phases
        ),
        "limit": lambda: limit.compare(list(sizes.limit_sizes), sizes.loop_requests, sizes.repeats),
        "catches": lambda: catches.compare(*CATCH_EXAMPLES, limit=sizes.catch_limit),
        "rps": lambda: rps.compare(
            sizes.connections, sizes.seconds, sizes.repeats, sizes.warmup, sizes.peers
        ),
        "validation": lambda: validation.compare(sizes.records, max(2 * sizes.repeats + 1, 3)),
        "startup": lambda: suite.startup(sizes.repeats, sizes.peers),
        "scaling": lambda: (
            suite.scaling(list(sizes.scaling), sizes.repeats, data["suite"])
            if sizes.scaling
            else suite.scaling_from(data["suite"])
        ),
    }
    errors: dict[str, str] = {}
    for name in SECTIONS:
        data[name] = None
        if name in skip:
            continue
        try:
            data[name] = _timed(name, jobs[name], timings)
        except Exception as exc:  # one section's failure loses no other section's figures
            errors[name] = f"{type(exc).__name__}: {exc}"[:2000]
            print(f"bench: {name} FAILED: {errors[name]}", file=sys.stderr, flush=True)
        if partial is not None:
            _write(partial, data | {"errors": errors, "partial": True})
    data["errors"] = errors
    data["targets"] = targets(data)
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    """``path`` replaced whole, by the writer the kit's reports use (a fsynced
    temporary file, then ``os.replace``; no temporary left on a failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def targets(data: dict[str, Any]) -> dict[str, Any]:
    """Each target with its measured ratio or figure, and whether it was met."""
    out: dict[str, Any] = {}
    if data.get("suite"):
        out["suite_vs_schemathesis"] = _target(data["suite"]["ratio"], 3.0, above=True)
        out["suite_vs_schemathesis"]["against"] = (
            f"--workers {data['suite']['schemathesis_best']['workers']} (its best here)"
        )
        out["suite_vs_schemathesis_default"] = {
            "value": round(data["suite"]["ratio_default"], 3),
            "against": "its default (1 worker)",
        }
    if data.get("extension"):
        out["extension_overhead"] = _target(data["extension"]["overhead"], 1.3, above=False)
    if data.get("limit"):
        for row in data["limit"]["check_server"]:
            name = f"check_server_{row['max_examples']}_vs_bare_loop"
            out[name] = _target(row["ratio_vs_limit"], 0.5, above=True)
            replay = f"check_server_{row['max_examples']}_vs_its_replay"
            out[replay] = _target(row["ratio_vs_replay"], 0.5, above=True)
    if data.get("catches"):
        c = data["catches"]
        missed = len(c["flagged_by_schemathesis_only"])
        out["suite_catches_all_schemathesis_catches"] = {
            "value": missed,
            "target": 0,
            "met": missed == 0 and all(c["correct_server_passes"].values()),
        }
    if data.get("rps"):
        r = data["rps"]
        out["reference_vs_bare"] = _target(r["ratio_vs_bare"], 0.7, above=True)
        if "ratio_vs_prism" in r:
            out["reference_vs_prism"] = _target(r["ratio_vs_prism"], 2.0, above=True)
        else:
            out["reference_vs_prism"] = {"skipped": r["prism"].get("skipped")}
    if data.get("validation"):
        for fmt, v in data["validation"]["formats"].items():
            out[f"validate_{fmt}_us"] = _target(v["validate_body_us"]["median"], 10.0, above=False)
    return out


def _target(value: float, target: float, above: bool) -> dict[str, Any]:
    met = value >= target if above else value < target
    return {"value": round(value, 3), "target": target, "met": met}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a tiny pass (smoke test)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "reports")
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS)
    args = parser.parse_args(argv)
    out = args.out_dir / "bench.json"
    data = run(QUICK if args.quick else FULL, args.quick, set(args.skip), partial=out)
    _write(out, data)
    skipped = [n for n in SECTIONS if data[n] is None]
    missing = f"(sections skipped or failed: {', '.join(skipped)})\n"
    table = markdown(data) if not skipped else missing
    (args.out_dir / "bench.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"bench: wrote {out} and {args.out_dir / 'bench.md'}")
    return 1 if data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
