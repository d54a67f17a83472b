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

A run's mutants are shared out by module among ``--jobs`` mutmut processes
(default 2), each in a scratch copy of its own (``DIR/part-N`` with
``--keep DIR``), so that a run over every module fits in an afternoon on two
cores; the scores are merged.

    python -m bench.mutation [--modules store.py requests.py] [--from-git]
        [--jobs N] [--out reports/mutation.json] [--keep DIR] [--results-only]
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


def mutant_count(module: str) -> int:
    """How many mutants mutmut makes of ``reference_impl/server/<module>``."""
    from mutmut import Context, list_mutations

    path = SERVER / module
    source = (ROOT / path).read_text()
    return len(list_mutations(Context(source=source, filename=str(path))))


def share_out(counts: dict[str, int], jobs: int) -> list[list[str]]:
    """``counts``' modules in at most ``jobs`` groups of about the same number of
    mutants (largest first, each to the lightest group; ties by name, so the
    same modules always make the same groups and a kept run resumes)."""
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, jobs))]
    for module in sorted(counts, key=lambda m: (-counts[m], m)):
        lightest = min(range(len(groups)), key=lambda g: (groups[g][0], g))
        total, members = groups[lightest]
        groups[lightest] = (total + counts[module], [*members, module])
    return [sorted(members) for _, members in groups if members]


def parts(workdir: Path) -> list[Path]:
    """The scratch copies of a kept run: ``DIR/part-N``, or ``DIR`` itself (a run
    made before ``--jobs``)."""
    found = sorted(p for p in workdir.glob("part-*") if (p / ".mutmut-cache").exists())
    return found or [workdir]


def run(modules: list[str], from_git: bool, keep: Path | None, jobs: int = 1) -> Path:
    """Run mutmut over ``modules``, in ``jobs`` copies of the tree at once (one
    group of modules each); the directory that holds the copies."""
    workdir = keep or Path(tempfile.mkdtemp(prefix="regenkey-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    groups = share_out({m: mutant_count(m) for m in modules}, jobs)
    children = []
    for n, group in enumerate(groups, 1):
        part = workdir / f"part-{n}"
        part.mkdir(exist_ok=True)
        if not (part / "reference_impl").exists():
            copy_tree(part, from_git)
        paths = ",".join(str(SERVER / m) for m in group)
        runner = f"{sys.executable} -m bench.mutation_check"
        env = {"PYTHONPATH": str(part), "PATH": "/usr/bin:/bin", "HOME": str(part)}
        command = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", paths]
        command += ["--runner", runner, "--tests-dir", "bench", "--no-progress"]
        command += ["--simple-output", "-b", str(TIME_BASE_S)]
        print(f"mutation: part-{n}: {', '.join(group)}", flush=True)
        children.append(subprocess.Popen(command, cwd=part, env=env))
    try:
        for child in children:
            child.wait()
    finally:
        for child in children:  # an interrupted run leaves no mutmut behind
            if child.poll() is None:
                child.terminate()
                child.wait()
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
        "--jobs", type=int, default=2, help="mutmut processes at once, one copy each (default 2)"
    )
    parser.add_argument(
        "--results-only", action="store_true", help="only score the run kept in --keep"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.results_only:
        if args.keep is None:
            parser.error("--results-only needs --keep")
        if not (args.keep / ".mutmut-cache").exists() and not list(args.keep.glob("part-*")):
            parser.error(f"no mutmut run is kept in {args.keep}")
        workdir = args.keep
    else:
        if args.jobs < 1:
            parser.error("--jobs must be at least 1")
        workdir = run(args.modules, args.from_git, args.keep, args.jobs)
    seconds = None if args.results_only else round(time.monotonic() - started, 1)
    mutants = []
    for part in parts(workdir):
        # Diffs against the unmutated files: the working tree's, or the commit's copy.
        mutants += read_results(part, ROOT if args.results_only else part)
    figures = summary(score(mutants), seconds)
    if args.keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"mutation: {json.dumps(figures['total'])}; details in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
