"""The server suite catches each broken server by exactly its requirement ids,
passes correct variants, and judges the reference server conformant."""

from __future__ import annotations

import secrets
from contextlib import ExitStack

import pytest

from conformance import Redactor
from conformance.judging.results import RunResult, Status
from conformance.server.runner import Account, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import ASGI
from tests.servers.broken import (
    BROKEN,
    CORRECT,
    PLAIN_USER,
    TRICKY_USER,
    Accounts,
    BrokenServer,
    RacyStore,
)
from tests.servers.proxy import case_sensitive_proxy

SEED = 20261125


def judge(
    make: object,
    store: MemoryStore | None = None,
    examples: int = 6,
    proxy: bool = False,
    key_given: bool = False,
) -> RunResult:
    store = store or MemoryStore()
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    api_key = store.rotate(PLAIN_USER) if key_given else None
    app: ASGI = make(store, accounts)  # type: ignore[operator]
    with ExitStack() as stack:
        base_url = stack.enter_context(serving(app))
        if proxy:
            base_url = stack.enter_context(case_sensitive_proxy(base_url))
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password, api_key),
            tricky=Account(TRICKY_USER, accounts.tricky_password),
            seed=SEED,
            max_examples=examples,
            strict=True,
        )
        return run_server_suite(config, Redactor())


def failed(result: RunResult) -> set[str]:
    return {
        r.id for r in result.requirements.values() if r.status in (Status.FAIL, Status.NON_STRICT)
    }


def test_reference_server_passes_strict() -> None:
    result = judge(lambda store, accounts: build_app(store))
    assert failed(result) == set()
    assert result.verdict == "pass" and result.exit_code() == 0
    assert all(r.status is Status.PASS for r in result.requirements.values()), [
        (r.id, r.status, r.skip_reasons)
        for r in result.requirements.values()
        if r.status is not Status.PASS
    ]


@pytest.mark.parametrize("server", BROKEN, ids=lambda s: s.name)
def test_broken_server_is_caught_by_exactly_its_ids(server: BrokenServer) -> None:
    store = RacyStore() if server.name == "racy-rotation" else None
    result = judge(server.make, store, key_given=server.key_given)
    assert failed(result) == set(server.fails), {
        rid: [f.message + " | " + f.actual for f in result.requirements[rid].failures][:2]
        for rid in failed(result) ^ set(server.fails)
        if rid in result.requirements
    }
    assert result.exit_code() == 1


def test_case_sensitive_header_name_is_caught_by_exactly_its_id() -> None:
    result = judge(lambda store, accounts: build_app(store), proxy=True)
    assert failed(result) == {"RK-AUTH-003"}


def test_reference_server_behind_a_faithful_proxy_still_passes() -> None:
    # The proxy itself is no fault: with the header spelt apiKey all pass but RK-AUTH-003.
    result = judge(lambda store, accounts: build_app(store), proxy=True)
    assert result.requirements["RK-AUTH-002"].status is Status.PASS


@pytest.mark.parametrize(("name", "make"), CORRECT, ids=[name for name, _ in CORRECT])
def test_correct_variants_pass_strict(name: str, make: object) -> None:
    result = judge(make)
    assert failed(result) == set(), {
        rid: [f.message + " | " + f.actual for f in result.requirements[rid].failures][:2]
        for rid in failed(result)
    }
    assert result.exit_code() == 0


def test_every_server_must_has_a_broken_server() -> None:
    from conformance import Level, catalogue

    caught = {rid for server in BROKEN for rid in server.fails} | {"RK-AUTH-003"}
    musts = {r.id for r in catalogue() if r.level is Level.MUST and r.applies_to_server()}
    assert musts <= caught, sorted(musts - caught)
