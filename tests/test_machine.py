"""The lifecycle machine (issue 15): seeded, planned inside its budgets, and its
failures shrink to the shortest sequence that still fails. Integration tests
run it against the reference server and broken ones over loopback."""

from __future__ import annotations

import secrets

import pytest

from conformance import Redactor
from conformance.judging.results import RunResult, Status
from conformance.protocol.wire import RequestSpec
from conformance.server.context import Exchange
from conformance.server.machine_plan import SEQUENCE_LENGTH, covering, plan
from conformance.server.machine_steps import MAIN, SECOND, Kind
from conformance.server.runner import Account, Live, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts

LIFECYCLE = frozenset({"RK-ROT-007", "RK-ROT-008", "RK-ROT-009"})


def _run(
    make: object = None,
    seed: int = 5,
    examples: int = 6,
    second: bool = True,
    live: Live | None = None,
    requirements: frozenset[str] = LIFECYCLE,
) -> tuple[RunResult, list[RequestSpec]]:
    store = MemoryStore()
    accounts = Accounts(f"Sandbox-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü")
    store.add_account(PLAIN_USER, accounts.plain_password)
    store.add_account(TRICKY_USER, accounts.tricky_password)
    app = make(store, accounts) if make is not None else build_app(store)  # type: ignore[operator]
    sent: list[RequestSpec] = []

    def record(ex: Exchange) -> None:
        sent.append(ex.spec)

    with serving(app) as base_url:
        config = ServerSuiteConfig(
            target=Target(base_url=base_url),
            account=Account(PLAIN_USER, accounts.plain_password),
            tricky=Account(TRICKY_USER, accounts.tricky_password) if second else None,
            live=live,
            seed=seed,
            max_examples=examples,
            requirements=requirements,
            recorder=record,
        )
        return run_server_suite(config, Redactor()), sent


def _shape(spec: RequestSpec) -> tuple[object, ...]:
    """A request without its secrets and keys: what the seed decides."""
    params = tuple((k, "<secret>" if k == "password" else v) for k, v in spec.params)
    keys = tuple((k, len(v)) for k, v in spec.headers)
    return (spec.method, spec.encoding, spec.chunked, params, keys)


def test_the_same_seed_sends_the_same_request_sequence() -> None:
    first, second, other = _run(seed=3)[1], _run(seed=3)[1], _run(seed=4)[1]
    assert len(first) > 30
    assert [_shape(s) for s in first] == [_shape(s) for s in second]
    assert [_shape(s) for s in first] != [_shape(s) for s in other]


def test_the_reference_server_passes_every_lifecycle_id_with_a_second_account() -> None:
    result, sent = _run(examples=25)
    statuses = {rid: result.requirements[rid].status for rid in LIFECYCLE}
    assert statuses == dict.fromkeys(LIFECYCLE, Status.PASS), {
        rid: result.requirements[rid].skip_reasons for rid in LIFECYCLE
    }
    methods = {s.method for s in sent}
    assert {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"} <= methods
    assert {s.encoding for s in sent} >= {"query", "form", "multipart", "xml"}
    assert any(s.chunked for s in sent)


def test_without_a_second_account_rk_rot_008_is_not_judged_and_says_why() -> None:
    result, _ = _run(second=False)
    rot8 = result.requirements["RK-ROT-008"]
    assert rot8.status is Status.SKIP
    assert any("no second account" in r for r in rot8.skip_reasons)
    assert result.exit_code() == 2  # a selected MUST unjudged: INCOMPLETE, never PASS


def test_max_examples_scales_the_machine_linearly() -> None:
    # the covering prefix, then three steps per example
    cover = len(covering(0, second=True))
    assert [plan(n, True).steps - cover for n in (1, 25, 50, 100)] == [3, 75, 150, 300]
    assert cover >= 2 * SEQUENCE_LENGTH


def test_a_live_plan_stays_inside_its_budgets_and_says_what_it_leaves_out() -> None:
    live = plan(25, True, rotations_left=20, bad_logins_left=1)
    assert live.steps <= 20 and not live.second and not live.shrink
    text = live.describe()
    assert "second account" in text and "shrinking" in text and "--max-rotations" in text
    assert "--max-bad-logins" in text
    result, sent = _run(live=Live(max_rotations=30, max_bad_logins=2), second=False)
    issued = sum(1 for s in sent if s.method in ("GET", "POST"))
    assert issued and result.requirements["RK-ROT-007"].status is Status.PASS
    assert not any(r.failures for r in result.requirements.values())


def test_the_covering_prefix_holds_every_kind_and_both_accounts() -> None:
    steps = covering(7, second=True)
    assert {s.kind for s in steps} == set(Kind)
    assert {s.account for s in steps} == {MAIN, SECOND}
    assert {s.pick % 5 for s in steps if s.kind is Kind.OTHER_METHOD} == set(range(5))


@pytest.mark.parametrize(
    ("server", "rid", "longest"),
    [
        ("head-rotates", "RK-ROT-009", 3),
        ("header-rotation-revokes-other-accounts", "RK-ROT-008", 4),
    ],
)
def test_a_failing_sequence_shrinks_to_the_shortest_that_fails(
    server: str, rid: str, longest: int
) -> None:
    make = next(b.make for b in BROKEN if b.name == server)
    result, sent = _run(make)
    failure = result.requirements[rid].failures[0]
    # far fewer steps than the machine sent before it found and shrank the fault
    assert 2 <= len(failure.sequence) <= longest < len(sent)
    assert failure.sequence[-1].expect_key is True  # the key that died had to work
    if rid == "RK-ROT-009":
        assert any(" -I " in s.command or "-X HEAD" in s.command for s in failure.sequence)
    assert {r for r, v in result.requirements.items() if v.failures} == {rid}


def test_a_case_flipped_password_that_is_accepted_fails_rk_auth_005() -> None:
    from tests.servers.breaker import Breaker, Req, Resp

    def make(store: MemoryStore, accounts: Accounts) -> object:
        flipped = accounts.plain_password.swapcase()

        def fault(req: Req) -> Resp | None:
            req.replace(flipped, accounts.plain_password)
            return None

        return Breaker(build_app(store), on_request=fault)

    result, _ = _run(make, requirements=LIFECYCLE | {"RK-AUTH-005"})
    assert result.requirements["RK-AUTH-005"].failures
    failure = result.requirements["RK-AUTH-005"].failures[0]
    assert "tr a-zA-Z A-Za-z" in "\n".join(s.command for s in failure.sequence)
