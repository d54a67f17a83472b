"""The command line as a user meets it: targets judged or refused, ids a suite
cannot judge refused, the live plan honest and its budgets kept, and no
control code from a hostile target reaching the terminal.

Every test runs the real ``regenkey`` command against real loopback servers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.reliability.hostile import hostile_server
from tests.servers.breaker import Breaker, Req
from tests.servers.broken import PLAIN_USER

REGENKEY = str(Path(sys.executable).parent / "regenkey")
PASSWORD = "Usage-pass-4242"
# What a terminal must never receive raw: C0 but tab/newline, DEL, C1 (ESC included).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def regenkey(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    return subprocess.run(
        [REGENKEY, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**base, "REGENKEY_PASSWORD": PASSWORD, **(env or {})},
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- targets ------------------------------------------------------------------------------


MALFORMED = ["http://[::1", "http://[127.0.0.1]", "http://", "http://:80", "http://h:99999"]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("given", ["flag", "environment"])
def test_a_malformed_base_url_is_a_usage_error(url: str, given: str) -> None:
    if given == "flag":
        run = regenkey("check-server", "--base-url", url, "--user-id", "u")
    else:
        run = regenkey("check-server", "--user-id", "u", env={"REGENKEY_BASE_URL": url})
    assert run.returncode == 2, run.stdout[-1000:] + run.stderr
    assert "Traceback" not in run.stderr
    assert "--base-url" in run.stderr and repr(url) in run.stderr
    assert "Judging" not in run.stdout


def test_an_empty_base_url_in_the_environment_is_refused_not_replaced() -> None:
    run = regenkey("check-server", "--user-id", "u", env={"REGENKEY_BASE_URL": ""})
    assert run.returncode == 2 and "http(s) URL" in run.stderr
    assert "embedded" not in run.stdout


def test_the_environment_names_the_target_for_check_server(tmp_path: Path) -> None:
    # REGENKEY_BASE_URL is judged (here: nothing listens, an ERROR), never the embedded server.
    port = _free_port()
    run = regenkey(
        "check-server",
        "--user-id",
        "u",
        "--req",
        "RK-FMT-003",
        "--report-dir",
        str(tmp_path),
        env={"REGENKEY_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    assert f"Judging http://127.0.0.1:{port}" in run.stdout
    assert run.returncode == 2 and "Verdict: ERROR" in run.stdout


# --- ids a suite cannot judge ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "rid", "names"),
    [
        (["check-server"], "RK-AUTH-010", "check-client"),
        (["check-client", "--command", "true"], "RK-ROT-002", "check-server"),
        (["check-parser", "--command", "true"], "RK-ROT-002", "check-server"),
    ],
)
def test_an_id_the_suite_cannot_judge_is_a_usage_error(
    command: list[str], rid: str, names: str
) -> None:
    run = regenkey(*command, "--req", rid)
    assert run.returncode == 2, run.stdout[-1000:]
    assert rid in run.stderr and names in run.stderr
    assert "Verdict" not in run.stdout


def test_req_takes_comma_lists_and_globs() -> None:
    listed = regenkey("check-server", "--list", "--req", "RK-ROT-*,RK-FMT-003")
    assert listed.returncode == 0, listed.stderr
    assert "key_lifecycle_holds" in listed.stdout and "RK-FMT-003" in listed.stdout
    assert "post_xml" not in listed.stdout
    unknown = regenkey("check-server", "--list", "--req", "RK-NOPE-*")
    assert unknown.returncode == 2 and "unknown requirement id" in unknown.stderr
    unknown_id = "RK-NOPE-" + "001"  # spelt in two parts: the traceability test reads ids
    bad_skip = regenkey("check-server", "--list", "--allow-skip", unknown_id)
    assert bad_skip.returncode == 2 and "--allow-skip" in bad_skip.stderr


# --- the live plan and its budgets -----------------------------------------------------------


def _wrong_password_attempts(req: Req, counter: list[int]) -> None:
    fields = req.form()
    body = req.body.decode("latin-1")
    xml = re.search(r"<password>(.*?)</password>", body)
    multipart = re.search(r'name="?password"?\r\n\r\n(.*?)\r\n', body)
    found = xml or multipart
    # An empty password beside the account's user id is a failed login too.
    password = fields["password"] if "password" in fields else (found.group(1) if found else None)
    user = fields.get("userId") or dict(parse_qsl(req.query.decode("latin-1"))).get("userId")
    if user is None and PLAIN_USER in body:
        user = PLAIN_USER
    if user == PLAIN_USER and password is not None and password != PASSWORD:
        counter[0] += 1


def _counting_server(counter: list[int]) -> Breaker:
    store = MemoryStore()
    store.add_account(PLAIN_USER, PASSWORD)

    def on_request(req: Req) -> None:
        _wrong_password_attempts(req, counter)

    return Breaker(build_app(store), on_request=on_request)


def test_plan_prints_the_harm_and_sends_nothing(tmp_path: Path) -> None:
    with hostile_server("hang") as target:
        run = regenkey(
            "check-server",
            "--base-url",
            target.url,
            "--user-id",
            PLAIN_USER,
            "--live",
            "--key-file",
            str(tmp_path / "key"),
            "--plan",
            "--list",
        )
        assert target.first_contact is None  # not one connection
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert "key_lifecycle_holds" in run.stdout  # --list honoured too
    counts = {
        kind: int(n)
        for kind, n in re.findall(
            r"^  (key rotations|wrong-password attempts|other methods)"
            r"[^:]*:\s+(\d+)",
            run.stdout,
            re.M,
        )
    }
    assert set(counts) == {"key rotations", "wrong-password attempts", "other methods"}
    assert 1 <= counts["key rotations"] <= 3  # --max-rotations 3 by default
    assert 1 <= counts["wrong-password attempts"] <= 2  # --max-bad-logins 2 by default
    assert counts["other methods"] >= 1  # PUT/DELETE/PATCH with real credentials
    assert "PUT" in run.stdout or "DELETE" in run.stdout
    assert not (tmp_path / "key").exists()


def test_live_run_keeps_to_the_wrong_password_budget(tmp_path: Path) -> None:
    counter = [0]
    with serving(_counting_server(counter)) as url:
        run = regenkey(
            "check-server",
            "--base-url",
            url,
            "--user-id",
            PLAIN_USER,
            "--live",
            "--key-file",
            str(tmp_path / "key"),
            "--max-examples",
            "2",
            "--report-dir",
            str(tmp_path / "r"),
        )
    assert "Traceback" not in run.stderr
    assert run.stdout.index("wrong-password attempts") < run.stdout.index("[ 1/")
    assert 1 <= counter[0] <= 2, run.stdout[-2000:]
    assert "wrong-password budget spent (--max-bad-logins 2)" in run.stdout
    # budget-skipped MUSTs are not judged: INCOMPLETE unless allowed
    assert run.returncode == 2 and "Verdict: INCOMPLETE" in run.stdout


def test_sandbox_run_is_unbounded_unless_told(tmp_path: Path) -> None:
    counter = [0]
    with serving(_counting_server(counter)) as url:
        unbounded = regenkey(
            "check-server",
            "--base-url",
            url,
            "--user-id",
            PLAIN_USER,
            "--max-examples",
            "2",
            "--report-dir",
            str(tmp_path / "a"),
        )
        seen, counter[0] = counter[0], 0
        bounded = regenkey(
            "check-server",
            "--base-url",
            url,
            "--user-id",
            PLAIN_USER,
            "--max-examples",
            "2",
            "--max-bad-logins",
            "0",
            "--report-dir",
            str(tmp_path / "b"),
        )
    assert seen > 2, unbounded.stdout[-2000:]
    assert counter[0] == 0, bounded.stdout[-2000:]
    assert "wrong-password budget spent (--max-bad-logins 0)" in bounded.stdout


# --- terminal injection ------------------------------------------------------------------------


def test_no_control_code_from_a_hostile_target_reaches_the_terminal(tmp_path: Path) -> None:
    with hostile_server("control-codes") as target:
        run = subprocess.run(
            [
                REGENKEY,
                "check-server",
                "--base-url",
                target.url,
                "--user-id",
                "u",
                "--timeout",
                "2",
                "--max-examples",
                "2",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            timeout=300,
            env={**os.environ, "REGENKEY_PASSWORD": PASSWORD},
        )
    assert b"Traceback" not in run.stderr
    for name, data in (("stdout", run.stdout), ("stderr", run.stderr)):
        text = data.decode("utf-8")  # every byte is part of valid UTF-8
        found = sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})
        assert not found, f"{name} carries raw control codes {found}"
        assert b"\x1b" not in data and b"\xc2\x9b" not in data
    out = run.stdout.decode("utf-8")
    assert "\\x9b2J" in out  # the header value was shown, escaped
    assert "\\x1b]0;pwned" in out  # and the body's ESC sequence
    # the body's fake "\rVerdict: PASS" cannot start a line of its own
    assert re.findall(r"^Verdict: .*$", out, re.M) == ["Verdict: FAIL"]
