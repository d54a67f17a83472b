"""The client suite's breadth (issue 16): adversarial account data, responses
that break naive parsers, the whole scenario product, stateful scenarios.

Faults of the Python broken clients in tests/clients/broken/ (H5), with the
ids ``regenkey check-client --command CMD`` (adapter mode: the command prints
the record it parsed as one JSON object; no --raw, --auth both, all formats)
must FAIL, exactly, under any seed. H7's bash+curl and Node versions of the
same faults use the same names (``<name>.sh``, ``<name>.js``):

    fault name                  regenkey-expect   the fault
    no-url-encoding             RK-PARAM-003      form body (POST) built as name=value&... with
                                                  the values not URL-encoded (keep it in the
                                                  body: a raw space in the URL is no request)
    xml-escapes-only-amp        RK-PARAM-003      <Account> body whose values escape & alone
                                                  (a "<" in a value makes it ill-formed)
    trims-password              RK-PARAM-003      the password (and userId) trimmed of leading
                                                  and trailing spaces, then sent encoded
    naive-plain-split           RK-CLI-001        plain read as fields split on "|", each on
                                                  every "=": a reason holding "=" is cut
    regex-json-unicode-escapes  RK-CLI-003        JSON read by regex, handling \\" and \\\\ but
                                                  not \\u escapes (in keys or values)
    regex-json-whitespace       RK-CLI-003        JSON read by a regex that wants '": "'
                                                  exactly (any escape decoded right)
    regex-xml                   RK-CLI-003        XML read by regex <(\\w+)>([^<]*)</\\1>,
                                                  decoding &lt; &gt; &amp; only (CDATA,
                                                  &#..; and &quot; break it)
    some-codes-only             RK-CLI-002        status taken from statusCode: only codes
                                                  400-599 are errors, any other is a success
    stale-key-second-rotation   RK-CLI-002        asked to rotate twice, prints the record of
                                                  the first rotation
    caches-old-key              RK-CLI-002        asked to rotate twice, sends the key it was
                                                  given (not the one it got) the second time
    key-from-error-body         RK-CLI-002        the key taken from the first 32-hex-digit run
                                                  anywhere in the body, errors included

The kit's data that catches them, in every run and under every seed: every
password and userId holds ``+ & = % < > " '``, a space and non-ASCII
(NFC or NFD), some with leading and trailing spaces, some long; every error
reason holds ``= & < > " \\``, a ``" | "`` look-alike and non-ASCII, and some
a 32-hex-digit run (``apiKey=...``); error codes span 000-999 (never 900) and
every run serves some outside 400-599.

Rotating twice (the adapter contract, opt-in): a scenario whose environment
has ``REGENKEY_ROTATIONS=2`` (always with ``REGENKEY_API_KEY``) asks the client
to regenerate twice in one run, the second time with the key the first one
returned, and to print the record of the last answer. A client that ignores
the variable and regenerates once is judged on that one answer.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import sys
import unicodedata
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance import Format, Record, Redactor, validate_body
from conformance.client.app import RecordingApp
from conformance.client.runner import ClientSuiteConfig, run_client_suite
from conformance.client.scenarios import Auth, plan
from conformance.judging.results import Status
from conformance.protocol.records import every_rendering
from conformance.reporting.matrix import matrix_doc, matrix_html
from conformance.transport.loopback import serving

BROKEN = Path(__file__).resolve().parent / "clients" / "broken"
SEEDS = (0, 7, 4242)
MARKUP = "+&=%<>\"'"


def _expected_ids(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = re.search(r"regenkey-expect:\s*(\S+)", text)
    assert found, path
    return set(found.group(1).split(","))


# The faults named in the docstring, each a Python client of its own.
FAULTS = {
    "no-url-encoding": {"RK-PARAM-003"},
    "xml-escapes-only-amp": {"RK-PARAM-003"},
    "trims-password": {"RK-PARAM-003"},
    "naive-plain-split": {"RK-CLI-001"},
    "regex-json-unicode-escapes": {"RK-CLI-003"},
    "regex-json-whitespace": {"RK-CLI-003"},
    "regex-xml": {"RK-CLI-003"},
    "some-codes-only": {"RK-CLI-002"},
    "stale-key-second-rotation": {"RK-CLI-002"},
    "caches-old-key": {"RK-CLI-002"},
    "key-from-error-body": {"RK-CLI-002"},
}


# --- account data -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_every_run_sends_account_data_that_breaks_naive_clients(seed: int) -> None:
    scenarios = plan(random.Random(seed))
    values = [v for s in scenarios if s.auth is Auth.CREDENTIALS for v in (s.user_id, s.password)]
    assert len(values) >= 40
    for value in values:
        assert all(c in value for c in MARKUP + " "), value
        assert any(ord(c) > 127 for c in value), value
    edged = [v for v in values if v != v.strip()]
    decomposed = [v for v in values if not unicodedata.is_normalized("NFC", v)]
    long = [v for v in values if len(v) > 100]
    assert min(len(edged), len(decomposed), len(long)) >= 5
    # the same with one format and one way of authenticating
    few = plan(random.Random(seed), (Auth.CREDENTIALS,), (Format.JSON,))
    passwords = [s.password for s in few]
    assert any(p != p.strip() for p in passwords) and any(len(p) > 100 for p in passwords)
    assert any(not unicodedata.is_normalized("NFC", p) for p in passwords)


# --- answers --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_every_run_serves_error_records_that_break_naive_parsers(seed: int) -> None:
    for fmt in Format:
        scenarios = plan(random.Random(seed), formats=(fmt,))
        errors = [s.record for s in scenarios if not s.record.is_success]
        assert len(errors) >= 8
        for record in errors:
            code = record.status_code
            assert len(code) == 3 and code.isdigit() and code != "900"
            assert all(c in record.reason for c in '=&<>"\\'), record.reason
            assert any(ord(c) > 127 for c in record.reason)
            assert "|" not in record.reason  # the reason's class forbids it
        assert any(not "400" <= r.status_code <= "599" for r in errors)
        assert any(re.search(r"[0-9a-f]{32}", r.reason) for r in errors)
        assert len({r.status_code[0] for r in errors}) >= 5


def test_renderings_hold_what_breaks_naive_parsers_and_the_validator_takes_them() -> None:
    record = Record.error("042", 'a=b & <c> "d" \\ \\u00e9 \u00a6 z\u00e9\U0001f600')
    bodies = {label: body for fmt in Format for label, body in every_rendering(record, fmt)}
    assert '"\\u0073t' in bodies["json-u-escaped-keys"]
    assert re.search(r'"status"\s+:', bodies["json-space-before-colon"])
    assert "<![CDATA[" in bodies["xml-cdata"]
    assert "&#" in bodies["xml-references"] and "&quot;" in bodies["xml-references"]
    assert "<!--" in bodies["xml-comments"] and not bodies["xml-comments"].startswith("<?xml")
    assert bodies["plain-trailing-spaces"].endswith("   ")
    assert "\t" in bodies["plain-tabs-crlf"] and bodies["plain-tabs-crlf"].endswith("\r\n")


@pytest.mark.parametrize("seed", SEEDS)
def test_the_kits_validator_passes_every_rendering_it_serves(seed: int) -> None:
    """Every body the client suite serves, rotations' answers included, is
    valid and reads back as the record it stands for."""
    for s in plan(random.Random(seed)):
        answers = [(s.record, s.body)]
        if s.chain is not None:
            answers = [*s.chain.answers, (s.chain.refusal, "")]
        for record, body in answers:
            for label, text in every_rendering(record, s.fmt) if not body else [(s.variant, body)]:
                verdict = validate_body(text, s.fmt)
                assert verdict.ok, (s.name, label, verdict)
                assert verdict.record == record, (s.name, label)


# --- the product -----------------------------------------------------------------------


def test_the_plan_is_the_whole_product_of_format_rendering_outcome_and_auth() -> None:
    scenarios = plan(random.Random(3))
    plain = [s for s in scenarios if s.http_status == 200 and s.rotations == 1]
    cells = [(s.fmt, s.variant, s.record.is_success, s.auth) for s in plain]
    product = [
        (fmt, label, ok, auth)
        for fmt in Format
        for label, _ in every_rendering(Record.success("0" * 32), fmt)
        for ok in (True, False)
        for auth in Auth
    ]
    assert sorted(cells) == sorted(product)  # each cell once
    names = [s.name for s in scenarios]
    assert len(set(names)) == len(names)
    assert [int(n.split()[0]) for n in names] == list(range(1, len(names) + 1))
    keyless = plan(random.Random(3), (Auth.CREDENTIALS,), (Format.XML,))
    assert {s.auth for s in keyless} == {Auth.CREDENTIALS} and all(
        s.rotations == 1 for s in keyless
    )


# --- rotating twice ------------------------------------------------------------------------


def test_a_rotating_scenario_answers_the_current_key_only_and_knows_what_it_served() -> None:
    scenario = next(
        s
        for s in plan(random.Random(5), formats=(Format.JSON,))
        if s.rotations == 2 and s.record.is_success
    )
    assert scenario.chain is not None
    env = scenario.env("http://127.0.0.1:1")
    assert env["REGENKEY_ROTATIONS"] == "2" and env["REGENKEY_API_KEY"] == scenario.api_key
    first, second = (record for record, _ in scenario.chain.answers)
    app = RecordingApp()
    app.plan(scenario.answer)
    path = "/SMSApi/rest/regenerateAPIKey"
    with serving(app) as url:
        bodies = []
        for key in (scenario.api_key, scenario.api_key, first.api_key or ""):
            answer = httpx.post(url + path, headers={"apiKey": key}, data={"format": "json"})
            bodies.append(answer.json())
    assert bodies[0]["apiKey"] == first.api_key  # the given key rotates once
    assert bodies[1]["status"] == "error"  # then it is revoked
    assert bodies[2] == second.as_dict()  # the key it got rotates again
    requests = app.take()
    assert scenario.served(requests[:1])[0] == first
    assert scenario.served(requests)[0] == second == scenario.record


CORRECT_ROTATING_CLIENT = """
import http.client, json, os, sys
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

env = os.environ
key, fmt = env.get("REGENKEY_API_KEY"), env["REGENKEY_FORMAT"]
url = urlsplit(env["REGENKEY_BASE_URL"])
record = {}
for _ in range(int(env.get("REGENKEY_ROTATIONS") or "1")):
    fields = [] if key else [("userId", env["REGENKEY_USER_ID"]),
                             ("password", env["REGENKEY_PASSWORD"])]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key:
        headers["apiKey"] = key
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("POST", "/SMSApi/rest/regenerateAPIKey",
                 body=urlencode(fields + [("format", fmt)]), headers=headers)
    text = conn.getresponse().read().decode("utf-8")
    if fmt == "json":
        record = json.loads(text)
    elif fmt == "xml":
        record = {c.tag: c.text or "" for c in ET.fromstring(text.encode("utf-8"))}
    else:
        record = dict(f.split("=", 1) for f in text.strip().split(" | "))
    if record.get("status") not in ("success", "error"):
        sys.exit(2)
    if record["status"] != "success":
        break
    key = record["apiKey"]
print(json.dumps(record))
"""


def _suite(
    command: str,
    seed: int,
    requirements: set[str] | None = None,
    formats: tuple[Format, ...] = (Format.PLAIN, Format.JSON, Format.XML),
) -> Any:
    wanted = frozenset(requirements) if requirements else None
    config = ClientSuiteConfig(command=command, seed=seed, requirements=wanted, formats=formats)
    return run_client_suite(config, Redactor())


def _failing(result: Any) -> set[str]:
    return {
        r.id for r in result.requirements.values() if r.status in (Status.FAIL, Status.NON_STRICT)
    }


# The ids this area's data and scenarios judge; the safety scenarios' ids
# (RK-CLI-005..010) are tests/test_client_safety.py's and, with every other
# id, tests/test_broken_clients.py's (the whole run, three seeds).
BREADTH_IDS = {"RK-PARAM-003", "RK-CLI-001", "RK-CLI-002", "RK-CLI-003", "RK-CLI-004"}


def test_a_correct_client_that_rotates_twice_passes_and_the_run_shows_its_matrix(
    tmp_path: Path,
) -> None:
    script = tmp_path / "rotating.py"
    script.write_text(CORRECT_ROTATING_CLIENT, encoding="utf-8")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    result = _suite(command, 7, BREADTH_IDS | {"RK-AUTH-010", "RK-HTTP-011"})
    assert _failing(result) == set(), [
        f.message for r in result.requirements.values() for f in r.failures
    ][:3]
    assert result.exit_code() == 0
    scenarios = plan(random.Random(7))
    assert list(result.matrix) == [s.name for s in scenarios]
    rotating = [s.name for s in scenarios if s.rotations == 2]
    assert all(result.matrix[name]["RK-CLI-002"] is Status.PASS for name in rotating)
    doc = matrix_doc(result)
    assert doc is not None and len(doc["scenarios"]) == len(scenarios)
    assert {"RK-CLI-001", "RK-CLI-002", "RK-PARAM-003"} <= set(doc["requirements"])
    html = matrix_html(result)
    assert html.count("<tr>") == len(scenarios) + 1 and 'class="cell pass"' in html


# The one format each fault shows in, so that the fast suite runs a third of the plan.
NARROWEST = {"naive-plain-split": Format.PLAIN, "regex-xml": Format.XML}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_broken_client_is_caught_by_exactly_its_ids(fault: str) -> None:
    path = BROKEN / f"{fault}.py"
    assert _expected_ids(path) == FAULTS[fault]
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"
    fmt = NARROWEST.get(fault, Format.JSON)
    result = _suite(command, 7, BREADTH_IDS, (fmt,))
    assert _failing(result) == FAULTS[fault]
    failing_cells = {
        rid for row in result.matrix.values() for rid, st in row.items() if st is Status.FAIL
    }
    assert failing_cells == FAULTS[fault]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_broken_client_is_caught_by_exactly_its_ids_under_three_seeds(
    fault: str, seed: int
) -> None:
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(BROKEN / f'{fault}.py'))}"
    assert _failing(_suite(command, seed, BREADTH_IDS)) == FAULTS[fault]


def test_the_matrix_is_in_report_json(tmp_path: Path) -> None:
    from regenkey.cli import main

    reports = tmp_path / "reports"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(BROKEN / 'naive-plain-split.py'))}"
    argv = ["check-client", "--command", command, "--req", "RK-CLI-001", "--formats", "plain"]
    assert main([*argv, "--report-dir", str(reports), "--seed", "3"]) == 1
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    matrix = report["matrix"]
    assert matrix["requirements"] == ["RK-CLI-001"]
    cells = [row["cells"].get("RK-CLI-001") for row in matrix["scenarios"]]
    assert cells.count("fail") >= 1 and "pass" in cells
    assert "Scenarios x requirements" in (reports / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("sent", "why"),
    [("  pw <&> \u00e9 ", "trimmed"), ("  pw <&> e\u0301  ", "Unicode-normalised")],
    ids=["trimmed", "normalised"],
)
def test_a_password_changed_on_the_way_is_named_for_what_changed_it(sent: str, why: str) -> None:
    from urllib.parse import urlencode

    from conformance.client.app import RecordedRequest
    from conformance.client.runner import judge_requests
    from conformance.client.scenarios import Case, Expectation

    given = "  pw <&> \u00e9  "
    body = urlencode([("userId", "u"), ("password", sent.strip() if why == "trimmed" else sent)])
    headers = (("Content-Type", "application/x-www-form-urlencoded"),)
    request = RecordedRequest("POST", "/SMSApi/rest/regenerateAPIKey", b"", headers, body.encode())
    expect = Expectation("u", given, None, None, Auth.CREDENTIALS)
    result = judge_requests([Case(expect, [request])], Redactor())
    failures = result.requirements["RK-PARAM-003"].failures
    assert result.requirements["RK-PARAM-003"].status is Status.FAIL
    assert why in failures[0].actual
