"""Live mode has one representation from the configuration to the checks (issue 14):
the server context takes the run's ``Live | None`` and derives its budgets from it."""

from __future__ import annotations

from conformance.judging.redaction import Redactor
from conformance.judging.results import RunResult
from conformance.server.context import Account, Live, ServerContext
from conformance.server.runner import Live as RunnerLive


def _context(**kwargs: object) -> ServerContext:
    account = Account("user", "pa55-word-xyz")
    result = RunResult("server", "http://127.0.0.1:9", 1, False)
    return ServerContext("http://127.0.0.1:9", account, result, Redactor(), 1, **kwargs)  # type: ignore[arg-type]


def test_the_runner_and_the_context_share_one_live_type() -> None:
    assert RunnerLive is Live


def test_a_live_context_takes_its_budgets_from_live() -> None:
    live = Live(max_rotations=3, max_bad_logins=2)
    ctx = _context(live=live)
    try:
        assert ctx.live is live
        assert (ctx.max_rotations, ctx.max_bad_logins) == (3, 2)
    finally:
        ctx.close()


def test_a_sandbox_context_is_unbounded_unless_given_a_wrong_password_budget() -> None:
    ctx, bounded = _context(), _context(sandbox_bad_logins=4)
    try:
        assert ctx.live is None and (ctx.max_rotations, ctx.max_bad_logins) == (None, None)
        assert bounded.live is None and (bounded.max_rotations, bounded.max_bad_logins) == (None, 4)
    finally:
        ctx.close()
        bounded.close()
