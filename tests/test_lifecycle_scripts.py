"""A lifecycle failure found by the model-based machine replays (issue 15).

The failure carries the shrunk sequence; the script the reports write from
it (bash + curl, secrets and keys as environment variables, each step's
expected answer as a comment) stops with exit 1 against the broken server
and runs every step to exit 0 against the reference server.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance import Redactor
from conformance.judging.results import Failure, RunResult
from conformance.reporting.scripts import replay_script
from conformance.server.runner import Account, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import ASGI
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None,
    reason="the replay scripts need bash and curl",
)
Make = Callable[[MemoryStore, Accounts], ASGI]


def _server(name: str) -> Make:
    return next(b.make for b in BROKEN if b.name == name)


def _store(accounts: Accounts) -> MemoryStore:
    store = MemoryStore()
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    return store


def _failure(make: Make, rid: str, accounts: Accounts) -> tuple[RunResult, Failure]:
    store = _store(accounts)
    with serving(make(store, accounts)) as base_url:
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password),
            tricky=Account(TRICKY_USER, accounts.tricky_password),
            seed=11,
            max_examples=6,
            requirements=frozenset({rid}),
        )
        result = run_server_suite(config, Redactor())
    failures = result.requirements[rid].failures
    assert failures, (rid, result.requirements[rid].skip_reasons)
    return result, failures[0]


def _replay(
    script: Path, base_url: str, accounts: Accounts, tmp: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "REGENKEY_BASE_URL": base_url,
        "REGENKEY_PASSWORD": accounts.plain_password,
        "REGENKEY_TRICKY_PASSWORD": accounts.tricky_password,
        "REGENKEY_KEY_FILE": str(tmp / "current.key"),
    }
    return subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("server", "rid", "longest"),
    [
        ("head-rotates", "RK-ROT-009", 4),
        ("header-rotation-revokes-other-accounts", "RK-ROT-008", 5),
        ("revoked-key-reissued", "RK-ROT-007", 8),
    ],
)
def test_the_shrunk_sequence_replays_the_failure_and_passes_the_reference(
    server: str, rid: str, longest: int, tmp_path: Path
) -> None:
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+=%41")
    result, failure = _failure(_server(server), rid, accounts)
    assert 2 <= len(failure.sequence) <= longest, [s.command for s in failure.sequence]
    script = tmp_path / "reproduce-1.sh"
    text = replay_script(result, failure, Redactor())
    script.write_text(text, encoding="utf-8")
    assert accounts.plain_password not in text and accounts.tricky_password not in text
    assert all(s.expected in text or s.expected.splitlines()[0] in text for s in failure.sequence)

    with serving(_server(server)(_store(accounts), accounts)) as base_url:
        broken = _replay(script, base_url, accounts, tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "broke the spec" in broken.stderr

    store = _store(accounts)
    with serving(build_app(store)) as base_url:
        good = _replay(script, base_url, accounts, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    total = len(failure.sequence)
    assert f"all {total} steps were answered as a conformant server answers" in good.stdout
    current = (tmp_path / "current.key").read_text().strip()
    assert current and current not in good.stdout


def test_a_wrong_password_near_the_right_one_is_a_shell_expression(tmp_path: Path) -> None:
    """The case-flipped password is sent by the script without being written in it."""
    from conformance.judging.results import Step

    accounts = Accounts("Sandbox-Abc123", "Tr1cky x")
    result = RunResult("server", "http://127.0.0.1:9", 1, False)
    flip = "curl -sS -i --data-urlencode userId=regenkey-sandbox --data-urlencode "
    flip += '\'password=\'"$(printf %s "$REGENKEY_PASSWORD" | tr a-zA-Z A-Za-z)" '
    flip += '"$REGENKEY_BASE_URL"/SMSApi/rest/regenerateAPIKey'
    failure = Failure(
        "RK-AUTH-005", "lifecycle_follows_the_model", "m", "e", "a",
        sequence=(Step(flip, "a refusal", False),),
    )  # fmt: skip
    script = tmp_path / "s.sh"
    script.write_text(replay_script(result, failure, Redactor()), encoding="utf-8")
    assert "REGENKEY_PASSWORD:?" in script.read_text()
    seen: list[bytes] = []

    async def app(scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[type-arg]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serving(app) as base_url:
        ran = _replay(script, base_url, accounts, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert seen == [b"userId=regenkey-sandbox&password=sANDBOX-aBC123"]
