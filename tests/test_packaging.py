"""The spec ships inside the built wheel and loads from there, not the checkout."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_spec_and_loads_it_outside_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("regenkey_kit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    spec_files = {
        str(p.relative_to(ROOT / "spec")) for p in (ROOT / "spec").rglob("*") if p.is_file()
    }
    assert {f"regenkey_spec/{f}" for f in spec_files} <= names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "import conformance, importlib.resources as r;"
        "from conformance.validation.selfcheck import run_self_checks;"
        "assert all(c.ok for c in run_self_checks());"
        "print(r.files('regenkey_spec'))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert str(target) in out.stdout


def test_every_python_package_is_listed_for_setuptools() -> None:
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    for top in ("conformance", "reference_impl", "regenkey"):
        for init in (ROOT / top).rglob("__init__.py"):
            package = ".".join(init.parent.relative_to(ROOT).parts)
            assert package in listed, f"{package} is missing from [tool.setuptools] packages"


def test_the_wheel_carries_the_license_and_builds_without_deprecation_warnings(
    tmp_path: Path,
) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = build.stdout + build.stderr
    assert "BuildBackendWarning" not in log, log[-3000:]
    assert "deprecated" not in log.lower(), log[-3000:]
    (wheel,) = (tmp_path / "dist").glob("regenkey_kit-*.whl")
    archive = zipfile.ZipFile(wheel)
    (meta,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    text = archive.read(meta).decode()
    assert "License-Expression: MIT\n" in text and "License-File: LICENSE\n" in text
    (licence,) = (n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE"))
    assert archive.read(licence).decode() == (ROOT / "LICENSE").read_text()
    # The server stack is an extra, not the core (tests/test_install_extras.py installs both).
    core = [
        line
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert not [line for line in core if re.search(r"starlette|httptools|uvloop|openapi", line)]
