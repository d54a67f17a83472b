"""The variant checks: a client that reads the page's own rendering (its
baseline) must read every variant of it the spec allows (RK-CLI-003), and
should read an error envelope under a 4xx status too (RK-CLI-004).

A variant is judged only when its baseline was read right: a client that
misreads both has one fault, the baseline's (RK-CLI-001); a lie is
RK-CLI-002's.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.client.checks import ClientContext, expected_output, judged_cases
from conformance.client.scenarios import Case, baseline_for
from conformance.judging.registry import check
from conformance.spec.catalogue import Party

C = Party.CLIENT


def _variants(ctx: ClientContext, under_4xx: bool) -> Iterator[tuple[Case, bool, str]]:
    """(case, read right, what it printed) for each variant served under 200
    (or under 4xx) whose baseline was judged, leaving out lies and faults the
    baseline shares."""
    scenarios = [c.scenario for c in ctx.cases if c.scenario is not None]
    by_scenario = {id(c.scenario): c for c in judged_cases(ctx)}
    for case in judged_cases(ctx):
        scenario = case.scenario
        assert scenario is not None
        if scenario.baseline or (scenario.http_status != 200) is not under_4xx:
            continue
        verdict, printed = ctx.assessed(case)
        base = baseline_for(scenario, scenarios)
        base_case = by_scenario.get(id(base)) if base is not None else None
        if verdict == "lie" or base_case is None:
            continue
        if verdict == "wrong" and ctx.assessed(base_case)[0] != "ok":
            continue  # the same fault as the baseline's: RK-CLI-001 speaks for it
        yield case, verdict == "ok", printed


@check("RK-CLI-003", party=C)
def client_accepts_allowed_variants(ctx: ClientContext) -> None:
    """RK-CLI-003: every rendering the spec allows is understood as the page's own."""
    for case, ok, printed in _variants(ctx, under_4xx=False):
        assert case.scenario is not None
        message = (
            f"the client did not understand the variant {case.scenario.variant} "
            f"({case.scenario.content_type}) it understood as the page renders it"
        )
        ctx.expect("RK-CLI-003", ok, case, None, message, expected_output(ctx, case), printed)


@check("RK-CLI-004", party=C)
def client_reads_error_under_4xx(ctx: ClientContext) -> None:
    """RK-CLI-004: an error envelope under a 4xx status is read as under HTTP 200."""
    for case, ok, printed in _variants(ctx, under_4xx=True):
        assert case.scenario is not None
        message = (
            f"the client did not read the error envelope served under HTTP "
            f"{case.scenario.http_status}, which it read under HTTP 200"
        )
        ctx.expect("RK-CLI-004", ok, case, None, message, expected_output(ctx, case), printed)
