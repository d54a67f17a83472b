"""The format parameter and error rendering (RK-FMT-*, RK-ERR-005)."""

from __future__ import annotations

from conformance.judging.registry import check
from conformance.judging.rules import FOUNDATION
from conformance.protocol.records import Format
from conformance.protocol.strategies import format_spellings
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import ServerContext
from conformance.server.verdicts import draw, probe, refused
from conformance.spec.catalogue import Party

S = Party.SERVER


@check("RK-FMT-001", party=S, requires=FOUNDATION)
def format_selects_rendering(ctx: ServerContext) -> None:
    """RK-FMT-001: format=plain, json and xml each answer in that format."""
    for fmt in Format:
        spec = RequestSpec("POST", Encoding.FORM, ctx.credentials(fmt.value))
        probe(ctx, "RK-FMT-001", spec, fmt, f"format={fmt.value} must answer in {fmt.value}")


@check("RK-FMT-002", party=S, requires=FOUNDATION)
def plain_is_the_default(ctx: ServerContext) -> None:
    """RK-FMT-002: without format, or with an empty one, the answer is plain."""
    for params, label in ((ctx.credentials(None), "no format"), (ctx.credentials(""), "format=")):
        spec = RequestSpec("POST", Encoding.FORM, params)
        probe(ctx, "RK-FMT-002", spec, Format.PLAIN, f"{label} must answer in plain", "RK-FMT-002")


@check("RK-FMT-003", party=S, requires=(*FOUNDATION, "RK-HTTP-003", "RK-FMT-001"))
def format_case_is_ignored(ctx: ServerContext) -> None:
    """RK-FMT-003: the format value is matched in any letter case."""
    spellings = draw(format_spellings(), max(3, ctx.max_examples // 5), ctx.seed)
    for spelling in dict.fromkeys(["JSON", "XML", *spellings]):
        fmt = Format.parse(spelling)
        assert fmt is not None
        spec = RequestSpec("GET", Encoding.QUERY, ctx.credentials(spelling))
        what = f"format={spelling} must answer in {fmt.value}"
        probe(ctx, "RK-FMT-003", spec, fmt, what, "RK-FMT-003")


@check("RK-FMT-004", party=S, requires=FOUNDATION, destructive=False)
def unknown_format_is_refused(ctx: ServerContext) -> None:
    """RK-FMT-004: an unknown format value gets the error envelope in plain, no key."""
    for value in ("html", "jsonp", "x"):
        spec = RequestSpec("POST", Encoding.FORM, ctx.credentials(value))
        ex = ctx.send(spec, Format.PLAIN, "RK-FMT-004")
        refused(ctx, "RK-FMT-004", ex, f"format={value} must be refused")


@check("RK-ERR-005", party=S, requires=FOUNDATION, destructive=False)
def error_uses_requested_format(ctx: ServerContext) -> None:
    """RK-ERR-005: an error is rendered in the format the request asked for."""
    for fmt in Format:
        params = (("userId", ctx.account.user_id), ("password", ""), ("format", fmt.value))
        ex = ctx.send(RequestSpec("POST", Encoding.FORM, params), fmt)
        refused(ctx, "RK-ERR-005", ex, f"an error asked for in {fmt.value} must be in {fmt.value}")
