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
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts, BrokenServer
from tests.servers.broken_model import BROKEN_MODEL, ModelBroken

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = ROOT / "docs" / "schemathesis.toml"
EXAMPLE = ROOT / "docs" / "examples" / "test_with_schemathesis.py"
IDS = re.compile(r"RK-[A-Z]+-\d{3}")
PATH = "/SMSApi/rest/regenerateAPIKey"


@contextmanager
def target(name: str | None) -> Iterator[tuple[str, str, MemoryStore]]:
    """The reference app (None) or a broken server, on a loopback port."""
    with serve(None if name is None else SERVERS[f"broken:{name}"]) as (url, password, store, _):
        yield url, password, store


@contextmanager
def serve(
    server: BrokenServer | ModelBroken | None,
) -> Iterator[tuple[str, str, MemoryStore, str | None]]:
    """The reference app (None) or a broken server, on a loopback port, with
    the key to give the run where check-server is given one too."""
    store = MemoryStore()
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    key = store.rotate(PLAIN_USER) if server is not None and server.key_given else None
    app: Any = build_app(store) if server is None else server.make(store, accounts)
    with serving(app) as url:
        yield url, accounts.plain_password, store, key


def _env(password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    env.update(
        SCHEMATHESIS_HOOKS="regenkey.schemathesis",
        REGENKEY_USER_ID=PLAIN_USER,
        REGENKEY_PASSWORD=password,
    )
    return env


def run_cli(
    url: str,
    password: str,
    cwd: Path,
    examples: int = 8,
    phases: str | None = None,
    key: str | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run"]
    command += [f"{url}/openapi.yaml", "--max-examples", str(examples), "--seed", "1"]
    command += ["--generation-database", "none", "--no-color"]
    command += ["--phases", phases] if phases else []
    env = {**_env(password), **({"REGENKEY_API_KEY": key} if key else {})}
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


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


@pytest.mark.parametrize("phase", ["examples", "coverage"])
def test_cases_built_without_a_strategy_are_authenticated(phase: str, tmp_path: Path) -> None:
    # Schemathesis builds these phases' cases directly, so flatmap_case never sees them:
    # left with the spec's placeholder credentials they would all be refused.
    with target(None) as (url, password, store):
        run = run_cli(url, password, tmp_path, phases=phase)
        rotated = store.current_key_digest(PLAIN_USER) is not None
    assert run.returncode == 0, run.stdout[-4000:]
    assert rotated, f"no {phase}-phase case regenerated the key: no credentials were put in"


# --- parity with check-server over both broken-server tables --------------------------------
# Every broken server of tests/servers/broken.py and tests/servers/broken_model.py.
SERVERS: dict[str, BrokenServer | ModelBroken] = {f"broken:{s.name}": s for s in BROKEN} | {
    f"model:{s.name}": s for s in BROKEN_MODEL
}
# Faults Schemathesis never sends a request to meet (docs/SCHEMATHESIS.md).
NOT_GENERATED = {
    # the fault needs the apiKey header spelt in lower case; Schemathesis always sends `apiKey`
    "model:revoked-key-works-lower-case-header",
}
# Where only check-server can tell (docs/SCHEMATHESIS.md gives each row's reason).
SILENT_SERVERS = [
    "broken:unknown-format-plain",  # RK-FMT-004
    # RK-HTTP-001/006/007: requests Schemathesis cannot send
    *("broken:path-any-case", "broken:no-chunked", "broken:chunked-ignored"),
    *("broken:no-get-with-type", "broken:get-body-read"),
    # RK-HTTP-002..005, RK-HTTP-009: a refused or ignored request kind
    *("broken:no-form", "broken:no-get", "broken:no-xml", "broken:no-multipart"),
    *("broken:post-query-ignored", "broken:multipart-ignored", "broken:multipart-format-ignored"),
    *("broken:post-query-format-ignored", "broken:xml-refused-415", "broken:xml-body-ignored"),
    # RK-PARAM-001/002/004
    *("broken:userid-lower-case", "broken:plus-not-decoded", "broken:unknown-parameter-refused"),
    # RK-AUTH-001..008, RK-AUTH-015: deliberate wrong credentials on a known-good account
    *("broken:no-credentials", "broken:anonymous-allowed", "broken:wrong-password-ok"),
    *("broken:malformed-keys-ok", "broken:empty-header-refused", "broken:empty-fields-refused"),
    "broken:key-read-from-parameters",
    # RK-ROT-004/005/006/008/009, RK-KEY-003: a lifecycle, concurrency, a second account
    *("broken:credentials-die", "broken:password-dies-after-header-rotation"),
    *("broken:password-dies-after-get-rotation", "broken:racy-rotation"),
    *("broken:refusals-rotate", "broken:header-rotation-revokes-other-accounts"),
    *("broken:head-rotates", "broken:counter-keys"),
    # RK-SAFE-002/003: only wrong credentials are refused, and those are not the password
    *(f"broken:{s.name}" for s in BROKEN if s.name.startswith("echoes-password")),
    *("broken:key-in-error-reason", "broken:key-in-error-header"),
    # the per-dimension servers (issue 15) of the same rows
    *(f"model:{s.name}" for s in BROKEN_MODEL if s.name.startswith("password-")),
    *(f"model:{s.name}" for s in BROKEN_MODEL if "-refused" in s.name),
    *("model:plus-decoded-in-multipart", "model:post-query-format-ignored-beside-a-body"),
    *(f"model:{s.name}" for s in BROKEN_MODEL if s.name.startswith("echoes-password")),
    *("model:last-key-in-error-reason", "model:last-key-in-error-header"),
    *("model:header-rotation-revokes-other-accounts", "model:head-rotates", "model:put-rotates"),
    "model:foo-rotates",  # an extension method: Schemathesis sends the document's GET and POST
    # RK-FMT-002 by an empty <format/> in an <Account> body: Schemathesis never sends one
    "model:xml-empty-format-answered-in-json",
    "model:counter-keys-dressed-as-uuids",
]
# Where the extension reports less than check-server (docs/SCHEMATHESIS.md, "What it catches"):
# the ids it reports there, an empty set where it stays silent (so a false id fails the test).
# Every other server is reported under exactly its own ids.
REPORTS: dict[str, frozenset[str]] = {
    # one observation (a key that never works): the extension names RK-ROT-003 only
    "broken:no-header-auth": frozenset({"RK-ROT-003"}),
    "broken:issued-key-fake": frozenset({"RK-ROT-003"}),
    # Schemathesis itself fails on the body (exit 2), before any check sees it
    "broken:deep-json": frozenset(),
    **dict.fromkeys(SILENT_SERVERS, frozenset()),
}
# One server per row of the table in docs/SCHEMATHESIS.md: the fast suite's share.
REPRESENTATIVES = [
    "broken:xml-wrong-order",
    "broken:format-case-sensitive",
    "broken:success-is-201",
    "broken:issued-key-fake",
    "broken:unknown-format-plain",
    "broken:no-chunked",
    "broken:xml-refused-415",
    "broken:plus-not-decoded",
    "broken:wrong-password-ok",
    "broken:refusals-rotate",
    "broken:echoes-password",
    "model:revoked-key-works-by-get",
]
# Every server the extension names an id for (and deep-json, where Schemathesis fails):
# each row's parity, in the fast suite too.
REPORTED = [
    k
    for k in SERVERS
    if k not in NOT_GENERATED
    and k not in REPRESENTATIVES
    and (REPORTS.get(k, SERVERS[k].fails) or k == "broken:deep-json")
]
# The servers it rightly stays silent on, beyond one per row: under `make soak` (a run
# is about 4 s of CPU, so the whole table would add minutes to `make test`).
SLOW = [k for k in SERVERS if k not in NOT_GENERATED and k not in REPRESENTATIVES + REPORTED]


def test_the_parity_table_covers_every_broken_server() -> None:
    assert set(REPORTS) <= set(SERVERS), set(REPORTS) - set(SERVERS)
    assert set(REPRESENTATIVES) <= set(SERVERS) - NOT_GENERATED
    for key, ids in REPORTS.items():
        assert ids <= SERVERS[key].fails, key  # silent or a part: never another id
    assert set(SLOW) | set(REPRESENTATIVES) | set(REPORTED) | NOT_GENERATED == set(SERVERS)
    assert not any(REPORTS.get(k, SERVERS[k].fails) for k in SLOW)  # only silent ones wait


def _reported_as_check_server_would(key: str, tmp_path: Path) -> None:
    server = SERVERS[key]
    with serve(server) as (url, password, _, api_key):
        run = run_cli(url, password, tmp_path, key=api_key)
    expected = REPORTS.get(key, server.fails)
    assert set(IDS.findall(run.stdout)) == expected, run.stdout[-6000:]
    if key == "broken:deep-json":
        assert run.returncode == 2, run.stdout[-4000:]  # never a false pass
    elif expected:
        assert run.returncode == 1, run.stdout[-4000:]
    assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("key", REPRESENTATIVES + REPORTED)
def test_broken_server_is_reported_under_its_ids(key: str, tmp_path: Path) -> None:
    _reported_as_check_server_would(key, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("key", SLOW)
def test_every_silent_server_gets_no_id(key: str, tmp_path: Path) -> None:
    _reported_as_check_server_would(key, tmp_path)


# --- secrets: what the extension itself writes ----------------------------------------------
CANARY = 'Can4ry pw+&=%ü"<>/ x'  # every character here needs encoding somewhere
EXTENSION_LINE = re.compile(r"^\s*RK-[A-Z]+-\d{3}: .*$", re.MULTILINE)


def test_extension_messages_hide_the_password_and_every_key(tmp_path: Path) -> None:
    """Every answer quotes the canary password (raw and encoded) and the last keys
    (upper case, and cut short) where the validators' messages quote the body:
    the extension's own failure lines name the ids and show none of them.
    Schemathesis' own output does show bodies (docs/SCHEMATHESIS.md, Secrets)."""
    from urllib.parse import quote, quote_plus

    from conformance.judging.spellings import KEY_SHAPE, spellings
    from tests.servers.breaker import Breaker, Req, Resp

    store = MemoryStore()
    store.add_account(PLAIN_USER, CANARY)
    first = store.rotate(PLAIN_USER)  # given to the run as REGENKEY_API_KEY
    breaker = Breaker(build_app(store))

    def leak(req: Req, resp: Resp) -> None:
        if req.path != PATH:
            return  # the OpenAPI document stays whole
        keys = " ".join(f"{k.upper()} {k[:24]}" for k in [first, *breaker.keys[-2:]])
        echo = f"{keys} {CANARY} {quote(CANARY)} {quote_plus(CANARY)}"
        resp.body = f"status=error | {echo} | ".encode() + resp.body

    breaker.on_response = leak
    with serving(breaker) as url:
        run = run_cli(url, CANARY, tmp_path, key=first)
    assert breaker.keys, "no request regenerated: the credentials were not put in"
    lines = EXTENSION_LINE.findall(run.stdout)
    assert any(line.strip().startswith("RK-PLAIN-001:") for line in lines), run.stdout[-4000:]
    assert any("[REDACTED]" in line for line in lines)
    for line in lines:
        assert not any(form in line for form in spellings(CANARY)), line
        assert not KEY_SHAPE.search(line), line
        cut = [k[:24] for k in [first, *breaker.keys]]
        assert not any(c in line or c.upper() in line for c in cut), line


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
    # "XML" answered by default (plain): its letter case hid it, if "xml" works there
    upper = asked(get.Case(query={"format": "XML"}))
    assert upper.rule(True, True, False) is None
    assert upper.rule(True, True, False, Format.PLAIN, lower_proven=True) == "RK-FMT-003"
    assert upper.rule(True, True, False, Format.JSON, lower_proven=True) == "RK-FMT-001"
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


def test_ledger_names_a_revoked_key_issued_again_once() -> None:
    ledger = KeyLedger()
    for case, key in (("1", KEY_A), ("2", KEY_B)):
        ledger.before_send(case)
        ledger.observe(case, None, "GET -", False, _success(key))
    ledger.before_send("3")  # KEY_A, revoked by the second rotation, handed out again
    assert [r for r, _ in ledger.observe("3", None, "GET -", False, _success(KEY_A))] == [
        "RK-ROT-007"
    ]
    ledger.before_send("4")  # KEY_A is current again: it working is no RK-ROT-002
    assert ledger.observe("4", KEY_A, "GET -", True, _success(KEY_C)) == []
