"""The request parameters: their names and their values (RK-PARAM-*)."""

from __future__ import annotations

import re

from conformance.judging.registry import check
from conformance.judging.rules import FOUNDATION
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import ServerContext
from conformance.server.verdicts import probe, succeeded
from conformance.spec.catalogue import Party

S = Party.SERVER


@check("RK-PARAM-001", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def parameter_names_are_exact(ctx: ServerContext) -> None:
    """RK-PARAM-001: userId, password and format, spelt exactly, work in every encoding."""
    # Query and form only: the other encodings have requirements of their own.
    for method, encoding in (("GET", Encoding.QUERY), ("POST", Encoding.FORM)):
        spec = RequestSpec(method, encoding, ctx.credentials("plain"))
        what = f"userId/password/format in a {encoding} request"
        probe(ctx, "RK-PARAM-001", spec, Format.PLAIN, what)


@check("RK-PARAM-002", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def encoded_password_authenticates(ctx: ServerContext) -> None:
    """RK-PARAM-002: a password with special characters, URL-encoded, authenticates.

    In ``<Account>`` the password's ``&``, ``<`` and ``>`` travel as entities.
    When it is refused there, one follow-up tells the causes apart: the
    suite's own credentials with every ASCII character written as a character
    reference. Refused too: the server misreads references, which is
    RK-HTTP-004 (the body is the same character data) and reported so;
    accepted: the password's special characters are at fault (RK-PARAM-002).
    """
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
        # The query writes a space as %20, the form as +: each text then holds
        # one kind of escape or both (the password's other characters are %XX).
        style = frozenset({"percent-space"}) if encoding is Encoding.QUERY else frozenset()
        spec = RequestSpec(method, encoding, params, style=style)
        ex = ctx.send(spec, Format.JSON, account=account, error_rule=None)
        refused = ex.new_key is None and ex.observed_key is None
        if encoding is Encoding.XML and refused and not _references_read(ctx):
            continue  # the escapes themselves are misread: RK-HTTP-004 (failed there)
        succeeded(ctx, "RK-PARAM-002", ex, f"the encoded password must authenticate ({encoding})")


@check("RK-PARAM-004", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def unknown_parameters_are_ignored(ctx: ServerContext) -> None:
    """RK-PARAM-004: unknown parameters beside valid credentials are ignored; the key rotates.

    Each request regenerates the key (``ctx.send`` keeps ``ctx.account``
    current); a refusal reports only this SHOULD (``probe``). Multipart only
    when RK-HTTP-005 holds; XML not at all (account.xsd allows no other child).
    The form and the query also carry one long unknown value (2,500
    characters), so that the request is several KiB and reaches a server in
    more than one of its reads (a client's own note or tracking blob).
    """
    for method, encoding in (
        ("POST", Encoding.FORM),
        ("GET", Encoding.QUERY),
        ("POST", Encoding.MULTIPART),
    ):
        if encoding is Encoding.MULTIPART and not _usable(ctx, "RK-HTTP-005"):
            continue
        user, password = ctx.credentials(None)
        params: tuple[tuple[str, str], ...] = (("senderId", "TEST"), user, ("extra", ""), password)
        params += (("format", "json"), ("submit", "Regenerate"))
        if encoding is not Encoding.MULTIPART:
            params += (("note", LONG_NOTE),)
        spec = RequestSpec(method, encoding, params)
        what = f"unknown parameters in a {encoding} request should be ignored"
        probe(ctx, "RK-PARAM-004", spec, Format.JSON, what)


def _references_read(ctx: ServerContext) -> bool:
    """Whether ``<Account>`` with the suite's credentials written as character
    references regenerates the key (a refusal fails RK-HTTP-004, see ``probe``)."""
    spec = RequestSpec("POST", Encoding.XML, ctx.credentials("json"), style=_REFERENCES)
    what = "<Account> with character references (the same character data) must be accepted"
    return probe(ctx, "RK-HTTP-004", spec, Format.JSON, what)


_REFERENCES = frozenset({"references"})
LONG_NOTE = "n0te-" * 500  # an unknown parameter of 2,500 characters (RK-PARAM-004)

# The requirement of each encoding beyond the form and the query (both foundations).
_CARRIERS = {Encoding.MULTIPART: "RK-HTTP-005", Encoding.XML: "RK-HTTP-004"}


def _usable(ctx: ServerContext, rid: str) -> bool:
    """Whether an encoding's own requirement has not failed nor been blocked."""
    result = ctx.result.requirements.get(rid)
    if result is None:
        return True  # not judged in this run (--req): assume it works
    return not result.failures and (result.checks_run > 0 or not result.skip_reasons)
