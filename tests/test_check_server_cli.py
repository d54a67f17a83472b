"""`regenkey check-server` as a user runs it: a real process against real servers."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import jsonschema
import pytest

from conformance.reporting.document import report_schema
from conformance.transport.loopback import serving
from reference_impl.client import regenerate_api_key
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import BROKEN, PLAIN_USER, Accounts

CANARY_PASSWORD = "Canary-9f2c77e1aa"
CANARY_KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"


def regenkey(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regenkey.cli", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_embedded_reference_server_passes_strict_and_reports_validate(tmp_path: Path) -> None:
    run = regenkey("check-server", "--strict", "--seed", "7", "--report-dir", str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "Verdict: PASS (strict)" in run.stdout
    document = json.loads((tmp_path / "report.json").read_text())
    jsonschema.Draft202012Validator(report_schema()).validate(document)
    assert document["verdict"] == "pass" and document["seed"] == 7
    assert {r["status"] for r in document["requirements"]} == {"pass"}
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "report.html").is_file()
    assert "Traceback" not in run.stderr


def test_list_sends_nothing_and_req_selects(tmp_path: Path) -> None:
    listed = regenkey("check-server", "--list", "--req", "RK-ROT-002")
    assert listed.returncode == 0
    assert "key_lifecycle_holds" in listed.stdout and "post_xml" not in listed.stdout
    run = regenkey("check-server", "--req", "RK-FMT-003", "--report-dir", str(tmp_path))
    assert run.returncode == 0, run.stdout[-2000:]
    ids = {r["id"] for r in json.loads((tmp_path / "report.json").read_text())["requirements"]}
    assert ids == {"RK-FMT-003"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--req", "RK-" + "NOPE-001"], "unknown requirement id"),  # split: no test cites it
        (["--base-url", "http://api.example.invalid", "--user-id", "u", "--password", "p"],
         "pass --live"),
        (["--base-url", "ftp://127.0.0.1/", "--user-id", "u", "--password", "p"], "http(s) URL"),
        (["--base-url", "http://127.0.0.1:9"], "--user-id and --password"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_before_sending_anything(args: list[str], message: str) -> None:
    run = regenkey("check-server", *args)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_target_is_an_error_not_a_failure(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    run = regenkey("check-server", "--base-url", url, "--user-id", "u", "--report-dir",
                   str(tmp_path), env={"REGENKEY_PASSWORD": "secret-pass"})  # fmt: skip
    assert run.returncode == 2, run.stdout[-2000:]
    assert "Verdict: ERROR" in run.stdout
    statuses = {
        r["status"] for r in json.loads((tmp_path / "report.json").read_text())["requirements"]
    }
    assert "fail" not in statuses and "error" in statuses


def test_live_key_file_holds_the_newest_working_key(tmp_path: Path) -> None:
    store = MemoryStore()
    store.add_account(PLAIN_USER, "Live-account-pass1")
    key_file = tmp_path / "keys" / "current.key"
    with serving(build_app(store)) as url:
        run = regenkey("check-server", "--base-url", url, "--user-id", PLAIN_USER, "--live",
                       "--key-file", str(key_file), "--max-examples", "3",
                       "--report-dir", str(tmp_path / "r"), "--allow-skip", "all",
                       env={"REGENKEY_PASSWORD": "Live-account-pass1"})  # fmt: skip
        assert run.returncode == 0, run.stdout[-2000:]
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert regenerate_api_key(url, api_key=key).api_key != key  # it worked, and rotated
    assert not [p for p in key_file.parent.iterdir() if p.name != "current.key"]


def _run_against(
    server_name: str, tmp_path: Path, seed: str
) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    (server,) = [s for s in BROKEN if s.name == server_name]
    store = MemoryStore()
    store.add_account(PLAIN_USER, CANARY_PASSWORD)
    store.add_account("canary-key-owner", "unused-password-1")
    with serving(server.make(store, Accounts(CANARY_PASSWORD, "unused"))) as url:  # type: ignore[operator]
        run = regenkey("check-server", "--base-url", url, "--user-id", PLAIN_USER,
                       "--seed", seed, "--max-examples", "5", "--report-dir", str(tmp_path),
                       env={"REGENKEY_PASSWORD": CANARY_PASSWORD,
                            "REGENKEY_API_KEY": CANARY_KEY})  # fmt: skip
    return run, json.loads((tmp_path / "report.json").read_text())


def test_planted_canaries_never_appear_in_any_output(tmp_path: Path) -> None:
    # This server echoes the password in its errors, so failures carry it.
    run, document = _run_against("echoes-password", tmp_path, "11")
    assert run.returncode == 1
    assert any(r["id"] == "RK-SAFE-002" and r["status"] == "fail" for r in document["requirements"])
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    texts |= {p.name: p.read_text(errors="replace") for p in tmp_path.iterdir()}
    spellings = {CANARY_PASSWORD, quote(CANARY_PASSWORD), quote_plus(CANARY_PASSWORD),
                 escape(CANARY_PASSWORD), CANARY_KEY}  # fmt: skip
    for name, text in texts.items():
        for secret in spellings:
            assert secret not in text, f"{secret!r} leaked into {name}"
    assert "$REGENKEY_PASSWORD" in (tmp_path / "report.json").read_text()


def test_same_seed_same_cases_and_the_failure_reproduces(tmp_path: Path) -> None:
    first, one = _run_against("500-on-odd-types", tmp_path / "a", "4242")
    second, two = _run_against("500-on-odd-types", tmp_path / "b", "4242")
    assert first.returncode == second.returncode == 1
    assert one["cases"] == two["cases"]

    def failures(doc: dict) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
        return [(f["requirement_id"], f["check"], f["request"]["start_line"])
                for r in doc["requirements"] for f in r["failures"]]  # fmt: skip

    assert failures(one) == failures(two) != []


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.rotations = 0

    def rotate(self, account_id: str) -> str:
        self.rotations += 1
        return super().rotate(account_id)

    def rotate_by_key(self, key: str) -> tuple[str, str] | None:
        rotated = super().rotate_by_key(key)
        self.rotations += rotated is not None
        return rotated


def test_live_run_prints_its_plan_and_keeps_to_the_rotation_budget(tmp_path: Path) -> None:
    store = CountingStore()
    store.add_account(PLAIN_USER, CANARY_PASSWORD)
    with serving(build_app(store)) as url:
        run = regenkey("check-server", "--base-url", url, "--user-id", PLAIN_USER, "--live",
                       "--key-file", str(tmp_path / "key"), "--max-rotations", "2",
                       "--record", str(tmp_path / "rec"), "--report-dir", str(tmp_path / "r"),
                       env={"REGENKEY_PASSWORD": CANARY_PASSWORD})  # fmt: skip
    # What the budget kept from being judged makes the run INCOMPLETE, never PASS.
    assert run.returncode == 2, run.stdout[-2000:]
    assert "Verdict: INCOMPLETE" in run.stdout and "Not judged: " in run.stdout
    plan = run.stdout.index("LIVE RUN against")
    assert plan < run.stdout.index("[ 1/")  # the plan comes before any request
    assert store.rotations <= 2
    assert "rotation budget spent (--max-rotations 2)" in run.stdout
    recording = (tmp_path / "rec" / "exchanges.jsonl").read_text()
    assert CANARY_PASSWORD not in recording and quote_plus(CANARY_PASSWORD) not in recording
    assert stat.S_IMODE((tmp_path / "rec" / "exchanges.jsonl").stat().st_mode) == 0o600
    key = (tmp_path / "key").read_text().strip()
    assert key not in recording  # keys are recorded as same-shaped placeholders


def test_replay_rejudges_offline_and_reports_drift(tmp_path: Path) -> None:
    store = MemoryStore()
    store.add_account(PLAIN_USER, CANARY_PASSWORD)
    with serving(build_app(store)) as url:
        run = regenkey("check-server", "--base-url", url, "--user-id", PLAIN_USER,
                       "--max-examples", "3", "--record", str(tmp_path / "rec"),
                       "--report-dir", str(tmp_path / "r"),
                       "--allow-skip", "RK-PARAM-002,RK-ROT-008",
                       env={"REGENKEY_PASSWORD": CANARY_PASSWORD})  # fmt: skip
    assert run.returncode == 0
    clean = regenkey("replay", str(tmp_path / "rec"))
    assert clean.returncode == 0 and "0 drifted" in clean.stdout, clean.stdout[-1000:]
    # Simulate a spec change: one recorded JSON body no longer holds a string code.
    path = tmp_path / "rec" / "exchanges.jsonl"
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if '\\"statusCode\\": \\"900\\"' in line)
    lines[n] = lines[n].replace('\\"statusCode\\": \\"900\\"', '\\"statusCode\\": 900')
    path.write_text("\n".join(lines) + "\n")
    drifted = regenkey("replay", str(tmp_path / "rec"), "--report-dir", str(tmp_path / "rr"))
    assert drifted.returncode == 1
    assert f"DRIFT exchange {n + 1}: recorded as valid, judged now as RK-JSON-002" in drifted.stdout
    assert regenkey("replay", str(tmp_path / "nothing")).returncode == 2


def test_a_live_run_names_a_key_an_interrupted_run_left_behind(tmp_path: Path) -> None:
    store = MemoryStore()
    store.add_account(PLAIN_USER, CANARY_PASSWORD)
    leftover = tmp_path / ".key.new-abc123"  # what a write killed before its rename leaves
    leftover.write_text(CANARY_KEY + "\n")
    unrelated = tmp_path / ".other.new-abc123"
    unrelated.write_text("not this key file's\n")
    with serving(build_app(store)) as url:
        run = regenkey("check-server", "--base-url", url, "--user-id", PLAIN_USER, "--live",
                       "--key-file", str(tmp_path / "key"), "--max-rotations", "1",
                       "--report-dir", str(tmp_path / "r"), "--allow-skip", "all",
                       env={"REGENKEY_PASSWORD": CANARY_PASSWORD})  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    warning = run.stdout.index(f"WARNING: {leftover} was left by a run stopped")
    assert warning < run.stdout.index("LIVE RUN against")  # said before anything is sent
    assert str(unrelated) not in run.stdout
    assert leftover.exists() and CANARY_KEY not in run.stdout  # kept, and its key not shown
    assert not list(tmp_path.glob(".key.new-*"))[1:]  # the run's own writes left nothing


def test_a_tricky_account_lets_an_external_run_judge_decoding(tmp_path: Path) -> None:
    """Against an external server the kit has only the accounts it is given:
    RK-PARAM-002 is skipped without one whose password needs encoding, and
    judged with --tricky-user-id (its password never shown)."""
    tricky = "Tr1cky pa+ss&w=rd%41ü"
    store = MemoryStore()
    store.add_account(PLAIN_USER, CANARY_PASSWORD)
    store.add_account("tricky-user", tricky)
    base = ["--user-id", PLAIN_USER, "--req", "RK-PARAM-002", "--report-dir"]
    with serving(build_app(store)) as url:
        alone = regenkey("check-server", "--base-url", url, *base, str(tmp_path / "a"),
                         env={"REGENKEY_PASSWORD": CANARY_PASSWORD})  # fmt: skip
        paired = regenkey("check-server", "--base-url", url, *base, str(tmp_path / "b"),
                          "--tricky-user-id", "tricky-user",
                          env={"REGENKEY_PASSWORD": CANARY_PASSWORD,
                               "REGENKEY_TRICKY_PASSWORD": tricky})  # fmt: skip
        half = regenkey("check-server", "--base-url", url, *base, str(tmp_path / "c"),
                        "--tricky-user-id", "tricky-user",
                        env={"REGENKEY_PASSWORD": CANARY_PASSWORD})  # fmt: skip
    # Not judged without the second account: INCOMPLETE (exit 2), never PASS.
    assert alone.returncode == 2 and "Verdict: INCOMPLETE" in alone.stdout
    assert "no account with a password that needs encoding" in alone.stdout
    assert paired.returncode == 0, paired.stdout[-2000:]
    assert "PASS       RK-PARAM-002" in paired.stdout
    assert tricky not in paired.stdout + paired.stderr
    assert half.returncode == 2 and "go together" in half.stderr
