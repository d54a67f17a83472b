"""A lifecycle failure is reproducible by a script a user can paste (issue 18).

The run against a broken server writes ``reproduce-<n>.sh`` beside the report;
run with bash, against that broken server it stops at the violated expectation
(exit 1), and against the reference server every step succeeds (exit 0).
Secrets are environment variables in the script, never literals.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from conformance import ENDPOINT_PATH, Redactor
from conformance.judging.results import Failure, RunResult, Step
from conformance.reporting.document import report_schema
from conformance.reporting.files import write_reports
from conformance.server.runner import Account, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None,
    reason="the replay scripts need bash and curl",
)
OLD_KEYS_WORK = next(b for b in BROKEN if b.name == "old-keys-work")


def _accounts(store: MemoryStore) -> Accounts:
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    return accounts


def _run_and_report(tmp_path: Path) -> tuple[RunResult, dict[str, Path], Accounts, list[str]]:
    """Judge the old-keys-work server; return the result, the report files,
    the accounts, and every key the server issued during the run."""
    store = MemoryStore()
    accounts = _accounts(store)
    app = OLD_KEYS_WORK.make(store, accounts)
    with serving(app) as base_url:
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password),
            tricky=Account(TRICKY_USER, accounts.tricky_password),
            seed=7,
            max_examples=6,
        )
        result = run_server_suite(config, Redactor())
        paths = write_reports(result, tmp_path / "report", Redactor())
    return result, paths, accounts, list(app.keys)  # type: ignore[attr-defined]


def _key_from(base_url: str, password: str) -> str:
    form = {"userId": PLAIN_USER, "password": password, "format": "json"}
    answer = httpx.post(base_url + ENDPOINT_PATH, data=form, timeout=10)
    key: str = answer.json()["apiKey"]
    return key


def _replay(
    script: Path, base_url: str, password: str, key: str, tmp: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "REGENKEY_BASE_URL": base_url,
        "REGENKEY_PASSWORD": password,
        "REGENKEY_API_KEY": key,
        "REGENKEY_KEY_FILE": str(tmp / "current.key"),
    }
    return subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_lifecycle_failure_writes_a_script_that_reproduces_it(tmp_path: Path) -> None:
    result, paths, accounts, issued = _run_and_report(tmp_path)
    rot = result.requirements["RK-ROT-002"]
    assert rot.failures, "old-keys-work must fail RK-ROT-002"
    failure = rot.failures[0]
    assert len(failure.sequence) >= 2
    assert failure.sequence[-1].expect_key is False  # the old key must be refused
    script = paths["reproduce-1.sh"]
    assert script.parent == paths["html"].parent
    assert os.stat(script).st_mode & 0o777 == 0o700
    text = script.read_text(encoding="utf-8")
    assert "$REGENKEY_API_KEY" in text or "$REGENKEY_PASSWORD" in text
    assert "$KEY_1" in text  # the key step 1 was answered with feeds a later step
    assert accounts.plain_password not in text
    for key in issued:
        assert key not in text
    html = paths["html"].read_text(encoding="utf-8")
    assert 'href="reproduce-1.sh"' in html
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    Draft202012Validator(report_schema()).validate(document)
    (rot_doc,) = [r for r in document["requirements"] if r["id"] == "RK-ROT-002"]
    assert rot_doc["failures"][0]["script"] == "reproduce-1.sh"
    (atomic,) = [r for r in document["requirements"] if r["id"] == "RK-ROT-005"]
    assert atomic["blocked_by"] == ["RK-ROT-002"]

    # against the broken server (a fresh one): the failure is reproduced
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    with serving(OLD_KEYS_WORK.make(store, accounts)) as base_url:
        key = _key_from(base_url, accounts.plain_password)  # a key the broken server issued
        broken = _replay(script, base_url, accounts.plain_password, key, tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "RK-ROT-002" in broken.stderr
    assert "broke the spec" in broken.stderr

    # against the reference server: every step is answered as expected
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    key = store.rotate(PLAIN_USER)
    with serving(build_app(store)) as base_url:
        good = _replay(script, base_url, accounts.plain_password, key, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    steps = len(failure.sequence)
    assert f"all {steps} steps were answered as a conformant server answers" in good.stdout
    # the key the account has now was kept, and the terminal shows keys masked only
    current = (tmp_path / "current.key").read_text().strip()
    assert store.authenticate_key(current) is not None
    assert current not in good.stdout


def test_a_key_issued_twice_is_reproduced_too(tmp_path: Path) -> None:
    """RK-ROT-001 is judged on no single answer (the key equals the one before):
    the script compares each new key with the previous one."""
    same_key = next(b for b in BROKEN if b.name == "same-key")
    store = MemoryStore()
    accounts = _accounts(store)
    with serving(same_key.make(store, accounts)) as base_url:
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password),
            tricky=Account(TRICKY_USER, accounts.tricky_password),
            seed=7,
            max_examples=6,
        )
        result = run_server_suite(config, Redactor())
        paths = write_reports(result, tmp_path / "report", Redactor())
    failure = result.requirements["RK-ROT-001"].failures[0]
    assert failure.sequence and failure.reproduction == ""
    script = paths["reproduce-1.sh"]
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    with serving(same_key.make(store, accounts)) as base_url:
        key = _key_from(base_url, accounts.plain_password)
        broken = _replay(script, base_url, accounts.plain_password, key, tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "the previous key came back" in broken.stderr
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    with serving(build_app(store)) as base_url:
        key = _key_from(base_url, accounts.plain_password)
        good = _replay(script, base_url, accounts.plain_password, key, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr


def test_script_never_carries_a_secret_literal(tmp_path: Path) -> None:
    """A canary planted in every field of a step is redacted in the script."""
    canary = "Canary-P4ss word&=%"
    key = "c0ffee00c0ffee00c0ffee00c0ffee00"
    result = RunResult("server", "http://127.0.0.1:9", seed=1, strict=False)
    steps = (
        Step(
            f'curl -X POST --data-urlencode password={canary} "$REGENKEY_BASE_URL"/x',
            f"a key, not {key}",
            True,
            "KEY_1",
        ),
        Step(f'curl -H "apiKey: {key}" "$REGENKEY_BASE_URL"/x', f"no {canary}", False),
    )
    result.record_failure(Failure("RK-ROT-002", "c", f"m {canary}", "e", "a", sequence=steps))
    result.finish()
    redactor = Redactor()
    redactor.add(canary)
    redactor.add(key)
    paths = write_reports(result, tmp_path, redactor)
    data = paths["reproduce-1.sh"].read_bytes()
    assert canary.encode() not in data
    assert key.encode() not in data
    assert b"[REDACTED]" in data
    proc = subprocess.run(["bash", "-n", str(paths["reproduce-1.sh"])], capture_output=True,
                          timeout=30, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_a_single_request_failure_gets_no_script(tmp_path: Path) -> None:
    result = RunResult("server", "http://127.0.0.1:9", seed=1, strict=False)
    result.record_failure(Failure("RK-FMT-005", "c", "m", "e", "a", reproduction="curl x"))
    result.finish()
    paths = write_reports(result, tmp_path, Redactor())
    assert not list(tmp_path.glob("reproduce-*.sh"))
    assert set(paths) == {"json", "junit", "html"}
