"""`regenkey` loads the kit only for the command that runs.

Every subcommand module keeps its heavy imports (the kit, the reference
server and client, their libraries) inside the function that runs it, so
that `regenkey --help` and argument errors answer at once, and so that a
command pays only for what it uses (docs/BENCHMARKS.md: start-up).
"""

from __future__ import annotations

import json
import subprocess
import sys

from conformance import Format
from regenkey import validate_cmd

HEAVY = ("conformance", "reference_impl", "hypothesis", "httpx", "starlette", "uvicorn",
         "xmlschema", "jsonschema", "lark", "yaml")  # fmt: skip


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_building_the_parser_loads_nothing_heavy() -> None:
    loaded = _modules_after("from regenkey.cli import build_parser\nbuild_parser()")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_of_every_subcommand_loads_nothing_heavy() -> None:
    code = (
        "import contextlib, io\n"
        "from regenkey.cli import build_parser\n"
        "for cmd in ['run', 'call', 'check-server', 'replay', 'serve', 'validate',\n"
        "            'check-client', 'check-parser', 'parse', 'docs']:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        build_parser().parse_args([cmd, '--help'])\n"
    )
    loaded = _modules_after(code)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_spelled_out_format_choices_are_the_formats() -> None:
    assert validate_cmd.FORMAT_CHOICES == tuple(f.value for f in Format)


def test_a_usage_error_answers_without_loading_the_kit() -> None:
    code = (
        "import contextlib, io\n"
        "from regenkey.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['check-server', '--max-examples', 'many'])\n"
    )
    loaded = _modules_after(code)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
