"""``make mutation``: mutation testing of ``reference_impl/server/`` with ``check-server``
as the test.

mutmut (2.x, the ``mutation`` extra) mutates one spot at a time and runs
``python -m bench.mutation_check`` (``check-server --strict`` against the
embedded, mutated reference server). mutmut rewrites the files it mutates in
place, so it never runs in the working tree: the kit's sources are copied to a
scratch directory first (``--from-git`` copies the last commit instead of the
working tree) and the copy is put first on ``PYTHONPATH``.

The score is over the mutants check-server is there to kill: a surviving
mutant listed in :data:`bench.mutation_equivalent.EXCLUDED` is left out of
the denominator, under one of three kinds, each entry with its reason:
``equivalent`` (no behaviour changes at all), ``spec-free`` (a behaviour the
page leaves to the implementation, such as a body-size limit: killing it
would be a false red) and ``off-the-wire`` (behaviour no HTTP request reaches:
the operator's account set-up, file modes, legacy rows; other tests cover
it). Every other survivor counts against the score. Writes
``reports/mutation.json``: per module, killed (timed out and slowed-down
included), survived and excluded counts, and every survivor's diff.

    python -m bench.mutation [--modules store.py requests.py] [--from-git]
        [--out reports/mutation.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.mutation_equivalent import EXCLUDED, KINDS

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path("reference_impl/server")
COPIED = ("conformance", "reference_impl", "regenkey", "spec", "bench")
OWN_FILES = (
    "bench/mutation_check.py",
    "bench/mutation_equivalent.py",
    "bench/mutation_excluded.json",
    "bench/__init__.py",
)
# mutmut stops a mutant after ten times the unmutated run (a timeout: killed);
# one that fails after more than twice that run plus this many seconds is
# "suspicious" (killed too). check-server bounds every exchange itself.
TIME_BASE_S = 30.0


@dataclass
class Mutant:
    id: str
    module: str
    line: int
    status: str  # killed | survived | timeout | suspicious | untested | skipped
    diff: str = ""
    excluded: str | None = None  # "kind: reason" when left out of the score


@dataclass
class ModuleScore:
    module: str
    mutants: int = 0
    killed: int = 0  # timed out and slowed-down (suspicious) mutants included
    timeout: int = 0
    survived: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    untested: int = 0
    survivors: list[Mutant] = field(default_factory=list)
    left_out: list[Mutant] = field(default_factory=list)

    @property
    def behaviour_changing(self) -> int:
        return self.killed + self.survived

    @property
    def score(self) -> float | None:
        return self.killed / self.behaviour_changing if self.behaviour_changing else None


def copy_tree(dest: Path, from_git: bool) -> None:
    if from_git:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD", *COPIED], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    else:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".node", "mutants")
        for name in COPIED:
            shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in OWN_FILES:  # the harness itself always comes from the working tree
        shutil.copy2(ROOT / name, dest / name)


def mutated_line(diff: str) -> str:
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("++")]
    return added[0].strip() if added else ""


def classify(module: str, source_line: str, diff: str) -> str | None:
    entry = EXCLUDED.get((module, source_line.strip(), mutated_line(diff)))
    return None if entry is None else f"{entry[0]}: {entry[1]}"


STATUSES = {
    "ok_killed": "killed",
    "ok_suspicious": "suspicious",
    "bad_timeout": "timeout",
    "bad_survived": "survived",
    "untested": "untested",
    "skipped": "untested",
}


def _diff(source: str, filename: str, line: str, index: int, line_number: int) -> str:
    """The mutant's diff against the unmutated ``source``: computed, never read off
    the disk, where a run in progress may hold a mutant."""
    from mutmut import Context, RelativeMutationID, mutate  # type: ignore[import-untyped]

    where = RelativeMutationID(line=line, index=index, line_number=line_number)
    mutated, _ = mutate(Context(source=source, mutation_id=where, filename=filename))
    changed = difflib.unified_diff(
        source.splitlines(), mutated.splitlines(), filename, filename, n=0, lineterm=""
    )
    return "\n".join(changed)


def read_results(workdir: Path, sources: Path) -> list[Mutant]:
    """Every mutant in ``workdir``'s mutmut cache (a finished or a partial run), its
    diff taken against the unmutated files under ``sources``."""
    query = (
        'SELECT m.id, m.status, m."index", l.line, l.line_number, f.filename '
        "FROM mutant m JOIN line l ON m.line = l.id JOIN sourcefile f ON l.sourcefile = f.id "
        'ORDER BY f.filename, l.line_number, m."index"'
    )
    cache = f"file:{workdir / '.mutmut-cache'}?mode=ro"
    with contextlib.closing(sqlite3.connect(cache, uri=True)) as db:
        rows = db.execute(query).fetchall()
    texts: dict[str, str] = {}
    mutants = []
    for pk, status, index, line, line_number, filename in rows:
        source = texts.setdefault(filename, (sources / filename).read_text())
        kind = STATUSES.get(status, "untested")
        diff = "" if kind == "killed" else _diff(source, filename, line, index, line_number)
        mutant = Mutant(str(pk), Path(filename).name, line_number + 1, kind, diff)
        if kind != "killed":
            mutant.excluded = classify(mutant.module, line, diff)
        mutants.append(mutant)
    return mutants


def score(mutants: list[Mutant]) -> dict[str, ModuleScore]:
    scores: dict[str, ModuleScore] = {}
    for m in mutants:
        s = scores.setdefault(m.module, ModuleScore(m.module))
        s.mutants += 1
        if m.status in ("killed", "timeout", "suspicious"):  # a hang or a slow-down is caught
            s.killed += 1
            s.timeout += m.status == "timeout"
        elif m.status == "untested":
            s.untested += 1
        elif m.excluded:
            s.excluded[m.excluded.split(":", 1)[0]] += 1
            s.left_out.append(m)
        else:
            s.survived += 1
            s.survivors.append(m)
    return scores


def run(modules: list[str], from_git: bool, keep: Path | None) -> Path:
    """Run mutmut over ``modules`` in a copy of the tree; the copy's path."""
    workdir = keep or Path(tempfile.mkdtemp(prefix="regenkey-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "reference_impl").exists():
        copy_tree(workdir, from_git)
    paths = ",".join(str(SERVER / m) for m in modules)
    runner = f"{sys.executable} -m bench.mutation_check"
    env = {"PYTHONPATH": str(workdir), "PATH": "/usr/bin:/bin", "HOME": str(workdir)}
    command = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", paths]
    command += ["--runner", runner, "--tests-dir", "bench", "--no-progress", "--simple-output"]
    subprocess.run([*command, "-b", str(TIME_BASE_S)], cwd=workdir, env=env, check=False)
    return workdir


def summary(scores: dict[str, ModuleScore], seconds: float | None) -> dict[str, object]:
    killed = sum(s.killed for s in scores.values())
    changing = sum(s.behaviour_changing for s in scores.values())
    modules = {}
    for name, s in sorted(scores.items()):
        fields = {k: v for k, v in asdict(s).items() if k not in ("survivors", "left_out")}
        survivors = [asdict(m) for m in s.survivors]
        left_out = [asdict(m) for m in s.left_out]
        modules[name] = {**fields, "score": s.score, "survivors": survivors, "left_out": left_out}
    total = {
        "mutants": sum(s.mutants for s in scores.values()),
        "killed": killed,
        "timeout": sum(s.timeout for s in scores.values()),
        "survived": sum(s.survived for s in scores.values()),
        "excluded": {k: sum(s.excluded[k] for s in scores.values()) for k in KINDS},
        "untested": sum(s.untested for s in scores.values()),
        "score": round(killed / changing, 4) if changing else None,
    }
    return {"modules": modules, "total": total, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    everything = sorted(p.name for p in (ROOT / SERVER).glob("*.py"))
    parser.add_argument("--modules", nargs="+", default=everything, choices=everything)
    parser.add_argument("--from-git", action="store_true", help="mutate the last commit's tree")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation.json")
    parser.add_argument("--keep", type=Path, help="work (and resume) in this directory")
    parser.add_argument(
        "--results-only", action="store_true", help="only score the run kept in --keep"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.results_only:
        if args.keep is None:
            parser.error("--results-only needs --keep")
        workdir = args.keep
    else:
        workdir = run(args.modules, args.from_git, args.keep)
    seconds = None if args.results_only else round(time.monotonic() - started, 1)
    # Diffs against the unmutated files: the working tree's, or the commit's copy.
    sources = workdir if not args.results_only else ROOT
    figures = summary(score(read_results(workdir, sources)), seconds)
    if args.keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"mutation: {json.dumps(figures['total'])}; details in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
