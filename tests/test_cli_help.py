"""The command line a new user meets (issue 18): help without RST markup, a
bad flag answered with the subcommand's own usage, ``serve``'s defaults and
its warning without accounts, ``validate -`` and ``--version``."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.spec.catalogue import kit_identity
from regenkey.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    choices: dict[str, argparse.ArgumentParser] = actions[0].choices
    return choices


def _help(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    return out.getvalue()


def test_no_help_text_shows_rst_markup() -> None:
    commands = _subcommands()
    assert {"run", "check-server", "check-client", "check-parser", "docs"} <= set(commands)
    for argv in [["--help"], *([name, "--help"] for name in commands)]:
        text = _help(argv)
        assert "usage: regenkey" in text
        assert "``" not in text, (argv, text)


def test_a_bad_flag_prints_the_subcommands_usage() -> None:
    for name in ("check-server", "serve", "validate"):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
            main([name, "--no-such-flag", "x"] if name == "validate" else [name, "--no-such-flag"])
        assert stop.value.code == 2
        text = err.getvalue()
        assert f"usage: regenkey {name} " in text, text
        assert f"regenkey {name}: error: unrecognized arguments: --no-such-flag" in text, text


def test_serve_help_shows_its_defaults() -> None:
    text = " ".join(_help(["serve", "--help"]).split())
    assert "(default 8080)" in text and "(default 127.0.0.1)" in text
    assert "(default .regenkey/regenkey.sqlite3" in text


def test_the_default_database_folder_is_ignored_by_git() -> None:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".regenkey/" in lines
    done = subprocess.run(
        ["git", "check-ignore", "-q", ".regenkey/regenkey.sqlite3"],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
    )
    if done.returncode == 128:
        pytest.skip("not a git checkout: .gitignore's line is checked above")
    assert done.returncode == 0


def test_serve_without_accounts_warns_how_to_add_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "regenkey.cli", "serve", "--port", "0", "--password-cost", "fast"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        for _ in range(10):
            lines.append(process.stderr.readline())
            if "listening on " in lines[-1] or not lines[-1]:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    text = "".join(lines)
    assert "listening on http://127.0.0.1:" in text, text
    assert "WARNING: no accounts" in text and "--account USER:PASSWORD" in text
    assert "REGENKEY_ACCOUNTS" in text
    # the default database went under .regenkey/, never the working directory itself
    assert (tmp_path / ".regenkey" / "regenkey.sqlite3").is_file()
    assert not (tmp_path / "regenkey.sqlite3").exists()


def test_serve_with_an_account_does_not_warn(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regenkey.cli",
            "serve",
            "--memory",
            "--port",
            "0",
            "--password-cost",
            "fast",
            "--account",
            "alice:Alice-pass-1",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    try:
        first = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert "listening on " in first and "WARNING" not in first


def _validate(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "validate", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def test_validate_dash_reads_standard_input() -> None:
    valid = (SPEC / "examples" / "valid" / "response-success.json").read_bytes()
    done = _validate("-", stdin=valid)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"PASS (standard input) (json)" in done.stdout
    bad = _validate("-", stdin=b'{"status":"success","apiKey":"x"}')
    assert bad.returncode == 1 and b"RK-KEY-001" in bad.stdout
    plain = _validate("--format", "plain", "-", stdin=b"not a body")
    assert plain.returncode == 1 and b"FAIL (standard input) (plain)" in plain.stdout
    twice = _validate("-", "-", stdin=valid)
    assert twice.returncode == 2 and b"only once" in twice.stderr


def test_version_names_the_kit_the_catalogue_and_the_spec() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "regenkey.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    kit = kit_identity()
    assert done.stdout.strip() == kit.line()
    assert kit.version in done.stdout and kit.spec_sha256 in done.stdout
    assert f"catalogue {kit.catalogue_version}" in done.stdout
