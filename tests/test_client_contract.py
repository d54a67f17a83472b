"""The README's client adapter contract (issue 16): its two example clients,
a Node one in adapter mode and a bash+curl one in raw mode, are the files in
tests/clients/ byte for byte, and both pass ``check-client --strict``."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance import Format
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
    for name in (
        "BASE_URL",
        "FORMAT",
        "USER_ID",
        "PASSWORD",
        "API_KEY",
        "ROTATIONS",
        "CLIENT_TIMEOUT",
    ):
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
    flags = ["--strict", "--seed", "16", "--report-dir", str(reports)]
    # 3 s a run, unless argv says otherwise (argparse takes the last)
    code = main([argv[0], "--timeout", "3", *argv[1:], *flags])
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


def test_the_client_and_parser_suites_are_configured_by_keyword() -> None:
    """ClientSuiteConfig and ParserSuiteConfig take keywords only, and the
    client's way of authenticating is the Auth enum, None standing for both."""
    from conformance.client.checks import reproduction
    from conformance.client.runner import ClientSuiteConfig, parse_auth
    from conformance.client.scenarios import Auth
    from conformance.vectors.parser_suite import ParserSuiteConfig

    with pytest.raises(TypeError):
        ClientSuiteConfig("true")  # type: ignore[misc]
    with pytest.raises(TypeError):
        ParserSuiteConfig("true")  # type: ignore[misc]
    assert ClientSuiteConfig(command="true").auths == (Auth.CREDENTIALS, Auth.KEY)
    assert ClientSuiteConfig(command="true", auth=Auth.KEY).auths == (Auth.KEY,)
    assert ParserSuiteConfig(command="true", strict=True).strict
    parsed = [parse_auth(text) for text in ("both", "credentials", "key")]
    assert parsed == [None, Auth.CREDENTIALS, Auth.KEY]
    assert " --auth key " in reproduction("c", False, Auth.KEY, 3)
    assert "--auth" not in reproduction("c", False, None, 3)
    with pytest.raises(SystemExit) as refused:  # argparse's usage error, as before
        main(["check-client", "--command", "true", "--auth", "token"])
    assert refused.value.code == 2


def test_every_run_is_told_its_timeout_and_the_test_client_takes_it(tmp_path: Path) -> None:
    """REGENKEY_CLIENT_TIMEOUT carries --timeout to every run, the safety
    scenarios' too; pyclient, taking it as its own, gives up on a stalled
    answer after that long, well before its 5 s default would end."""
    import random
    import sys

    from conformance.client.safety import Kind, safety_plan
    from conformance.client.safety_run import run_safety_case, safety_servers
    from conformance.client.scenarios import Auth

    seen = tmp_path / "timeouts"
    pyclient = f"{shlex.quote(sys.executable)} {shlex.quote(str(CLIENTS / 'pyclient.py'))}"
    command = f'echo "$REGENKEY_CLIENT_TIMEOUT" >> {shlex.quote(str(seen))}; {pyclient}'
    argv = ["check-client", "--command", command, "--formats", "json", "--auth", "key"]
    code, report = check_client(tmp_path, [*argv, "--timeout", "2.5"])
    assert code == 0, [r for r in report["requirements"] if r["status"] != "pass"]
    runs = seen.read_text(encoding="utf-8").split()
    assert runs and set(runs) == {"2.5"}
    assert len(runs) == report["cases"]  # one request a run: every run was told
    stall = next(
        s
        for s in safety_plan(random.Random(1), (Auth.KEY,), (Format.JSON,), 1)
        if s.kind is Kind.STALL
    )
    env = {"PATH": os.environ["PATH"], "REGENKEY_CLIENT_TIMEOUT": "0.5"}
    with safety_servers() as servers:
        case = run_safety_case(pyclient, env, stall, servers, timeout=0.5)  # a 3 s bound
    assert case.output is not None and not case.timed_out, case
    assert case.output.exit_code != 0 and len(case.requests) == 1
