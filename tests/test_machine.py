"""The lifecycle machine (issue 15): seeded, planned inside its budgets, and its
failures shrink to the shortest sequence that still fails. Integration tests
run it against the reference server and broken ones over loopback."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from conformance import Redactor
from conformance.judging.results import RunResult, Status
from conformance.protocol.wire import RequestSpec
from conformance.server.context import Exchange
from conformance.server.machine_plan import SEQUENCE_LENGTH, covering, plan
from conformance.server.machine_steps import MAIN, SECOND, Kind, concrete
from conformance.server.model import Model
from conformance.server.runner import Account, Live, ServerSuiteConfig, Target, run_server_suite
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.broken import BROKEN, PLAIN_USER, TRICKY_USER, Accounts
from tests.servers.broken_model import BROKEN_MODEL

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


# --- the covering prefix reaches what a default run used to miss (issue 15) ---------------


def _concrete_covering(seed: int) -> list[RequestSpec]:
    """The covering prefix's requests for ``seed``, made against a fresh model."""
    model = Model()
    model.add(MAIN, PLAIN_USER, "Sandbox-0a1b2c3d4e5f", ["0" * 32])
    out = []
    for n, step in enumerate(covering(seed, second=False)):
        made = concrete(step, model, f"{n:032x}")
        if made is not None:
            out.append(made.spec)
    return out


_PAGE_ORDER = ["userId", "password", "format"]


@pytest.mark.parametrize("seed", [0, 1, 5, 77, 4242, 20261202])
def test_the_covering_prefix_sends_what_the_default_run_used_to_miss(seed: int) -> None:
    specs = _concrete_covering(seed)
    # a NUL-padded wrong password, in a carrier a replay can write (form or query)
    nul = [s for s in specs if (s.param("password") or "").endswith("\x00")]
    assert nul and all(s.encoding in ("form", "query") for s in nul)
    # multipart credentials in another order than the page's, in each multipart form
    for style in (frozenset(), frozenset({"bare-names"}), frozenset({"filename"})):
        names = [
            [k for k, _ in s.params]
            for s in specs
            if s.encoding == "multipart" and s.style == style and s.param("password")
        ]
        assert any(n != [k for k in _PAGE_ORDER if k in n] for n in names), (style, names)
    # json and xml asked in the query of a POST whose credentials travel in the body
    beside = {
        s.query[0][1]
        for s in specs
        if s.method == "POST" and s.encoding != "query" and s.param("password") and s.query
    }
    assert {"json", "xml"} <= beside
    # a schema-valid <Account> with xsi attributes on its root (RK-HTTP-004), and
    # an <Account> whose format child is empty (RK-FMT-002)
    xml = [s for s in specs if s.encoding == "xml" and s.param("password")]
    assert any("xsi" in s.style for s in xml)
    assert any(s.param("format") == "" for s in xml)


def test_a_nul_padded_password_replays_as_percent_00(tmp_path: Path) -> None:
    """The NUL-padded near miss is caught (RK-AUTH-005) and its replay sends the
    same bytes (no shell word holds a NUL: the script writes %00)."""
    (server,) = [s for s in BROKEN_MODEL if s.name == "password-nul-padded-accepted"]
    result, _ = _run(server.make, requirements=LIFECYCLE | {"RK-AUTH-005"})
    failure = result.requirements["RK-AUTH-005"].failures[0]
    command = failure.sequence[-1].command
    assert "'%00'" in command, command
    word = command.split("--data-binary ", 1)[1].split(" -H ", 1)[0]
    if "--request-target" in command:
        word = command.split("--request-target ", 1)[1].split(" ", 1)[0]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REGENKEY_PASSWORD": "a b&c"}
    sent = subprocess.run(
        ["bash", "-c", f"printf %s {word}"], env=env, capture_output=True, timeout=10, check=True
    ).stdout
    assert b"password=a+b%26c%00" in sent, sent


def test_a_format_in_the_query_of_a_post_answered_in_plain_is_rk_http_009_only_then() -> None:
    from conformance.protocol.records import Format, Record, render
    from conformance.server.machine_answers import query_format_ignored
    from conformance.server.space import AuthForm, Carrier, Shape

    success = Record.success("0123456789abcdef" * 2)
    beside = Shape("POST", Carrier.MULTIPART, AuthForm.CREDENTIALS, "apiKey", "xml", True)
    plain, xml = render(success, Format.PLAIN).encode(), render(success, Format.XML).encode()
    assert "beside a multipart body" in (query_format_ignored(plain, beside) or "")
    assert query_format_ignored(xml, beside) is None  # read as asked
    error = render(Record.error("1001", "bad"), Format.PLAIN).encode()
    assert query_format_ignored(error, beside) is None  # a refusal: other causes
    # another letter case could be RK-FMT-003's; plain asked says nothing
    for spelling in ("XML", "plain"):
        other = Shape("POST", Carrier.FORM, AuthForm.CREDENTIALS, "apiKey", spelling, True)
        assert query_format_ignored(plain, other) is None


def test_malformed_requests_are_sent_and_their_error_envelopes_judged() -> None:
    """Every malformed request of the input space is in the run (issue 15), and
    the refusal's envelope is judged: an unreadable body refused with a
    statusCode that is not three digits fails RK-ERR-002."""
    from dataclasses import replace

    from tests.servers.breaker import Breaker, Req, Resp

    def make(store: MemoryStore, accounts: Accounts) -> object:
        def fault(req: Req, resp: Resp) -> None:
            if resp.record is not None and not resp.record.is_success and b"\xff" in req.body:
                resp.render(replace(resp.record, status_code="XX400XX"))

        return Breaker(build_app(store), on_response=fault)

    result, sent = _run(make, requirements=LIFECYCLE | {"RK-ERR-002"})
    assert sum(1 for s in sent if b"\xff" in s.raw_body) >= 3
    failures = result.requirements["RK-ERR-002"].failures
    assert failures and all("XX400XX" in f.actual or f.response for f in failures)
    reference, _ = _run(requirements=LIFECYCLE | {"RK-ERR-002"})
    assert not reference.requirements["RK-ERR-002"].failures
