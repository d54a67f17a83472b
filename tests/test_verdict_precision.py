"""Issue 12, items 6 and 7: deep nesting is a malformed body, and an account the
target refuses in every form is the user's ERROR, not the server's FAIL.

Real processes only: `regenkey validate` on files, `regenkey check-server`
against a reference server on loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import Format, validate_body
from conformance.transport.loopback import serving
from conformance.validation.bodies import json_too_deep
from reference_impl.server import MemoryStore, build_app

DEEP_JSON = '{"status": "success", "detail": ' + "[" * 2000 + "]" * 2000 + "}"
NESTED = "<d>" * 2000 + "</d>" * 2000
DEEP_XML = f"<generateApiKeySuccessResponse>{NESTED}</generateApiKeySuccessResponse>"
REFUSED = (
    "the account's credentials were refused in every form: check --user-id / REGENKEY_PASSWORD"
)


def regenkey(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "regenkey.cli", *args]
    environment = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)


@pytest.mark.parametrize(
    ("suffix", "body", "rid"),
    [(".json", DEEP_JSON, "RK-JSON-003"), (".xml", DEEP_XML, "RK-XML-003")],
)
def test_validate_reports_deep_nesting_as_not_well_formed(
    tmp_path: Path, suffix: str, body: str, rid: str
) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text(body)
    run = regenkey("validate", str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert rid in run.stdout and "nested deeper than 64 levels" in run.stdout
    other = {"RK-JSON-001", "RK-JSON-002", "RK-XML-001", "RK-XML-002"}
    assert not any(o in run.stdout for o in other), run.stdout


def test_wrong_password_in_every_form_is_an_error_not_a_failure(tmp_path: Path) -> None:
    store = MemoryStore()
    store.add_account("regenkey-sandbox", f"Zq{secrets.token_hex(8)}")
    with serving(build_app(store)) as url:
        wrong = {"REGENKEY_PASSWORD": f"Xk{secrets.token_hex(8)}"}
        args = ("--base-url", url, "--user-id", "regenkey-sandbox", "--report-dir", str(tmp_path))
        run = regenkey("check-server", *args, env=wrong)
    out = run.stdout + run.stderr
    assert run.returncode == 2, out[-3000:]
    assert REFUSED in out
    assert "Traceback" not in out
    assert "FAIL RK-AUTH-001" not in out and "Verdict: FAIL" not in out
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["verdict"] == "error"
    statuses = {r["id"]: r["status"] for r in document["requirements"]}
    assert statuses["RK-AUTH-001"] == "error"
    assert "fail" not in statuses.values()
    assert any(REFUSED in " ".join(r.get("errors", [])) for r in document["requirements"])


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    reason = "[{" * 100 + '\\"'
    body = f'{{"status": "error", "statusCode": "401", "reason": "{reason}"}}'
    verdict = validate_body(body, Format.JSON)
    assert verdict.ok, verdict.violations
    assert verdict.record is not None and verdict.record.reason == "[{" * 100 + '"'


def test_nesting_is_bounded_at_64_levels() -> None:
    assert not json_too_deep("[" * 64 + "]" * 64)
    assert json_too_deep("[" * 65 + "]" * 65)
    assert validate_body("[" * 65 + "]" * 65, Format.JSON).requirement_ids == {"RK-JSON-003"}
