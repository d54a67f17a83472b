"""The lean install (`pip install regenkey-kit`) and the server extra, from the built wheel.

The fast tests need no network: the wheel goes into a fresh venv with ``--no-deps``,
and the core's dependency closure (resolved from the wheel's own Requires-Dist, with
the packages the full .venv holds) is linked into it, nothing else. So the lean venv
has exactly what ``pip install dist/*.whl`` would bring, and no server stack. The
slow test (opt-in: REGENKEY_TEST_PACKAGE_INDEX=1, since it leaves loopback) installs
from the package index for real and counts the packages.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "alice", "lean-install-pw"
SERVE_NEEDS = "regenkey serve: needs the server extra: pip install 'regenkey-kit[server]'"


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("regenkey_kit-*.whl")
    return wheel


def wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(name).decode())
    return [Requirement(r) for r in meta.get_all("Requires-Dist") or []]


def closure(wheel: Path, extras: set[str]) -> set[str]:
    """The distributions `pip install wheel[extras]` brings besides the kit itself,
    resolved against what this interpreter has installed."""
    todo: list[tuple[Requirement, set[str]]] = [(r, extras) for r in wheel_requirements(wheel)]
    seen: set[str] = set()
    while todo:
        req, active = todo.pop()
        envs = [{"extra": e} for e in active] or [{"extra": ""}]
        if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
            continue
        name = canonicalize_name(req.name)
        if name == "regenkey-kit":  # a self-reference: [all] = [server,schemathesis]
            todo += [(r, set(req.extras)) for r in wheel_requirements(wheel)]
            continue
        if name in seen:
            continue
        seen.add(name)
        todo += [(Requirement(r), set(req.extras)) for r in metadata.requires(name) or []]
    return seen


def link_distributions(names: set[str], into: Path) -> None:
    """Symlink each distribution's top-level files (and its dist-info) into ``into``."""
    into.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        site = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in tops - {"..", "__pycache__"}:
            if (site / top).exists() and not (into / top).exists():
                (into / top).symlink_to(site / top)


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and the core's dependencies only; its bin/."""
    base = tmp_path_factory.mktemp("lean")
    wheel = build_wheel(base / "dist")
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    deps = base / "deps"
    link_distributions(closure(wheel, set()), deps)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "core-deps.pth").write_text(f"{deps}\n")
    return venv / "bin"


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGENKEY_", "PYTHON"))}
    return subprocess.run(
        [str(bin_dir / "regenkey"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@contextmanager
def full_serve() -> Iterator[str]:
    """`regenkey serve` from the full .venv (a real process on an ephemeral port)."""
    env = {**os.environ, "REGENKEY_ACCOUNTS": f"{USER}:{PASSWORD}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regenkey.cli",
            "serve",
            "--port",
            "0",
            "--memory",
            "--password-cost",
            "fast",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        for _ in range(20):  # a warning or two may come first
            line = process.stdout.readline()
            if "listening on " in line or not line:
                break
        assert "listening on " in line, line
        yield line.strip().rsplit(" ", 1)[-1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def test_the_lean_venv_has_no_server_stack(lean: Path, tmp_path: Path) -> None:
    probe = "import importlib.util as u; print([m for m in %r if u.find_spec(m)])"
    names = ("starlette", "httptools", "uvloop", "openapi_spec_validator", "yaml", "httpx")
    out = subprocess.run(
        [str(lean / "python"), "-c", probe % (names,)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.stdout.strip() == "['yaml', 'httpx']"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve"], SERVE_NEEDS),
        (["run"], "regenkey run: needs the server extra: pip install 'regenkey-kit[server]'"),
        (["docs", "--out", "d"], "regenkey docs: needs the server extra (its responses come"),
        (["check-server"], "regenkey check-server: needs the server extra (the embedded"),
        (
            ["check-server", "--plan", "--base-url", "http://127.0.0.1:9"],
            "regenkey check-server: needs the server extra (the plan is rehearsed",
        ),
    ],
)
def test_a_command_that_needs_the_server_extra_says_so(
    lean: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = run(lean, *args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "pip install 'regenkey-kit[server]'" in out.stderr


def test_the_lean_install_judges_a_server_started_from_the_full_install(
    lean: Path, tmp_path: Path
) -> None:
    with full_serve() as url:
        out = run(
            lean,
            "check-server",
            "--base-url",
            url,
            "--user-id",
            USER,
            "--password",
            PASSWORD,
            "--allow-skip",
            "RK-PARAM-002,RK-ROT-008",
            "--report-dir",
            "r",
            "--record",
            "rec",
            cwd=tmp_path,
        )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Verdict: PASS" in out.stdout
    assert (tmp_path / "r" / "report.json").is_file()
    replayed = run(lean, "replay", "rec", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "Traceback" not in out.stderr + replayed.stderr


def test_the_lean_install_validates_and_checks_a_parser(lean: Path, tmp_path: Path) -> None:
    examples = ROOT / "spec" / "examples"
    good = run(lean, "validate", str(examples / "valid" / "response-success.xml"), cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run(lean, "validate", str(examples / "invalid" / "json-truncated.json"), cwd=tmp_path)
    assert bad.returncode == 1 and "RK-JSON-003" in bad.stdout
    parser = run(
        lean,
        "check-parser",
        "--command",
        f"{lean / 'regenkey'} parse",
        "--report-dir",
        "p",
        cwd=tmp_path,
    )
    assert parser.returncode == 0, parser.stdout + parser.stderr
    assert "Traceback" not in parser.stderr


def readme_counts() -> dict[str, int]:
    """The README's figures: `pip install regenkey-kit` (N runtime packages) ..."""
    counts = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"`pip install '?regenkey-kit(\[\w+\])?'?`", cells[0])
        if found and len(cells) == 3 and cells[2].isdigit():
            counts[found.group(1) or "core"] = int(cells[2])
    return counts


def test_the_readme_counts_the_runtime_packages_of_each_install(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    counts = readme_counts()
    # +1: the kit itself, as `pip list` counts it.
    assert set(counts) == {"core", "[server]", "[schemathesis]", "[all]"}, counts
    for key, count in counts.items():
        extras = set() if key == "core" else {key.strip("[]")}
        assert count == len(closure(wheel, extras)) + 1, (key, counts)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("REGENKEY_TEST_PACKAGE_INDEX") != "1",
    reason="reaches the package index, and tests send traffic to loopback only: "
    "set REGENKEY_TEST_PACKAGE_INDEX=1 to count the installs for real",
)
def test_installs_from_the_index_count_what_the_readme_says(tmp_path: Path) -> None:
    """For real: fresh venvs, `pip install dist/*.whl` and `pip install '...whl[server]'`
    from the package index, counted by `pip list` without pip and setuptools."""
    wheel = build_wheel(tmp_path / "dist")
    counts = readme_counts()
    for key, spec in (("core", str(wheel)), ("[server]", f"{wheel}[server]")):
        venv = tmp_path / key.strip("[]")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "--quiet", spec], check=True, timeout=600)
        listed = subprocess.run(
            [*pip, "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.split()
        names = {canonicalize_name(line.split("==")[0]) for line in listed}
        assert len(names - {"pip", "setuptools"}) == counts[key], (key, sorted(names))


def test_the_lean_install_judges_a_client(lean: Path, tmp_path: Path) -> None:
    """check-client plays its server on uvicorn's h11 stack: no server extra needed."""
    client = f"{lean / 'python'} {ROOT / 'tests' / 'clients' / 'pyclient.py'}"
    out = run(
        lean, "check-client", "--command", client, "--report-dir", "c", "--seed", "7", cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Verdict: PASS" in out.stdout
