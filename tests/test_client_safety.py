"""SDK safety (issue 16): the client suite's safety scenarios, RK-CLI-005..010.

Python broken clients in tests/clients/broken/ (each `regenkey-expect`s exactly
its id; tests/test_broken_clients.py runs them all):

- retries-regeneration.py          RK-CLI-005  sends the regeneration again on a
                                  timeout (2 s), a dropped connection or an HTTP 5xx
- no-timeout.py                   RK-CLI-006  no timeout at all: waits on a stalled answer
- follows-redirect-with-secrets.py RK-CLI-007 follows 3xx to any origin, re-sending the
                                  apiKey header and the form body (the password)
- logs-secrets-on-stderr.py       RK-CLI-008  logs its request, secrets included, on stderr
- success-on-garbage.py           RK-CLI-009  an unreadable body (HTML 502, empty, cut
                                  short) is reported as {"status": "success"}, exit 0
- verifies-key-again.py           RK-CLI-010  after a success by credentials, calls the
                                  endpoint once more with them to "verify" the account

The safety scenarios run after the scenario plan, numbered after it. What they
serve: a stalled first answer (RK-CLI-005, RK-CLI-006), a dropped first answer
(RK-CLI-005), an HTML 502 page, an empty body and a cut-short body (RK-CLI-009,
and RK-CLI-005 counts their requests), a redirect to a second loopback origin
(RK-CLI-007: 307 for credentials, 302 for a key), a plain success (RK-CLI-010).
RK-CLI-008 reads every case's output. The stall's bound is 6 x --timeout
(60 s by default); run broken clients with ``--timeout 1`` (a 6 s bound) to keep
them quick. A SHOULD id (006, 008, 009, 010) is NON-STRICT when broken (FAIL
under --strict). A client with no timeout at all (curl without --max-time,
Node's http without a timeout) is NON-STRICT under RK-CLI-006 and keeps the
run waiting for the whole bound: a broken client meant to break another id
should set one below the bound (curl --max-time 4, req.setTimeout(4000)).
"""

from __future__ import annotations

import os
import random
import shlex
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance.client.app import RecordedRequest
from conformance.client.runner import (
    ClientSuiteConfig,
    _InOrder,
    judge,
    numbered,
    run_client_suite,
    selected_checks,
)
from conformance.client.safety import JUDGES, Kind, SafetyScenario, safety_plan
from conformance.client.safety_checks import (
    SafetyContext,
    _leaks,
    _output_leaks,
    client_never_retries_a_regeneration,
)
from conformance.client.safety_run import (
    MARGIN,
    run_safety,
    run_safety_case,
    safety_servers,
    stall_bound,
)
from conformance.client.scenarios import ALL_FORMATS, Auth
from conformance.judging.redaction import Redactor
from conformance.judging.results import RunResult, Status
from conformance.protocol.records import Format
from conformance.transport.loopback import other_origin_host
from conformance.vectors.suite import parse_raw_request, request_vectors

BROKEN = Path(__file__).resolve().parent / "clients" / "broken"
PY = shlex.quote(sys.executable)
SAFETY_IDS = frozenset(f"RK-CLI-{n:03d}" for n in range(5, 11))
FAULTS = {
    "retries-regeneration.py": "RK-CLI-005",
    "no-timeout.py": "RK-CLI-006",
    "follows-redirect-with-secrets.py": "RK-CLI-007",
    "logs-secrets-on-stderr.py": "RK-CLI-008",
    "success-on-garbage.py": "RK-CLI-009",
    "verifies-key-again.py": "RK-CLI-010",
}
BOTH = (Auth.CREDENTIALS, Auth.KEY)


def broken(name: str) -> str:
    return f"{PY} {shlex.quote(str(BROKEN / name))}"


def correct_client(tmp_path: Path) -> str:
    """no-timeout.py with its fault taken out (a 2 s timeout): a correct client."""
    source = (BROKEN / "no-timeout.py").read_text(encoding="utf-8")
    fixed = source.replace("TIMEOUT: float | None = None", "TIMEOUT: float | None = 2.0")
    assert fixed != source
    path = tmp_path / "correct.py"
    path.write_text(fixed, encoding="utf-8")
    return f"{PY} {shlex.quote(str(path))}"


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}


def judge_safety(command: str, seed: int, timeout: float = 2.0, raw: bool = False) -> RunResult:
    """The safety scenarios alone, run and judged (the plan's are the client suite's)."""
    scenarios = safety_plan(random.Random(seed), BOTH, ALL_FORMATS, 1)
    done: list[int] = []
    env = environment() | {"REGENKEY_CLIENT_TIMEOUT": f"{timeout:g}"}  # as the runner sets it
    cases = run_safety(command, env, scenarios, timeout, lambda i, _w: done.append(i), 0)
    assert done == list(range(len(scenarios)))
    result = RunResult("client", command, seed, False)
    ctx = SafetyContext([], result, Redactor(), raw, "", safety=cases)
    judge(ctx, selected_checks(SAFETY_IDS), SAFETY_IDS)
    return result


def not_passing(result: RunResult) -> dict[str, Status]:
    return {r.id: r.status for r in result.ordered() if r.status is not Status.PASS}


# --- the scenarios -----------------------------------------------------------------------


def test_the_safety_plan_covers_every_kind_numbered_after_the_plan() -> None:
    scenarios = safety_plan(random.Random(3), BOTH, ALL_FORMATS, 85)
    assert [s.number for s in scenarios] == list(range(85, 85 + len(scenarios)))
    assert scenarios[0].kind is Kind.STALL  # the longest starts first
    assert {s.kind for s in scenarios} == set(Kind)
    for kind in (Kind.REDIRECT, Kind.SINGLE):
        assert {s.auth for s in scenarios if s.kind is kind} == set(BOTH)
    assert {rid for s in scenarios for rid in s.judges} == SAFETY_IDS
    assert all(s.name.startswith(f"{s.number:02d} safety ") for s in scenarios)
    again = safety_plan(random.Random(3), BOTH, ALL_FORMATS, 85)
    assert [(s.fmt, s.auth, s.password) for s in again] == [
        (s.fmt, s.auth, s.password) for s in scenarios
    ]
    only_json = safety_plan(random.Random(3), (Auth.KEY,), (Format.JSON,), 1)
    assert {s.fmt for s in only_json} == {Format.JSON}
    assert {s.auth for s in only_json} == {Auth.KEY}


def test_req_keeps_only_the_scenarios_that_judge_the_ids_asked_for() -> None:
    chosen = safety_plan(random.Random(1), BOTH, ALL_FORMATS, 1, frozenset({"RK-CLI-007"}))
    assert {s.kind for s in chosen} == {Kind.REDIRECT}
    assert safety_plan(random.Random(1), BOTH, ALL_FORMATS, 1, frozenset({"RK-CLI-001"})) == []
    assert {k for k, ids in JUDGES.items() if "RK-CLI-006" in ids} == {Kind.STALL}


@pytest.mark.parametrize("fmt", list(Format))
def test_a_cut_short_body_is_invalid_and_holds_no_key_nor_a_whole_success(fmt: Format) -> None:
    from conformance import validate_body

    scenario = next(
        s for s in safety_plan(random.Random(2), BOTH, (fmt,), 1) if s.kind is Kind.TRUNCATED
    )
    body = scenario.served_body
    assert body and scenario.success_body.startswith(body)
    assert scenario.new_key not in body and "success" not in body
    assert not validate_body(body, fmt).ok
    assert validate_body(scenario.success_body, fmt).ok


# --- the servers ---------------------------------------------------------------------------


def _exchange(url: str, request: bytes, wait: float = 5.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # to the end: every request says Connection: close
            data += chunk
        return data


GET = (
    b"GET /SMSApi/rest/regenerateAPIKey?format=json HTTP/1.1\r\n"
    b"Host: x\r\nConnection: close\r\n\r\n"
)


def _scenario(kind: Kind, fmt: Format = Format.JSON) -> SafetyScenario:
    return next(s for s in safety_plan(random.Random(4), BOTH, (fmt,), 1) if s.kind is kind)


def test_a_dropped_answer_closes_the_connection_without_a_byte_then_answers() -> None:
    with safety_servers() as servers:
        servers.app.plan(_scenario(Kind.DROP), servers.elsewhere_url, 5)
        assert _exchange(servers.url, GET) == b""
        second = _exchange(servers.url, GET)
        assert second.startswith(b"HTTP/1.1 200") and b'"success"' in second
        assert len(servers.app.take()) == 2


def test_a_stall_ends_at_its_release_and_at_its_own_deadline_at_the_latest() -> None:
    with safety_servers() as servers:
        servers.app.plan(_scenario(Kind.STALL), servers.elsewhere_url, 0.5)
        started = time.monotonic()
        assert _exchange(servers.url, GET) == b""  # never answered, never for ever
        assert 0.4 < time.monotonic() - started < 3
        servers.app.plan(_scenario(Kind.STALL), servers.elsewhere_url, 30)
        started = time.monotonic()
        timer = threading.Timer(0.3, servers.app.release)
        timer.start()
        assert _exchange(servers.url, GET) == b""
        assert time.monotonic() - started < 3
        timer.join()


def test_the_redirect_points_to_a_second_listener_of_another_origin() -> None:
    assert other_origin_host() in ("127.0.0.2", "127.0.0.1")
    with safety_servers() as servers:
        assert servers.url != servers.elsewhere_url
        for auth, status in ((Auth.CREDENTIALS, 307), (Auth.KEY, 302)):
            scenario = next(
                s
                for s in safety_plan(random.Random(5), BOTH, ALL_FORMATS, 1)
                if s.kind is Kind.REDIRECT and s.auth is auth
            )
            servers.app.plan(scenario, servers.elsewhere_url, 5)
            head = _exchange(servers.url, GET).split(b"\r\n\r\n")[0].decode()
            assert head.startswith(f"HTTP/1.1 {status}")
            assert f"location: {servers.elsewhere_url}/SMSApi/rest/regenerateAPIKey" in head


# --- the verdicts --------------------------------------------------------------------------


def test_a_correct_client_passes_every_safety_id(tmp_path: Path) -> None:
    result = judge_safety(correct_client(tmp_path), seed=7)
    assert not_passing(result) == {}
    assert set(result.requirements) == SAFETY_IDS


SEEDS = [7, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_broken_client_breaks_exactly_its_id(name: str, seed: int) -> None:
    rid = FAULTS[name]
    header = (BROKEN / name).read_text(encoding="utf-8").splitlines()[:3]
    assert f"# regenkey-expect: {rid}" in header
    result = judge_safety(broken(name), seed)
    level = result.requirements[rid].level.value
    assert not_passing(result) == {rid: Status.FAIL if level == "MUST" else Status.NON_STRICT}


def test_a_client_waiting_on_a_stall_is_ended_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; exec {broken('no-timeout.py')}"
    scenario = _scenario(Kind.STALL)
    timeout = 0.5
    started = time.monotonic()
    with safety_servers() as servers:
        case = run_safety_case(command, environment(), scenario, servers, timeout)
    took = time.monotonic() - started
    assert case.timed_out and case.error is None and len(case.requests) == 1
    assert stall_bound(timeout) < took < stall_bound(timeout) + MARGIN + 3
    for pid in (int(p) for p in pids.read_text().split()):
        assert _gone_within(pid, 2), pid


def _gone_within(pid: int, seconds: float) -> bool:
    """Ended: no such process, or a zombie left for init to reap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        except OSError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False


# --- the checks, one by one ----------------------------------------------------------------


def test_secrets_on_stderr_or_in_extra_members_are_found_in_any_spelling() -> None:
    password, key = "Sf Q7r +&=%41#ü€", "5f0c1e7a9b2d4c6e8a0b1c2d3e4f5a6b"
    secrets = (password, key)
    encoded = "password=Sf+Q7r+%2B%26%3D%2541%23%C3%BC%E2%82%AC"
    assert _output_leaks("", f"debug: {encoded}", secrets, raw=False) == ["stderr"]
    record = f'{{"status": "success", "apiKey": "{key}", "debug": "{key}"}}'
    assert _output_leaks(record, "", secrets, raw=False) == ["the record's member 'debug'"]
    clean = f'{{"status": "success", "apiKey": "{key}", "statusCode": "900"}}'
    assert _output_leaks(clean, "saved the new key", secrets, raw=False) == []
    assert _output_leaks(record, "", secrets, raw=True) == []  # raw: stdout is the body
    # a run of the password's characters (a userId or reason sharing them) is no leak
    assert _output_leaks("", "error: user rk.x +&=%41#ü€ refused", secrets, raw=False) == []


def test_the_safety_judges_agree_with_the_request_vectors_naming_them() -> None:
    named = {rid: [v for v in request_vectors() if rid in v.requirements] for rid in SAFETY_IDS}
    assert named["RK-CLI-005"] and named["RK-CLI-007"]
    for vector in named["RK-CLI-005"]:
        assert vector.raw_request is not None and vector.valid
        request = parse_raw_request(vector.raw_request)
        for copies, ok in ((1, True), (2, False)):
            result = _retry_verdict([request] * copies)
            assert (result.status is Status.PASS) == ok, (vector.label, copies)
    for vector in named["RK-CLI-007"]:
        assert vector.raw_request is not None and vector.valid
        request = parse_raw_request(vector.raw_request)
        given = vector.given
        # what the client sends to its own origin would leak if sent elsewhere
        assert _leaks(request, given.get("password"), given.get("apiKey"))
        bare = RecordedRequest("POST", request.raw_path, b"", (("Host", "127.0.0.2:8081"),), b"")
        assert _leaks(bare, given.get("password"), given.get("apiKey")) == []


def _retry_verdict(requests: list[RecordedRequest]) -> object:
    from conformance.client.safety import SafetyCase

    case = SafetyCase(_scenario(Kind.DROP), 6.0, requests=requests)
    result = RunResult("client", "vector", 0, False)
    client_never_retries_a_regeneration(SafetyContext([], result, Redactor(), safety=[case]))
    result.finish()
    return result.requirements["RK-CLI-005"]


# --- the progress counter ------------------------------------------------------------------


def test_numbered_makes_the_name_agree_with_the_counter() -> None:
    assert numbered(3, "03 json success") == "03 json success"
    assert numbered(3, "07 json success") == "03 json success"
    assert numbered(12, "safety stall") == "12 safety stall"
    lines: list[tuple[int, int, str]] = []
    shown = _InOrder(["01 a", "05 b", "c"], lambda n, t, name, _w: lines.append((n, t, name)))
    for index in (2, 0, 1):  # jobs finish in any order
        shown.done(index, "ok")
    assert lines == [(1, 3, "01 a"), (2, 3, "02 b"), (3, 3, "03 c")]


def test_progress_counter_follows_the_scenario_numbers_through_the_safety_scenarios(
    tmp_path: Path,
) -> None:
    lines: list[tuple[int, int, str]] = []
    config = ClientSuiteConfig(
        command=correct_client(tmp_path),
        timeout=2.0,  # a run of 1 s is not always enough on a loaded machine
        seed=5,
        auth=Auth.KEY,
        jobs=3,
        formats=(Format.JSON,),
    )
    result = run_client_suite(config, Redactor(), lambda n, t, name, _w: lines.append((n, t, name)))
    assert [n for n, _t, _name in lines] == list(range(1, len(lines) + 1))
    assert all(t == len(lines) for _n, t, _name in lines)
    for n, _t, name in lines:
        assert int(name.split()[0]) == n, name
    safety = [name for _n, _t, name in lines if " safety " in f" {name}"]
    assert safety and lines[-1][2] == safety[-1]
    assert {r.id for r in result.ordered() if r.status is not Status.PASS} == set()
    assert SAFETY_IDS <= set(result.requirements)


def test_a_client_that_reports_every_error_as_a_success_fails_rk_cli_002_alone() -> None:
    """One fault, one id: its success on a cut-short body is RK-CLI-002's fault."""
    pyclient = Path(__file__).resolve().parent / "clients" / "pyclient.py"
    command = f"{PY} {shlex.quote(str(pyclient))} --bug success-on-error"
    config = ClientSuiteConfig(
        command=command, timeout=2.0, seed=3, auth=Auth.KEY, formats=(Format.PLAIN,), jobs=3
    )
    result = run_client_suite(config, Redactor())
    failing = {r.id for r in result.ordered() if r.status in (Status.FAIL, Status.NON_STRICT)}
    assert failing == {"RK-CLI-002"}
    blocked = result.requirements["RK-CLI-009"]
    assert blocked.status is Status.SKIP and blocked.blocked_by == ["RK-CLI-002"]
