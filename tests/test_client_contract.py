"""The README's client adapter contract (issue 16): its two example clients,
a Node one in adapter mode and a bash+curl one in raw mode, are the files in
tests/clients/ byte for byte, and both pass ``check-client --strict``."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from regenkey.cli import main

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "tests" / "clients"
EXAMPLES = {"js": CLIENTS / "readme_client.js", "sh": CLIENTS / "readme_client.sh"}


def contract_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Client adapter contract\n")
    following = re.compile(r"^#{2,3} ", re.MULTILINE).search(text, start + 1)
    return text[start : following.start() if following else len(text)]


def code_blocks(section: str) -> dict[str, str]:
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    return dict(blocks)


def test_the_readme_examples_are_the_files_in_tests_clients() -> None:
    blocks = code_blocks(contract_section())
    assert set(blocks) == set(EXAMPLES)
    for language, path in EXAMPLES.items():
        assert blocks[language] == path.read_text(encoding="utf-8"), path.name
        assert len(blocks[language].splitlines()) <= 25, path.name  # an example, not an SDK


def test_the_contract_names_every_variable_the_kit_sets() -> None:
    section = contract_section()
    for name in ("BASE_URL", "FORMAT", "USER_ID", "PASSWORD", "API_KEY", "ROTATIONS"):
        assert f"`REGENKEY_{name}" in section, name
    for rid in ("RK-CLI-005", "RK-CLI-006", "RK-CLI-007", "RK-CLI-008", "RK-CLI-009"):
        assert rid in section, rid


def example_command(path: Path) -> tuple[str, list[str]]:
    """The command line its first comment gives, run from the checkout."""
    first = path.read_text(encoding="utf-8").splitlines()[:2]
    line = next(x for x in first if "regenkey check-client" in x)
    argv = shlex.split(line.split("regenkey ", 1)[1])
    at = argv.index("--command")
    program, script = shlex.split(argv[at + 1])
    command = f"{shlex.quote(program)} {shlex.quote(str(ROOT / script))}"
    return program, [*argv[:at], "--command", command, *argv[at + 2 :]]


def check_client(tmp_path: Path, argv: list[str]) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = main([*argv, "--strict", "--seed", "16", "--report-dir", str(reports)])
    return code, json.loads((reports / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", list(EXAMPLES))
def test_a_readme_example_passes_check_client_strict(tmp_path: Path, language: str) -> None:
    program, argv = example_command(EXAMPLES[language])
    for tool in {program, "curl" if language == "sh" else program}:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    code, report = check_client(tmp_path, argv)
    assert report["verdict"] == "pass", [r for r in report["requirements"] if r["status"] != "pass"]
    assert code == 0
    passed = {r["id"] for r in report["requirements"] if r["status"] == "pass"}
    assert {"RK-PARAM-003", "RK-AUTH-010", "RK-CLI-002", "RK-CLI-005", "RK-CLI-006"} <= passed
