"""`regenkey` loads the kit only for the command that runs.

Every subcommand module keeps its heavy imports (the kit, the reference
server and client, their libraries) inside the function that runs it, so
that `regenkey --help` and argument errors answer at once, and so that a
command pays only for what it uses (docs/BENCHMARKS.md: start-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import Format
from regenkey import validate_cmd

# rich draws the live progress line (regenkey/progress.py): loaded only when one is drawn.
HEAVY = ("conformance", "reference_impl", "hypothesis", "httpx", "starlette", "uvicorn",
         "xmlschema", "jsonschema", "lark", "yaml", "rich")  # fmt: skip


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def _heavy_after_main(*argvs: list[str]) -> set[str]:
    """The heavy top-level packages loaded once ``main(argv)`` ran for each argv
    (its output swallowed; a usage error or --help exits, which is fine)."""
    code = (
        "import contextlib, io\n"
        "from regenkey.cli import main\n"
        f"for argv in {list(argvs)!r}:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \\\n"
        "            contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
    )
    return _modules_after(code) & set(HEAVY)


def test_building_the_parser_loads_nothing_heavy() -> None:
    loaded = _modules_after("from regenkey.cli import build_parser\nbuild_parser()")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_of_every_subcommand_loads_nothing_heavy() -> None:
    commands = ["run", "call", "check-server", "replay", "serve", "validate", "check-client",
                "check-parser", "parse", "docs"]  # fmt: skip
    assert _heavy_after_main(["--help"], *([cmd, "--help"] for cmd in commands)) == set()


def test_the_spelled_out_format_choices_are_the_formats() -> None:
    assert validate_cmd.FORMAT_CHOICES == tuple(f.value for f in Format)


def test_a_usage_error_answers_without_loading_the_kit() -> None:
    assert _heavy_after_main(["check-server", "--max-examples", "many"]) == set()
    assert _heavy_after_main(["check-server", "--no-such-flag"]) == set()


def test_the_probe_sees_a_command_that_does_load_the_kit() -> None:
    # `validate` on a missing file runs, and so loads the kit: the probe can fail.
    assert "conformance" in _heavy_after_main(["validate", "/nonexistent/body.json"])


def test_a_run_leaves_no_hypothesis_folder_where_it_was_started(tmp_path: Path) -> None:
    # Hypothesis' own default is ./.hypothesis: a run in the user's project would
    # leave it there, and build its Unicode tables again (seconds) in every new folder
    cache, work = tmp_path / "cache", tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGENKEY_", "HYPOTHESIS_"))}
    env["XDG_CACHE_HOME"] = str(cache)
    argv = [str(Path(sys.executable).parent / "regenkey"), "check-server", "--max-examples", "2"]
    done = subprocess.run([*argv, "--report-dir", "r"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["r"]
    assert (cache / "regenkey" / "hypothesis" / "unicode_data").is_dir()


def test_a_host_running_hypothesis_keeps_its_own_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    from regenkey import cli

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    assert "hypothesis" in sys.modules  # this pytest runs it
    cli._generation_cache()
    assert "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ
