"""The two ways to authenticate, and what must be refused (RK-AUTH-*)."""

from __future__ import annotations

from conformance.errors import Blocked
from conformance.judging.registry import check
from conformance.judging.rules import FOUNDATION
from conformance.judging.rules import KEYED as KEYED  # re-exported: defined in judging/rules.py
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import Exchange, ServerContext
from conformance.server.verdicts import probe, refused, succeeded
from conformance.spec.catalogue import Party

S = Party.SERVER


@check("RK-AUTH-002", "RK-ROT-003", party=S, requires=FOUNDATION)
def api_key_header_authenticates(ctx: ServerContext) -> None:
    """RK-AUTH-002: the key just issued, alone in the apiKey header, regenerates the key."""
    ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials("plain")), Format.PLAIN)
    spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), ctx.key_header())
    ex = ctx.send(spec, Format.JSON)
    # One request cannot tell "header auth is broken" from "the issued key is
    # not the valid one": both requirements are judged by it.
    if succeeded(ctx, "RK-AUTH-002", ex, "the issued key in the apiKey header must authenticate"):
        ctx.result.record_pass("RK-ROT-003")
    elif ex.verdict is not None and ex.verdict.ok:
        ctx.fail(
            "RK-ROT-003",
            ex,
            "the key the server issued must work",
            "status=success",
            "status=error",
        )


@check("RK-AUTH-003", party=S, requires=(*KEYED, "RK-HTTP-003"))
def header_name_case_is_ignored(ctx: ServerContext) -> None:
    """RK-AUTH-003: apikey and APIKEY work as well as apiKey."""
    for name in ("apikey", "APIKEY"):
        spec = RequestSpec("GET", Encoding.QUERY, (("format", "json"),), ctx.key_header(name=name))
        succeeded(ctx, "RK-AUTH-003", ctx.send(spec, Format.JSON), f"header {name} must work")


@check("RK-AUTH-004", party=S, requires=FOUNDATION, destructive=False)
def unauthenticated_request_is_refused(ctx: ServerContext) -> None:
    """RK-AUTH-004: no credentials and no header get the error envelope, no key."""
    for fmt in Format:
        ex = ctx.send(RequestSpec("POST", Encoding.FORM, (("format", fmt.value),)), fmt)
        refused(ctx, "RK-AUTH-004", ex, "a request without credentials must be refused")


@check("RK-AUTH-005", party=S, requires=FOUNDATION, destructive=False)
def wrong_credentials_are_refused(ctx: ServerContext) -> None:
    """RK-AUTH-005: a wrong password, an unknown user, or half a pair issue no key."""
    user, password = ctx.account.user_id, ctx.account.password
    cases = {
        "wrong password": (("userId", user), ("password", password + "x")),
        "unknown user": (("userId", user + "-nobody"), ("password", password)),
        "userId alone": (("userId", user),),
        "password alone": (("password", password),),
    }
    for label, params in cases.items():
        ex = ctx.send(
            RequestSpec("POST", Encoding.FORM, (*params, ("format", "json"))), Format.JSON
        )
        refused(ctx, "RK-AUTH-005", ex, f"{label} must be refused")


@check("RK-AUTH-006", party=S, requires=KEYED, destructive=False)
def bad_api_key_is_refused(ctx: ServerContext) -> None:
    """RK-AUTH-006: an unknown or malformed key in the header issues no key."""
    for label, key in (
        ("unknown key", f"{ctx.rng.getrandbits(128):032x}"),
        ("malformed key", "not-a-key"),
        ("upper-case twin", None),
    ):
        if key is None:
            current = ctx.account.api_key
            if current is None or current.upper() == current:
                continue
            key = current.upper()
        spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), (("apiKey", key),))
        refused(ctx, "RK-AUTH-006", ctx.send(spec, Format.JSON), f"an {label} must be refused")


@check("RK-AUTH-007", party=S, requires=FOUNDATION)
def empty_header_beside_credentials_is_ignored(ctx: ServerContext) -> None:
    """RK-AUTH-007: an empty apiKey header beside valid credentials counts as absent."""
    spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"), (("apiKey", ""),))
    what = "credentials must work beside an empty apiKey header"
    probe(ctx, "RK-AUTH-007", spec, Format.JSON, what)


@check("RK-AUTH-008", party=S, requires=(*KEYED, "RK-HTTP-005", "RK-AUTH-003"))
def empty_fields_beside_header_are_ignored(ctx: ServerContext) -> None:
    """RK-AUTH-008: empty userId/password fields beside a valid header count as absent."""
    params = (("userId", ""), ("password", ""), ("format", "json"))
    spec = RequestSpec("POST", Encoding.MULTIPART, params, ctx.key_header(name="apikey"))
    ex = ctx.send(spec, Format.JSON)
    succeeded(ctx, "RK-AUTH-008", ex, "the header must work beside empty credential fields")


@check("RK-AUTH-015", party=S, requires=(*KEYED, "RK-AUTH-004"), destructive=False)
def key_only_in_header(ctx: ServerContext) -> None:
    """RK-AUTH-015: the key is accepted in the apiKey header only, not as a parameter.

    The current key goes as a parameter named apiKey (in the query, then in a
    form body), with no header and no credentials. A server that regenerates
    for it is NON-STRICT, once an unknown key sent the same way is refused (a
    server that regenerates for anyone breaks RK-AUTH-004, not this); the key
    it issued becomes the suite's current key (ServerContext.send keeps the
    account current), so later checks go on.
    """
    for method, encoding in (("GET", Encoding.QUERY), ("POST", Encoding.FORM)):
        if ctx.max_rotations is not None and ctx.rotations >= ctx.max_rotations:
            raise Blocked(f"rotation budget spent (--max-rotations {ctx.max_rotations})")
        ((_name, key),) = ctx.key_header()
        ex = _key_as_parameter(ctx, method, encoding, key)
        what = f"the key as an apiKey parameter ({encoding}) should not authenticate"
        if ex.new_key is None and ex.observed_key is None:
            if ex.unjudged:
                ctx.result.record_pass("RK-AUTH-015")  # refused, in whatever shape
            else:
                refused(ctx, "RK-AUTH-015", ex, what)
            continue
        control = _key_as_parameter(ctx, method, encoding, f"{ctx.rng.getrandbits(128):032x}")
        if control.new_key is not None or control.observed_key is not None:
            raise Blocked("an unknown key as a parameter regenerates too (RK-AUTH-004)")
        ctx.fail("RK-AUTH-015", ex, what, "the error envelope and no key", "a new key")


def _key_as_parameter(ctx: ServerContext, method: str, encoding: Encoding, key: str) -> Exchange:
    """``key`` as a parameter named apiKey, no header, no credentials; the answer
    judged under no format id (a probe of a SHOULD reports only that SHOULD)."""
    spec = RequestSpec(method, encoding, (("apiKey", key), ("format", "json")))
    return ctx.send(spec, Format.JSON, None, error_rule=None)
