"""One verdict everywhere: for every command that writes reports, the exit
code, the printed ``Verdict:`` line, report.json's verdict, JUnit's totals and
the HTML banner agree, for PASS, FAIL, NON-STRICT-only (with and without
--strict), INCOMPLETE and ERROR runs.

Each run is the real ``regenkey`` command (a subprocess) against a real
server on 127.0.0.1, a real client command or a real parser command.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from conformance.reporting.document import report_schema
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import Breaker, Req, Resp
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

REGENKEY = str(Path(sys.executable).parent / "regenkey")
PASSWORD = "Agreement-pass-71"
TRICKY = "Agree p&ss+=%71"  # needs URL-encoding everywhere: RK-PARAM-002
EXIT = {"pass": 0, "fail": 1, "incomplete": 2, "error": 2}
ROOT = Path(__file__).resolve().parent
PY = shlex.quote(sys.executable)


def regenkey(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REGENKEY, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "REGENKEY_PASSWORD": PASSWORD,
            "REGENKEY_TRICKY_PASSWORD": TRICKY,
            **(env or {}),
        },
    )


class _Banner(HTMLParser):
    """The verdict in report.html's <h1>: its class and its word."""

    def __init__(self) -> None:
        super().__init__()
        self.in_h1 = False
        self.cls: str | None = None
        self.word = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h1":
            self.in_h1 = True
        elif tag == "span" and self.in_h1:
            self.cls = dict(attrs).get("class")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_h1 and self.cls is not None and not self.word:
            self.word = data.strip()


def assert_agree(run: subprocess.CompletedProcess[str], reports: Path, verdict: str) -> None:
    """Exit code, terminal, report.json, junit.xml and report.html all say ``verdict``."""
    shown = run.stdout[-3000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr, shown
    assert run.returncode == EXIT[verdict], shown
    printed = re.findall(r"^Verdict: ([A-Z-]+)", run.stdout, re.M)
    assert printed and printed[-1] == verdict.upper(), shown
    document = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(report_schema()).validate(document)
    assert document["verdict"] == verdict
    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    failures, errors = int(suite.attrib["failures"]), int(suite.attrib["errors"])
    types = {e.attrib.get("type") for e in suite.iter("error")}
    # The suite's own properties (test cases carry a verdict property of their own).
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.findall("properties/property")}
    assert properties["verdict"] == verdict
    if verdict == "pass":
        assert failures == errors == 0
    elif verdict == "fail":
        assert failures > 0
    elif verdict == "error":
        assert failures == 0 and errors > 0 and "ERROR" in types
    else:  # incomplete: never green in a CI that reads only JUnit
        assert failures == 0 and errors > 0 and types == {"INCOMPLETE"}
    banner = _Banner()
    banner.feed((reports / "report.html").read_text(encoding="utf-8"))
    assert (banner.cls, banner.word) == (f"verdict-{verdict}", verdict.upper())


# --- check-server ---------------------------------------------------------------------


def _wrong_media(req: Req, resp: Resp) -> None:
    """Only RK-FMT-005 (a SHOULD) breaks: JSON bodies labelled text/html."""
    if resp.body.lstrip()[:1] == b"{":
        resp.headers = [(k, v) for k, v in resp.headers if k.lower() != b"content-type"]
        resp.headers.append((b"content-type", b"text/html"))


@contextmanager
def server(kind: str) -> Iterator[str]:
    store = MemoryStore()
    store.add_account(PLAIN_USER, PASSWORD)
    store.add_account(TRICKY_USER, TRICKY)
    if kind == "reference":
        app = build_app(store)
    elif kind == "wrong-media":
        app = Breaker(build_app(store), on_response=_wrong_media)
    else:
        (broken,) = [s for s in BROKEN if s.name == kind]
        app = broken.make(store, Accounts(PASSWORD, TRICKY))
    with serving(app) as url:
        yield url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER_RUNS = [
    ("reference", [], "pass"),
    ("code-200", [], "fail"),  # RK-SUCC-002, a MUST
    ("wrong-media", [], "pass"),  # NON-STRICT only
    ("wrong-media", ["--strict"], "fail"),
    # Without the second account (--tricky-user-id) RK-PARAM-002 is not judged.
    ("reference", ["--no-tricky"], "incomplete"),
    (
        "reference",
        ["--no-tricky", "--req", "RK-PARAM-*,RK-FMT-003", "--allow-skip", "RK-PARAM-002"],
        "pass",
    ),
    ("nothing-listening", [], "error"),
]


@pytest.mark.parametrize(
    ("kind", "flags", "verdict"), SERVER_RUNS, ids=[f"{k}{''.join(f)}" for k, f, _ in SERVER_RUNS]
)
def test_check_server_verdicts_agree(
    tmp_path: Path, kind: str, flags: list[str], verdict: str
) -> None:
    args = ["check-server", "--user-id", PLAIN_USER, "--max-examples", "3", "--seed", "5"]
    args += ["--report-dir", str(tmp_path)]
    env = {}
    if "--no-tricky" in flags:
        flags = [f for f in flags if f != "--no-tricky"]
        env["REGENKEY_TRICKY_PASSWORD"] = ""
    else:
        args += ["--tricky-user-id", TRICKY_USER]
    args += flags
    if kind == "nothing-listening":
        run = regenkey(*args, "--base-url", f"http://127.0.0.1:{_free_port()}", env=env)
    else:
        with server(kind) as url:
            run = regenkey(*args, "--base-url", url, env=env)
    assert_agree(run, tmp_path, verdict)
    if kind == "wrong-media":
        document = json.loads((tmp_path / "report.json").read_text())
        assert {r["id"] for r in document["requirements"] if r["status"] != "pass"} == {
            "RK-FMT-005"
        }


def test_base_url_from_the_environment_is_judged_not_replaced(tmp_path: Path) -> None:
    port = _free_port()
    run = regenkey(
        "check-server",
        "--user-id",
        "u",
        "--report-dir",
        str(tmp_path),
        env={"REGENKEY_BASE_URL": f"http://127.0.0.1:{port}", "REGENKEY_TRICKY_PASSWORD": ""},
    )
    assert f"Judging http://127.0.0.1:{port}" in run.stdout
    assert "embedded" not in run.stdout
    assert_agree(run, tmp_path, "error")


# --- check-client ---------------------------------------------------------------------


def _pyclient(*args: str) -> str:
    return " ".join([PY, shlex.quote(str(ROOT / "clients" / "pyclient.py")), *args])


CLIENT_RUNS = [
    (_pyclient(), [], "pass"),
    (_pyclient("--bug", "regex-json"), [], "fail"),  # RK-CLI-003
    (_pyclient("--encoding", "multipart"), [], "pass"),  # RK-AUTH-014, a SHOULD
    (_pyclient("--encoding", "multipart"), ["--strict"], "fail"),
    # A client declared to authenticate by credentials only cannot have RK-AUTH-010 judged.
    (_pyclient(), ["--auth", "credentials", "--req", "RK-AUTH-010,RK-CLI-002"], "incomplete"),
    (
        _pyclient(),
        ["--auth", "credentials", "--req", "RK-AUTH-010,RK-CLI-002", "--allow-skip", "RK-AUTH-*"],
        "pass",
    ),
    ("/nonexistent/regenkey-client", [], "error"),
]


@pytest.mark.parametrize(
    ("command", "flags", "verdict"),
    CLIENT_RUNS,
    ids=[f"{v}{''.join(f)}" for _, f, v in CLIENT_RUNS],
)
def test_check_client_verdicts_agree(
    tmp_path: Path, command: str, flags: list[str], verdict: str
) -> None:
    run = regenkey(
        "check-client", "--command", command, "--seed", "7", "--report-dir", str(tmp_path), *flags
    )
    assert_agree(run, tmp_path, verdict)


# --- check-parser ---------------------------------------------------------------------


def _parser(*args: str) -> str:
    return " ".join([PY, shlex.quote(str(ROOT / "parsers" / "broken_parser.py")), *args])


PARSER_RUNS = [
    (_parser(), [], "pass"),
    (_parser("--bug", "drops-reason"), [], "fail"),  # RK-PARSE-001
    (_parser("--bug", "upper-keys"), [], "pass"),  # RK-PARSE-003, a SHOULD
    (_parser("--bug", "upper-keys"), ["--strict"], "fail"),
    ("exit 3", [], "error"),  # dies at once
    ("cat", ["--timeout", "2"], "error"),  # answers out of protocol
]


@pytest.mark.parametrize(
    ("command", "flags", "verdict"),
    PARSER_RUNS,
    ids=[f"{c.split()[-1]}{''.join(f)}" for c, f, _ in PARSER_RUNS],
)
def test_check_parser_verdicts_agree(
    tmp_path: Path, command: str, flags: list[str], verdict: str
) -> None:
    # No INCOMPLETE path: every selected vector is answered, or once the
    # parser breaks, the rest are ERROR.
    run = regenkey("check-parser", "--command", command, "--report-dir", str(tmp_path), *flags)
    assert_agree(run, tmp_path, verdict)


# --- replay ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("recording")
    args = ["--user-id", PLAIN_USER, "--tricky-user-id", TRICKY_USER, "--max-examples", "2"]
    args += ["--record", str(directory / "rec"), "--report-dir", str(directory / "r")]
    with server("reference") as url:
        run = regenkey("check-server", "--base-url", url, *args)
    assert run.returncode == 0, run.stdout[-2000:]
    return directory / "rec" / "exchanges.jsonl"


def _edited(recording: Path, tmp_path: Path, edit: str) -> Path:
    lines = recording.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    if edit == "drift":  # a JSON success body that breaks RK-JSON-002 now
        entry = next(e for e in entries if '"statusCode": "900"' in e["response"]["body"])
        entry["response"]["body"] = entry["response"]["body"].replace('"900"', "900")
    elif edit == "nothing-judged":
        for entry in entries:
            entry["format"] = None
    out = tmp_path / "rec"
    out.mkdir()
    text = "\n".join(json.dumps(e) for e in entries) + "\n"
    (out / "exchanges.jsonl").write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("edit", "verdict"), [("none", "pass"), ("drift", "fail"), ("nothing-judged", "incomplete")]
)
def test_replay_verdicts_agree(recording: Path, tmp_path: Path, edit: str, verdict: str) -> None:
    # Replay judges MUST body rules only, so it has no NON-STRICT run.
    directory = _edited(recording, tmp_path, edit)
    run = regenkey("replay", str(directory), "--report-dir", str(tmp_path / "reports"))
    assert_agree(run, tmp_path / "reports", verdict)
    if edit == "drift":
        assert "DRIFT exchange" in run.stdout


def test_replay_of_a_damaged_recording_is_an_error_and_claims_nothing(tmp_path: Path) -> None:
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "exchanges.jsonl").write_text('{"format": "json"}\n')
    run = regenkey("replay", str(tmp_path / "rec"), "--report-dir", str(tmp_path / "reports"))
    assert run.returncode == 2 and "damaged" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "reports").exists()  # no report can say pass
