"""Every response, and hostile input (RK-SAFE-*, body and media-type rules).

The per-response rules (conformance/judging/rules.py) are applied by
ServerContext.judge to every response any check provokes; the checks here
make sure each rule sees successes and errors in every format, and throw
generated junk at the target.
"""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from conformance.errors import Blocked
from conformance.judging.registry import check
from conformance.judging.rules import BODY_RULES, FOUNDATION
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import ServerContext
from conformance.server.verdicts import draws
from conformance.spec.catalogue import Party

S = Party.SERVER


@check(*BODY_RULES, party=S, requires=FOUNDATION)
def body_conforms_to_artefact(ctx: ServerContext) -> None:
    """RK-JSON-001: every body, success or error, is valid against its format's artefact."""
    for fmt in Format:
        ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials(fmt.value)), fmt)
        params = (("userId", ctx.account.user_id), ("password", "wrong"), ("format", fmt.value))
        ctx.send(RequestSpec("POST", Encoding.FORM, params), fmt)


@check("RK-FMT-005", "RK-HTTP-010", "RK-KEY-002", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def success_is_well_labelled(ctx: ServerContext) -> None:
    """RK-FMT-005: successes carry the format's media type, HTTP 200 and a random UUID key."""
    for fmt in Format:
        ctx.send(RequestSpec("GET", Encoding.QUERY, ctx.credentials(fmt.value)), fmt)


@check("RK-SAFE-003", party=S, requires=FOUNDATION)
def errors_hold_no_key(ctx: ServerContext) -> None:
    """RK-SAFE-003: no error response, body or headers, holds a key the run has seen issued.

    One regeneration makes sure a key is known; then errors in every format (no
    credentials, an unknown key, and once a wrong password). Every response of
    every check is judged the same way (ServerContext.judge): these make sure
    the rule sees errors of each kind, whichever checks are selected.
    """
    ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials("json")), Format.JSON)
    if not ctx.keys:
        raise Blocked("no key was issued: there is no key to look for")
    unknown = (("apiKey", f"{ctx.rng.getrandbits(128):032x}"),)
    for fmt in Format:
        ctx.send(RequestSpec("POST", Encoding.FORM, (("format", fmt.value),)), fmt)
        ctx.send(RequestSpec("POST", Encoding.FORM, (("format", fmt.value),), unknown), fmt)
    wrong = (("userId", ctx.account.user_id), ("password", ctx.account.password + "x"))
    ctx.send(RequestSpec("POST", Encoding.FORM, (*wrong, ("format", "plain"))), Format.PLAIN)


def _junk_requests() -> st.SearchStrategy[RequestSpec]:
    text = st.text(max_size=40)
    names = st.sampled_from(["userId", "password", "format", "apiKey", "UserId", "x", ""])
    params = st.lists(st.tuples(names, text), max_size=5).map(tuple)
    content_types = st.sampled_from(
        [
            None,
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=zz",
            "application/xml",
            "text/xml",
            "application/json",
            "text/plain",
            "application/octet-stream",
            "application/xml; charset=latin1",
        ]
    )
    raw = st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [
                b"<Account><userId>",
                b"<?xml version='1.0'?><Account/>",
                b"userId=%ZZ&password=%",
                b"\xff\xfe\x00",
                b"--zz\r\nContent-Disposition: form-data\r\n\r\n",
                b"{}",
                b"<!DOCTYPE a [<!ENTITY b SYSTEM 'file:///etc/passwd'>]><Account>&b;</Account>",
            ]
        ),
    )
    headers = st.lists(
        st.tuples(
            st.sampled_from(["apiKey", "apikey"]),
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
        ),
        max_size=1,
    ).map(tuple)
    structured = st.builds(
        RequestSpec,
        st.sampled_from(["GET", "POST"]),
        st.sampled_from([Encoding.QUERY, Encoding.FORM, Encoding.MULTIPART, Encoding.XML]),
        params,
        headers,
    )
    unstructured = st.builds(
        RequestSpec,
        st.just("POST"),
        st.just(Encoding.RAW),
        st.just(()),
        headers,
        raw,
        content_types,
    )
    return st.one_of(structured, unstructured)


def _raw(body: bytes, content_type: str | None) -> RequestSpec:
    return RequestSpec("POST", Encoding.RAW, raw_body=body, content_type=content_type)


# Always sent, whatever the seed: the inputs most likely to break a parser.
HOSTILE = (
    _raw(b"<Account><userId>x</userId>", "application/xml"),
    _raw(
        b'<!DOCTYPE a [<!ENTITY b "bbbbbbbbbb"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<Account><userId>&c;</userId></Account>",
        "application/xml",
    ),
    _raw(
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><Account>&e;</Account>', "text/xml"
    ),
    _raw(b"userId=%FF%FE&password=%&format=json", "application/x-www-form-urlencoded"),
    _raw(b"\xff\xfe\x00garbage", "application/octet-stream"),
    _raw(b"--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data"),
    _raw(b"{}", "application/json"),
    _raw(b"userId=a", None),
    RequestSpec("POST", Encoding.QUERY, (("format", "json" * 200),)),
)


@check("RK-SAFE-001", "RK-SAFE-002", party=S, destructive=False)
def no_server_error(ctx: ServerContext) -> None:
    """RK-SAFE-001: generated junk never gets a 5xx, nor an echo of the password."""
    for spec in itertools.chain(HOSTILE, draws(_junk_requests(), ctx.max_examples, ctx.seed)):
        ctx.send(spec)
    # The password where it does not belong: it must not come back.
    leaks = (
        (("userId", ctx.account.password), ("password", ctx.account.password)),
        (("format", ctx.account.password),),
    )
    for params in leaks:
        ctx.send(RequestSpec("POST", Encoding.FORM, params), None)
