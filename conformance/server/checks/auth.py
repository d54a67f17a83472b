"""The two ways to authenticate, and what must be refused (RK-AUTH-*, RK-PARAM-002)."""

from __future__ import annotations

import re

from conformance.judging.registry import check
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.checks.http import FOUNDATION
from conformance.server.context import ServerContext
from conformance.server.verdicts import probe, refused, succeeded
from conformance.spec.catalogue import Party

S = Party.SERVER
# Checks that send the current key: it must work (RK-AUTH-002) and must not be
# rotated behind the suite's back by a refused request (RK-ROT-006).
KEYED = (*FOUNDATION, "RK-AUTH-002", "RK-ROT-006")


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


@check("RK-PARAM-002", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def encoded_password_authenticates(ctx: ServerContext) -> None:
    """RK-PARAM-002: a password with special characters, URL-encoded, authenticates."""
    account = ctx.tricky if ctx.tricky is not None else ctx.account
    if re.fullmatch(r"[A-Za-z0-9._~-]*", account.password):
        ctx.result.record_skip(
            "RK-PARAM-002", "no account with a password that needs encoding was given"
        )
        return
    params = (("userId", account.user_id), ("password", account.password), ("format", "json"))
    for method, encoding in (
        ("GET", Encoding.QUERY),
        ("POST", Encoding.FORM),
        ("POST", Encoding.MULTIPART),
        ("POST", Encoding.XML),
    ):
        carrier = _CARRIERS.get(encoding)
        if carrier is not None and not _usable(ctx, carrier):
            continue  # that encoding fails for any password: its own id says so
        spec = RequestSpec(method, encoding, params)
        ex = ctx.send(spec, Format.JSON, account=account, error_rule=None)
        succeeded(ctx, "RK-PARAM-002", ex, f"the encoded password must authenticate ({encoding})")


# The requirement of each encoding beyond the form and the query (both foundations).
_CARRIERS = {Encoding.MULTIPART: "RK-HTTP-005", Encoding.XML: "RK-HTTP-004"}


def _usable(ctx: ServerContext, rid: str) -> bool:
    """Whether an encoding's own requirement has not failed nor been blocked."""
    result = ctx.result.requirements.get(rid)
    if result is None:
        return True  # not judged in this run (--req): assume it works
    return not result.failures and (result.checks_run > 0 or not result.skip_reasons)
