"""RK-SAFE-002 asks a follow-up question before it blames a server: a password
the suite drew may be one of a correct server's own words (``a`` in "a
password is required"). Real servers on loopback; the same request is sent
again with a stand-in, and only an echo that follows the password counts."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from conformance import Redactor
from conformance.judging.results import RunResult, Status
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import Account, ServerContext
from conformance.server.echo_followup import stand_in, with_stand_in
from conformance.transport.loopback import serving
from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import Breaker, Req, Resp

USER = "regenkey-sandbox"
REASON = "a password is required; the userId is unknown"


def _wordy_reasons(req: Req, resp: Resp) -> None:
    """A correct server: every error says the same words, whatever was sent."""
    record = resp.record
    if record is not None and not record.is_success:
        resp.render(replace(record, reason=REASON))


def _echoing(req: Req, resp: Resp) -> None:
    """A broken server: the submitted password comes back as a word of the reason."""
    record = resp.record
    if record is not None and not record.is_success:
        resp.render(replace(record, reason=f"{REASON} (not {req.form().get('password', '')})"))


def _judge(fault: object, password: str) -> RunResult:
    store = MemoryStore()
    store.add_account(USER, f"Sandbox-{secrets.token_hex(6)}")
    result = RunResult("server", "", 0, False)
    with serving(Breaker(build_app(store), on_response=fault)) as url:  # type: ignore[arg-type]
        ctx = ServerContext(
            url, Account(USER, "unused-" + secrets.token_hex(4)), result, Redactor(), 7
        )
        try:
            spec = RequestSpec(
                "POST",
                Encoding.FORM,
                (("userId", "x"), ("password", password), ("format", "plain")),
            )
            ctx.send(spec, Format.PLAIN)
        finally:
            ctx.close()
    result.finish()
    return result


@pytest.mark.parametrize("drawn", ["a", "A", "is", "userId", "required", "password is"])
def test_a_drawn_password_that_is_the_servers_own_word_is_no_echo(drawn: str) -> None:
    result = _judge(_wordy_reasons, drawn)
    safe = result.requirements["RK-SAFE-002"]
    assert safe.status is Status.PASS, [f.actual for f in safe.failures]
    assert result.cases == 2  # the request, and the follow-up question


@pytest.mark.parametrize("drawn", ["b", "xyzzy", "Tr1cky pw+&="])
def test_an_echo_of_a_drawn_password_still_breaks_rk_safe_002(drawn: str) -> None:
    # (A drawn word the server also writes of its own, "is", cannot be told from an
    # echo by any request: it is not blamed, as the test above shows.)
    result = _judge(_echoing, drawn)
    assert result.requirements["RK-SAFE-002"].status is Status.FAIL


def test_the_stand_in_shares_no_character_and_replays() -> None:
    for password in ["a", "qxzjkv", "Tr1cky pw+&=", "ü" * 3]:
        stand = stand_in(password, 1)
        assert len(stand) == len(password) and not set(stand) & set(password)
        assert stand == stand_in(password, 1)


def test_only_a_submitted_password_parameter_is_replaced() -> None:
    spec = RequestSpec("POST", Encoding.FORM, (("userId", "a"), ("password", "a")))
    again = with_stand_in(spec, "a", "q")
    assert again is not None and again.params == (("userId", "a"), ("password", "q"))
    assert (
        with_stand_in(RequestSpec("POST", Encoding.RAW, raw_body=b"password=a"), "a", "q") is None
    )
