"""What an adopter copies: the CI workflows, the pre-commit hooks, the Dockerfile and
the live-mode guide. Every `regenkey` command line in them parses with the real CLI."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from regenkey.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / "docs" / "ci").glob("*.yml"))
EXAMPLES = ROOT / "spec" / "examples"
REGENKEY = Path(sys.executable).parent / "regenkey"


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def invocations(text: str) -> list[list[str]]:
    """The `regenkey ...` command lines of a shell snippet (folded or one a line)."""
    return [
        shlex.split(line.strip())
        for line in text.splitlines()
        if line.strip().startswith("regenkey ")
    ]


def test_there_is_a_workflow_for_a_server_and_one_for_a_client() -> None:
    assert [p.name for p in WORKFLOWS] == ["check-client.yml", "check-server.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_workflow_is_valid_yaml_and_every_regenkey_line_parses(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict) and workflow["jobs"]
    assert True in workflow or "on" in workflow  # YAML 1.1 reads the key `on` as True
    commands = [argv for step in steps(workflow) for argv in invocations(step.get("run", ""))]
    assert commands, f"{path.name} runs no regenkey command"
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv[1:])  # a bad flag exits 2: SystemExit fails the test
        assert callable(args.handler)
    wanted = path.stem  # check-server.yml runs check-server, check-client.yml check-client
    assert wanted in {argv[1] for argv in commands}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_workflow_uploads_the_reports_it_writes_even_when_the_run_fails(
    path: Path,
) -> None:
    workflow = yaml.safe_load(path.read_text())
    uploads = [
        s for s in steps(workflow) if str(s.get("uses", "")).startswith("actions/upload-artifact")
    ]
    assert len(uploads) == 1 and uploads[0]["if"] == "always()"
    uploaded = uploads[0]["with"]["path"].split()
    for step in steps(workflow):
        for argv in invocations(step.get("run", "")):
            report_dir = argv[argv.index("--report-dir") + 1]
            assert any(report_dir.startswith(p.rstrip("/")) for p in uploaded), report_dir


def test_the_server_workflow_keeps_the_password_off_the_command_line() -> None:
    text = (ROOT / "docs" / "ci" / "check-server.yml").read_text()
    assert "--password" not in text
    assert "REGENKEY_PASSWORD: ${{ secrets." in text


HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
SAMPLES = {  # format: (a valid body, an invalid body)
    "json": ("valid/response-success.json", "invalid/json-truncated.json"),
    "xml": ("valid/response-success.xml", "invalid/xml-unclosed-root.xml"),
    "plain": ("valid/response-success.txt", "invalid/plain-two-lines.txt"),
}


def test_the_pre_commit_hooks_cover_the_three_formats() -> None:
    assert isinstance(HOOKS, list)
    assert [h["id"] for h in HOOKS] == [f"regenkey-validate-{f}" for f in SAMPLES]
    for hook in HOOKS:
        assert hook["language"] == "python"  # pre-commit installs the kit (the lean core)
        assert {"id", "name", "entry", "files"} <= hook.keys()


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_each_pre_commit_hook_passes_a_valid_body_and_fails_an_invalid_one(
    hook: dict[str, Any], tmp_path: Path
) -> None:
    fmt = hook["id"].rsplit("-", 1)[-1]
    entry = shlex.split(hook["entry"])
    assert entry[0] == "regenkey"
    good, bad = (EXAMPLES / name for name in SAMPLES[fmt])
    files = re.compile(hook["files"])
    suffix = good.suffix
    assert files.search(f"tests/responses/ok{suffix}")
    assert not files.search(f"package{suffix}")  # only saved responses, by default
    for body, code in ((good, 0), (bad, 1)):
        out = subprocess.run(
            [str(REGENKEY), *entry[1:], str(body)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert out.returncode == code, (body, out.stdout, out.stderr)
    both = subprocess.run(
        [str(REGENKEY), *entry[1:], str(good), str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert both.returncode == 1  # pre-commit passes many files: one bad one fails the hook


def container_engine() -> str | None:
    for name in ("docker", "podman"):
        if shutil.which(name) is None:
            continue
        try:
            ok = subprocess.run([name, "info"], capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return name
    return None


def test_the_dockerfile_installs_the_wheel_with_the_server_extra() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "[server]" in text and 'ENTRYPOINT ["regenkey"]' in text
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_builds_and_runs_the_kit(tmp_path: Path) -> None:
    engine = container_engine()
    if engine is None:
        pytest.skip("no container engine on this machine")
    tag = "regenkey-kit-test:latest"
    subprocess.run([engine, "build", "-t", tag, str(ROOT)], check=True, timeout=900)
    out = subprocess.run(
        [engine, "run", "--rm", "--network", "none", tag, "run"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Verdict: PASS" in out.stdout


def test_the_license_matches_the_metadata() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    authors = {a["name"] for a in project["authors"]}
    assert "Copyright (c) 2026 regenkey authors" in text and authors == {"regenkey authors"}


def test_the_live_guide_names_every_live_flag_the_cli_has() -> None:
    guide = (ROOT / "docs" / "LIVE.md").read_text()
    parser = build_parser()
    (subcommands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    check_server = subcommands.choices["check-server"]
    flags = {o for a in check_server._actions for o in a.option_strings}
    for flag in (
        "--live",
        "--plan",
        "--key-file",
        "--max-rotations",
        "--max-bad-logins",
        "--allow-skip",
        "--proxy",
    ):
        assert flag in flags and f"`{flag}" in guide, flag
    from regenkey.keyfile import LAST_RESORT

    assert LAST_RESORT in guide  # the words a user sees when a key could not be saved
