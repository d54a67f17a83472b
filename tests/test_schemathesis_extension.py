"""The Schemathesis extension (regenkey.schemathesis), as users run it.

The CLI (``SCHEMATHESIS_HOOKS=regenkey.schemathesis schemathesis run URL``, the
documented path) runs as a real process against the reference app and broken
servers served on 127.0.0.1; the pytest example runs as its own pytest; the
case-reading rules are unit-tested on Schemathesis cases.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml

from conformance import Format, openapi, spec_text
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from regenkey.schemathesis_cases import asked, clean_key_request
from regenkey.schemathesis_keys import KeyLedger, Outcome
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = ROOT / "docs" / "schemathesis.toml"
EXAMPLE = ROOT / "docs" / "examples" / "test_with_schemathesis.py"
IDS = re.compile(r"RK-[A-Z]+-\d{3}")
PATH = "/SMSApi/rest/regenerateAPIKey"


@contextmanager
def target(name: str | None) -> Iterator[tuple[str, str, MemoryStore]]:
    """The reference app (None) or a broken server, on a loopback port."""
    store = MemoryStore()
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    if name is None:
        app: Any = build_app(store)
    else:
        app = next(s for s in BROKEN if s.name == name).make(store, accounts)
    with serving(app) as url:
        yield url, accounts.plain_password, store


def _env(password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    env.update(
        SCHEMATHESIS_HOOKS="regenkey.schemathesis",
        REGENKEY_USER_ID=PLAIN_USER,
        REGENKEY_PASSWORD=password,
    )
    return env


def run_cli(
    url: str, password: str, cwd: Path, examples: int = 8
) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run"]
    command += [f"{url}/openapi.yaml", "--max-examples", str(examples), "--seed", "1"]
    command += ["--generation-database", "none", "--no-color"]
    return subprocess.run(
        command, env=_env(password), cwd=cwd, capture_output=True, text=True, timeout=300
    )


# --- the CLI against real servers ---------------------------------------------------------
def test_reference_server_passes_and_really_regenerates(tmp_path: Path) -> None:
    with target(None) as (url, password, store):
        run = run_cli(url, password, tmp_path)
        rotated = store.current_key_digest(PLAIN_USER) is not None
    assert run.returncode == 0, run.stdout[-4000:]
    assert "No issues found" in run.stdout
    assert not IDS.findall(run.stdout)
    assert rotated, "no positive case regenerated the key: the credentials were not put in"
    links = re.search(r"API Links:\s+(\d+) covered", run.stdout)
    assert links and int(links.group(1)) > 0, "the stateful phase followed no rotation link"
    assert password not in run.stdout + run.stderr


CAUGHT = [
    ("xml-wrong-order", {"RK-XML-002"}),
    ("plain-commas", {"RK-PLAIN-001"}),
    ("error-status-failed", {"RK-ERR-001"}),
    ("old-keys-work", {"RK-ROT-002"}),
    ("issued-key-fake", {"RK-ROT-003"}),
    ("success-is-201", {"RK-HTTP-010"}),
]


@pytest.mark.parametrize(("name", "ids"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_broken_server_is_reported_under_its_ids(name: str, ids: set[str], tmp_path: Path) -> None:
    with target(name) as (url, password, _):
        run = run_cli(url, password, tmp_path)
    assert run.returncode == 1, run.stdout[-4000:]
    assert set(IDS.findall(run.stdout)) == ids, run.stdout[-6000:]
    assert password not in run.stdout + run.stderr


# --- the pytest example ---------------------------------------------------------------------
def _example(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(EXAMPLE), *args]
    env = {**env, "REGENKEY_EXAMPLES": "4"}
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_pytest_example_passes_on_its_own_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    run = _example(env, tmp_path)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "4 passed" in run.stdout


def test_pytest_example_fails_a_broken_server_with_the_id(tmp_path: Path) -> None:
    # Every refusal breaks RK-ERR-001 there: a fault even four examples meet.
    with target("error-status-failed") as (url, password, _):
        env = {**_env(password), "REGENKEY_BASE_URL": url}
        run = _example(env, tmp_path, "-k", "answers_every_request")
    assert run.returncode == 1, run.stdout[-4000:]
    assert set(IDS.findall(run.stdout)) == {"RK-ERR-001"}
    assert password not in run.stdout


# --- configuration and spec ----------------------------------------------------------------
def test_config_expects_http_200_error_envelopes() -> None:
    checks = schemathesis.Config.from_path(CONFIG).projects.get_default().checks
    assert "200" in checks.negative_data_rejection.expected_statuses
    assert "200" in checks.positive_data_acceptance.expected_statuses
    assert checks.negative_data_rejection.enabled
    assert not checks.status_code_conformance.enabled  # replaced by status_follows_the_envelope


def test_local_sandbox_is_the_first_server() -> None:
    servers = yaml.safe_load(spec_text("openapi.yaml"))["servers"]
    assert servers[0]["url"] == "http://127.0.0.1:8080"
    assert servers[1]["url"] == "https://www.smsgateway.center"
    assert "LIVE" in servers[1]["description"]


# --- reading cases ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_dict(copy.deepcopy(openapi()))


LINKS = """
import copy, json, schemathesis, regenkey.schemathesis
from conformance import openapi
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi()))
print(json.dumps(schema.raw_schema["components"]["responses"]["Regenerated"]["links"]))
"""


def test_links_feed_each_new_key_to_the_next_request() -> None:
    # In a process of its own: importing the extension registers global hooks and checks.
    run = subprocess.run(
        [sys.executable, "-c", LINKS], capture_output=True, text=True, timeout=120, check=True
    )
    links = json.loads(run.stdout)
    values = {link["parameters"]["header.apiKey"] for link in links.values()}
    assert values == {"$response.body#/apiKey", "$response.body#regex:apiKey=([0-9a-fA-F]+)"}
    assert {link["operationId"] for link in links.values()} == {
        "regenerateApiKeyGet",
        "regenerateApiKeyPost",
    }


def test_the_format_asked_for(schema: Any) -> None:
    get, post = schema[PATH]["GET"], schema[PATH]["POST"]
    assert asked(get.Case(query={})).formats == {Format.PLAIN}
    assert asked(get.Case(query={"format": "JSon"})).formats == {Format.JSON}
    assert asked(get.Case(query={"format": "JSon"})).rule(False, False, False) is None
    assert asked(get.Case(query={"format": "JSon"})).rule(False, True, False) == "RK-FMT-003"
    assert asked(get.Case(query={"format": "json"})).rule(False, False, False) == "RK-ERR-005"
    assert asked(get.Case(query={"format": "nope"})).rule(True, True, False) == "RK-FMT-004"
    assert asked(get.Case(query={"format": 3})).formats == set(Format)
    xml = post.Case(body={"format": "xml"}, media_type="application/xml")
    # a POST may be answered as if its body were not read (that is RK-HTTP-004, not a format rule)
    assert asked(xml).formats == {Format.XML, Format.PLAIN}


def test_a_clean_key_request_carries_nothing_else(schema: Any) -> None:
    get = schema[PATH]["GET"]
    assert clean_key_request(get.Case(query={"format": "json"}, headers={"apiKey": "k"}), False)
    with_password = get.Case(query={"userId": "u", "password": "p"}, headers={"apiKey": "k"})
    assert not clean_key_request(with_password, False)
    assert not clean_key_request(get.Case(query={"format": "JSON"}, headers={"apiKey": "k"}), False)


KEY_A, KEY_B, KEY_C = ("a" * 32, "b" * 32, "c" * 32)


def _success(key: str) -> Outcome:
    return Outcome(True, key, True)


def test_ledger_names_each_rotation_fault() -> None:
    ledger = KeyLedger()
    ledger.before_send("1")
    assert ledger.observe("1", None, "GET -", False, _success(KEY_A)) == []
    ledger.before_send("2")  # the key just issued, refused: RK-ROT-003
    broken = ledger.observe("2", KEY_A, "GET -", True, Outcome(False, None, True))
    assert [rid for rid, _ in broken] == ["RK-ROT-003"]
    ledger.before_send("3")
    assert ledger.observe("3", None, "GET -", False, _success(KEY_B)) == []
    ledger.before_send("4")  # the revoked key works: RK-ROT-002 (and the key it got is new)
    assert [r for r, _ in ledger.observe("4", KEY_A, "GET -", True, _success(KEY_C))] == [
        "RK-ROT-002"
    ]
    ledger.before_send("5")  # the same key handed out again: RK-ROT-001
    assert [r for r, _ in ledger.observe("5", None, "GET -", False, _success(KEY_C))] == [
        "RK-ROT-001"
    ]


def test_ledger_does_not_blame_the_key_for_an_unproven_request_kind() -> None:
    ledger = KeyLedger()
    ledger.before_send("1")
    ledger.observe("1", None, "GET -", False, _success(KEY_A))
    ledger.before_send("2")  # XML bodies never worked here: RK-HTTP-004's business, not ROT-003
    assert (
        ledger.observe("2", KEY_A, "POST application/xml", True, Outcome(False, None, True)) == []
    )
