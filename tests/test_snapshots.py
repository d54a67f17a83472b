"""Golden output: what the terminal shows for each command, pinned.

Each case runs the real ``regenkey`` command (a subprocess, against real
loopback servers and real client and parser processes) and compares its
stdout, stderr and exit code with ``tests/snapshots/<case>.txt``, after a
normaliser masks what changes from run to run: ports, seeds, keys and
passwords, temporary paths, the report directory, the interpreter's path and
timings. A difference fails with a unified diff. To accept the output as it
is now, rewrite every snapshot::

    REGENKEY_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -p no:cacheprovider -q \\
        tests/test_snapshots.py

Cases: a passing, a failing and an ERROR run of check-server, check-client,
check-parser, replay and validate (where the command has them), and the
passing ``run``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
REGENKEY = str(Path(sys.executable).parent / "regenkey")
PY = shlex.quote(sys.executable)
UPDATE = os.environ.get("REGENKEY_UPDATE_SNAPSHOTS") == "1"
PASSWORD = "Snapshot-pass-4242"
TRICKY_PASSWORD = "Snap shot+&=%41ü"
VALID_JSON = (
    b'{"status":"success","statusCode":"900","reason":"success",'
    b'"apiKey":"03db883b5e19416fbd306413b2fc0eb4"}\n'
)
INVALID_JSON = b'{"status":"success","statusCode":900,"reason":"success"}\n'  # no key, a number


# --- the normaliser -------------------------------------------------------------------------

_MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+"), r"\1:<PORT>"),
    (re.compile(r"\b(seed[ =]|--seed[ =])\d+"), r"\1<SEED>"),
    (re.compile(r"\b[0-9a-fA-F]{32}\b"), "<KEY>"),
    (re.compile(r"\b[0-9a-fA-F]{4}…[0-9a-fA-F]{4}\b"), "<KEY>"),
    (re.compile(r"Sandbox-[0-9a-f]{16}"), "<PASSWORD>"),
    (re.compile(r"Tr1cky [0-9a-f]{8}\+&=%41ü"), "<PASSWORD>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s)\b"), "<TIME>"),
    (re.compile(r"reports/\d{8}T\d{6}Z-[0-9a-f]{4}"), "reports/<STAMP>"),
]


# A run whose seed cannot be given (``regenkey run``) sends a different number of
# generated cases each time: only its counts are masked too.
_COUNTS = [
    (re.compile(r"\(\d+ checked\)"), "(<N> checked)"),
    (re.compile(r"^\d+ requests, ", re.MULTILINE), "<N> requests, "),
]


def normalise(text: str, tmp: Path, *, counts: bool = False) -> str:
    """``text`` with everything that differs between two runs of one case masked
    (with ``counts``, the number of cases too)."""
    for path, name in ((str(tmp), "<TMP>"), (sys.executable, "<PYTHON>"), (str(ROOT), "<ROOT>")):
        text = text.replace(path, name)
    for pattern, mask in _MASKS + (_COUNTS if counts else []):
        text = pattern.sub(mask, text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check_snapshot(name: str, actual: str) -> None:
    """Compare with ``tests/snapshots/<name>.txt``; rewrite it under UPDATE."""
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"no snapshot {path.name}: run with REGENKEY_UPDATE_SNAPSHOTS=1 to write it")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"tests/snapshots/{path.name}",
            tofile="actual output",
        )
        pytest.fail(
            "the output differs from its snapshot (REGENKEY_UPDATE_SNAPSHOTS=1 accepts it):\n"
            + "".join(diff),
            pytrace=False,
        )


def regenkey(tmp: Path, *args: str, env: dict[str, str] | None = None, counts: bool = False) -> str:
    """Run the command; its output, exit code included, normalised."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    run = subprocess.run(
        [REGENKEY, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
        env={**base, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})},
    )
    shown = ["$ regenkey " + " ".join(args), "--- stdout", run.stdout, "--- stderr", run.stderr]
    shown.append(f"--- exit {run.returncode}")
    return normalise("\n".join(shown), tmp, counts=counts)


# --- the cases --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _broken_server(name: str) -> Iterator[str]:
    broken = next(b for b in BROKEN if b.name == name)
    store = MemoryStore()
    accounts = Accounts(PASSWORD, TRICKY_PASSWORD)
    store.add_account(PLAIN_USER, PASSWORD)
    store.add_account(TRICKY_USER, TRICKY_PASSWORD)
    with serving(broken.make(store, accounts)) as url:  # type: ignore[arg-type]
        yield url


def _server_args(url: str) -> list[str]:
    return ["check-server", "--base-url", url, "--user-id", PLAIN_USER]


SERVER_SELECTION = ["--seed", "1", "--max-examples", "2", "--req", "RK-JSON-*,RK-FMT-*"]


def _recording(tmp: Path, bodies: list[tuple[bytes, list[str]]]) -> Path:
    """A recording as ``check-server --record`` writes it: each (body, violations)."""
    directory = tmp / "recorded"
    directory.mkdir()
    lines = []
    for body, violations in bodies:
        entry = {
            "request": {
                "method": "POST",
                "path": "SMSApi/rest/regenerateAPIKey",
                "headers": [],
                "body": "userId=u&password=[REDACTED]&format=json",
            },
            "response": {"status": 200, "headers": [], "body": body.decode()},
            "format": "json",
            "violations": violations,
        }
        lines.append(json.dumps(entry))
    (directory / "exchanges.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def _client(*args: str) -> str:
    return " ".join([PY, shlex.quote(str(ROOT / "tests/clients/pyclient.py")), *args])


def _parser(*args: str) -> str:
    return " ".join([PY, shlex.quote(str(ROOT / "tests/parsers/broken_parser.py")), *args])


CASES: dict[str, Callable[[Path, ExitStack], str]] = {}


def case(
    name: str,
) -> Callable[[Callable[[Path, ExitStack], str]], Callable[[Path, ExitStack], str]]:
    def register(run: Callable[[Path, ExitStack], str]) -> Callable[[Path, ExitStack], str]:
        CASES[name] = run
        return run

    return register


def _reports(tmp: Path) -> list[str]:
    return ["--report-dir", str(tmp / "reports")]


@case("check-server-pass")
def _server_pass(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "check-server", *SERVER_SELECTION, *_reports(tmp))


@case("check-server-fail")
def _server_fail(tmp: Path, stack: ExitStack) -> str:
    url = stack.enter_context(_broken_server("json-extra-member"))
    args = [*_server_args(url), *SERVER_SELECTION, *_reports(tmp)]
    return regenkey(tmp, *args, env={"REGENKEY_PASSWORD": PASSWORD})


@case("check-server-error")
def _server_error(tmp: Path, _: ExitStack) -> str:
    args = [*_server_args(f"http://127.0.0.1:{_free_port()}"), *SERVER_SELECTION]
    return regenkey(tmp, *args, *_reports(tmp), env={"REGENKEY_PASSWORD": PASSWORD})


def _check_client(tmp: Path, command: str) -> str:
    args = ["--command", command, "--seed", "1", "--jobs", "1", *_reports(tmp)]
    return regenkey(tmp, "check-client", *args)


@case("check-client-pass")
def _client_pass(tmp: Path, _: ExitStack) -> str:
    return _check_client(tmp, _client())


@case("check-client-fail")
def _client_fail(tmp: Path, _: ExitStack) -> str:
    return _check_client(tmp, _client("--encoding", "query"))


@case("check-client-error")
def _client_error(tmp: Path, _: ExitStack) -> str:
    return _check_client(tmp, str(tmp / "no-such-client"))


@case("check-parser-pass")
def _parser_pass(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "check-parser", "--command", _parser(), *_reports(tmp))


@case("check-parser-fail")
def _parser_fail(tmp: Path, _: ExitStack) -> str:
    command = _parser("--bug", "drops-reason")
    return regenkey(tmp, "check-parser", "--command", command, *_reports(tmp))


@case("check-parser-error")
def _parser_error(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "check-parser", "--command", _parser("--bug", "crash"), *_reports(tmp))


@case("replay-pass")
def _replay_pass(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "replay", str(_recording(tmp, [(VALID_JSON, [])])))


@case("replay-fail")
def _replay_fail(tmp: Path, _: ExitStack) -> str:
    # the second body breaks a MUST, and was recorded as valid: spec drift too
    recorded = _recording(tmp, [(VALID_JSON, []), (INVALID_JSON, [])])
    return regenkey(tmp, "replay", str(recorded))


@case("replay-error")
def _replay_error(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "replay", str(tmp))  # no recording in it


@case("validate-pass")
def _validate_pass(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "validate", str(_body(tmp, VALID_JSON)))


@case("validate-fail")
def _validate_fail(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "validate", str(_body(tmp, INVALID_JSON)))


@case("validate-error")
def _validate_error(tmp: Path, _: ExitStack) -> str:
    return regenkey(tmp, "validate", str(tmp / "missing.json"))


@case("run-pass")
def _run_pass(tmp: Path, _: ExitStack) -> str:
    # the self-checks, then the embedded reference server (run has no failing run)
    return regenkey(tmp, "run", counts=True)  # its seed is drawn: the case counts vary


def _body(tmp: Path, body: bytes) -> Path:
    path = tmp / "body.json"
    path.write_bytes(body)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_output_matches_its_snapshot(name: str, tmp_path: Path) -> None:
    with ExitStack() as stack:
        actual = CASES[name](tmp_path, stack)
    check_snapshot(name, actual)


def test_the_normaliser_masks_what_changes_between_runs(tmp_path: Path) -> None:
    text = (
        f"Judging the embedded reference server at http://127.0.0.1:43121\n"
        f"24 requests, seed 3141592: 3 pass (--seed 99) key 0123456789abcdef0123456789abcdef "
        f"03db…0eb4 Sandbox-0123456789abcdef in 1.25 s\nReports: {tmp_path}/reports   \n"
    )
    assert normalise(text, tmp_path) == (
        "Judging the embedded reference server at http://127.0.0.1:<PORT>\n"
        "24 requests, seed <SEED>: 3 pass (--seed <SEED>) key <KEY> <KEY> <PASSWORD> in <TIME>\n"
        "Reports: <TMP>/reports\n"
    )
    counted = normalise("  PASS  RK-FMT-001 (12 checked)\n318 requests, seed 5: 3 pass\n", tmp_path)
    assert counted == "  PASS  RK-FMT-001 (12 checked)\n318 requests, seed <SEED>: 3 pass\n"
    assert normalise(counted, tmp_path, counts=True) == (
        "  PASS  RK-FMT-001 (<N> checked)\n<N> requests, seed <SEED>: 3 pass\n"
    )


def test_a_changed_output_fails_with_a_unified_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SNAPSHOTS", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "UPDATE", False)
    (tmp_path / "demo.txt").write_text("Verdict: PASS\n", encoding="utf-8")
    check_snapshot("demo", "Verdict: PASS\n")  # equal: passes
    with pytest.raises(pytest.fail.Exception) as failed:
        check_snapshot("demo", "Verdict: FAIL\n")
    assert "-Verdict: PASS\n+Verdict: FAIL" in str(failed.value)
    assert "--- tests/snapshots/demo.txt" in str(failed.value)
