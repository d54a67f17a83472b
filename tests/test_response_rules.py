"""Per-response rules are written once (conformance/judging/rules.py) and both
judges use them; the server checks live in files by requirement area and run
in the order conformance/server/checks/__init__.py writes out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

import conformance.server.checks as server_checks
from conformance import Redactor
from conformance.judging.registry import RegistryError, registered_checks
from conformance.judging.results import RunResult
from conformance.judging.rules import RESPONSE_RULES, Response, judge, no_server_error
from conformance.judging.spellings import KnownKeys
from conformance.protocol.records import Format, Record
from conformance.protocol.wire import Encoding, RequestSpec, build
from conformance.server.context import Account, Exchange, ServerContext
from conformance.spec.catalogue import Party
from conformance.vectors.transcripts import RULES, Kind

ROOT = Path(__file__).resolve().parent.parent
KEY = "feedfacecafe4bad8eed000000000031"
KNOWN = KnownKeys([KEY])
ERROR = Record("error", "401", "invalid credentials")
JSON = (("Content-Type", "application/json"),)


def _error_body(reason: str) -> bytes:
    return json.dumps({"status": "error", "statusCode": "401", "reason": reason}).encode()


# --- the rule that no error holds a key (RK-SAFE-003) -----------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "where"),
    [
        (JSON, _error_body(f"denied ({KEY.upper()})"), "in the body"),
        (JSON, _error_body("denied (\\u0066" + KEY[1:] + ")").replace(b"\\\\", b"\\"), "unescaped"),
        ((*JSON, ("X-Debug", f"key={KEY}")), _error_body("denied"), "X-Debug header"),
    ],
    ids=["reason-upper-case", "json-u-escape", "debug-header"],
)
def test_an_error_holding_a_key_the_run_saw_breaks_rk_safe_003(
    headers: tuple[tuple[str, str], ...], body: bytes, where: str
) -> None:
    response = Response(200, headers, body, ERROR, Format.JSON, Format.JSON, keys=KNOWN)
    found = judge("RK-SAFE-003", response)
    assert found is not None and where in found


def test_no_key_the_run_saw_is_no_finding_nor_is_a_success() -> None:
    request_id = "0123456789abcdef0123456789abcdef"
    error = Response(401, JSON, _error_body(f"request {request_id}"), ERROR, keys=KNOWN)
    assert judge("RK-SAFE-003", error) is None  # a random 32-hex id is no issued key
    success = Record("success", "900", "success", KEY)
    issued = Response(200, JSON, KEY.encode(), success, Format.JSON, Format.JSON, keys=KNOWN)
    assert judge("RK-SAFE-003", issued) is None  # a success carries its key
    bare = Response(403, (), f"forbidden {KEY}".encode(), None, keys=KNOWN)
    assert judge("RK-SAFE-003", bare) is not None  # any 4xx is an error, envelope or not


def test_a_key_in_an_error_s_api_key_member_is_rk_err_004_s_alone() -> None:
    body = json.dumps({"status": "error", "apiKey": KEY, "statusCode": "401", "reason": "x"})
    ctx = _context()
    try:
        ctx.judge(_exchange(401, JSON, body.encode()), Format.JSON)
    finally:
        ctx.close()
    failed = {rid for rid, r in ctx.result.requirements.items() if r.failures}
    assert failed == {"RK-ERR-004"}


# --- one rule, two judges ---------------------------------------------------------------


def test_the_transcript_judge_applies_the_very_functions_of_the_registry() -> None:
    held = {r.rid: r.test for r in RULES if r.kind is Kind.HOLDS}
    for rid in ("RK-SAFE-001", "RK-SAFE-002", "RK-SAFE-003", "RK-HTTP-010"):
        assert getattr(held[rid], "__wrapped__", None) is RESPONSE_RULES[rid].judge, rid
        assert held[rid].__name__ == RESPONSE_RULES[rid].name


def _context() -> ServerContext:
    account = Account("user", "Sandbox-Pa55", api_key=KEY)
    return ServerContext("http://127.0.0.1:9", account, RunResult("t", "x", 1, True), Redactor(), 1)


def _exchange(status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> Exchange:
    spec = RequestSpec("POST", Encoding.FORM, (("userId", "user"), ("password", "wrong")))
    wire = build("http://127.0.0.1:9", spec)
    return Exchange(spec, wire, status, httpx.Headers(list(headers)), body)


def test_the_server_judge_fails_an_error_holding_the_current_key() -> None:
    ctx = _context()
    try:
        ctx.judge(_exchange(200, JSON, _error_body(f"key {KEY}")), Format.JSON)
        ctx.judge(_exchange(200, JSON, _error_body("denied")), Format.JSON)
    finally:
        ctx.close()
    (failure,) = ctx.result.requirements["RK-SAFE-003"].failures
    assert "a key the run saw issued is in the body" in failure.actual
    assert failure.response is not None and KEY not in failure.response.body  # redacted


def test_the_server_judge_names_a_non_uuid_key_under_rk_key_002_once() -> None:
    ctx = _context()
    key = "0" * 32
    body = json.dumps(
        {"status": "success", "apiKey": key, "statusCode": "900", "reason": "success"}
    )
    try:
        ctx.judge(_exchange(200, JSON, body.encode()), Format.JSON)
    finally:
        ctx.close()
    failed = {rid for rid, r in ctx.result.requirements.items() if r.failures}
    assert failed == {"RK-KEY-002"}


# --- one key shape -------------------------------------------------------------------------


# Copies written during this session in other areas, still to be replaced by an
# import of conformance.judging.spellings.KEY_SHAPE. This set may only shrink.
KEY_SHAPE_COPIES_LEFT: set[str] = set()


def test_the_key_shape_is_written_once() -> None:
    copies = []
    for top in ("conformance", "regenkey"):
        for path in (ROOT / top).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if re.search(r"\]\{32\}", line) and "grep -oE" not in line:  # a shell script's
                    copies.append(str(path.relative_to(ROOT)))
    assert set(copies) - KEY_SHAPE_COPIES_LEFT == {"conformance/judging/spellings.py"}, copies


# --- check files by requirement area, and an explicit run order -----------------------------

AREAS = {"http": "HTTP", "params": "PARAM", "auth": "AUTH", "rotation": "ROT"}


def test_checks_live_in_the_file_of_their_area() -> None:
    for spec in registered_checks(Party.SERVER):
        module = spec.func.__module__.rsplit(".", 1)[-1]
        if module in AREAS:
            assert spec.requirement_ids[0].split("-")[1] == AREAS[module], (spec.name, module)


def test_the_run_order_is_the_written_one_and_covers_every_check() -> None:
    names = tuple(c.name for c in registered_checks(Party.SERVER))
    assert names == server_checks.RUN_ORDER
    order = server_checks.RUN_ORDER
    assert order.index("credentials_keep_working") < order.index("get_query_is_accepted")
    assert order.index("refused_request_keeps_key") < order.index("unknown_format_is_refused")
    with pytest.raises(RegistryError, match="not in RUN_ORDER"):
        server_checks._arrange(order[1:])  # a check left out is an error, not run last
    assert tuple(c.name for c in registered_checks(Party.SERVER)) == order


def test_a_501_is_no_fault_only_for_a_method_the_server_need_not_implement() -> None:
    for method in ("FOO", "PUT", "delete"):
        assert no_server_error(Response(501, (), b"", None, method=method)) is None, method
    for method in ("GET", "POST", "HEAD"):
        assert no_server_error(Response(501, (), b"", None, method=method)) == "HTTP 501"
    assert no_server_error(Response(500, (), b"", None, method="FOO")) == "HTTP 500"
    assert no_server_error(Response(503, (), b"", None, method="FOO")) == "HTTP 503"
