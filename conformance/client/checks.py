"""The client checks: what a client sent, and what it understood.

Every check is called once with a :class:`ClientContext` holding every case
of the run. The request checks (what was sent) are in
:mod:`conformance.client.checks_requests`; the answer checks here compare
what the command printed with what it was served. The variant checks
(RK-CLI-003/004) are in :mod:`conformance.client.variant_checks`. Importing
this module registers the first two kinds.
"""

from __future__ import annotations

from conformance.client import checks_requests  # noqa: F401 (registers the request checks)
from conformance.client.checks_context import (
    ClientContext,
    expected_output,
    judged_cases,
    reproduction,
    request_message,
    served_record,
)
from conformance.client.scenarios import Case
from conformance.judging.registry import check
from conformance.spec.catalogue import Party

__all__ = [
    "REQUEST_CHECKS",
    "ClientContext",
    "expected_output",
    "judged_cases",
    "reproduction",
    "request_message",
    "served_record",
]

C = Party.CLIENT


@check("RK-CLI-001", party=C)
def client_reports_what_was_served(ctx: ClientContext) -> None:
    """RK-CLI-001: the client reports exactly the record served in the page's rendering."""
    for case in judged_cases(ctx):
        assert case.scenario is not None
        verdict, printed = ctx.assessed(case)
        if case.scenario.baseline and verdict != "lie":
            ctx.expect(
                "RK-CLI-001",
                verdict == "ok",
                case,
                None,
                "the client did not report what was served",
                expected_output(ctx, case),
                printed,
            )


@check("RK-CLI-002", party=C)
def client_reports_errors_as_errors(ctx: ClientContext) -> None:
    """RK-CLI-002: an error is never reported as a success, nor with a key
    that was not served last; a second rotation uses the key the first returned."""
    for case in judged_cases(ctx):
        verdict, printed = ctx.assessed(case)
        if verdict == "lie":
            ctx.fail(
                "RK-CLI-002",
                case,
                None,
                "the client reported what was not served",
                served_record(case),
                printed,
            )
        elif verdict == "ok" and _rotates_with_the_key_it_got(ctx, case):
            ctx.passed("RK-CLI-002", case)


def _rotates_with_the_key_it_got(ctx: ClientContext, case: Case) -> bool:
    """Each request after a success carries the key that success returned."""
    scenario = case.scenario
    if scenario is None or scenario.chain is None:
        return True
    chain = scenario.chain
    for before, after in zip(case.requests, case.requests[1:], strict=False):
        served = chain.served_to(before)
        issued = served[0].api_key if served is not None else None
        carried = [v.strip() for v in after.header_values("apiKey")]
        if issued is not None and issued not in carried:
            stale = chain.first_key in carried
            ctx.fail(
                "RK-CLI-002",
                case,
                after,
                "asked to rotate twice, the client did not use the key the first rotation "
                "returned: that key is the only one that works",
                "apiKey: <the key the first answer carried>",
                "the key it was given, revoked by the first rotation"
                if stale
                else "another key, or none",
            )
            return False
    return True


REQUEST_CHECKS = (
    "client_request_is_well_formed",
    "client_values_round_trip",
    "client_key_is_in_header",
    "client_asks_for_its_format",
    "client_uses_one_auth_form",
    "client_keeps_password_out_of_url",
    "client_sends_no_empty_header",
    "client_prefers_form_body",
)
