"""The client's request checks: what a client sent.

Each request recorded in a case is judged against the case's
:class:`~conformance.client.scenarios.Expectation`. Each fault is judged under
one requirement only: a parameter with a wrong name is still read
(case-insensitively) for its value and format, a body whose bytes plainly are
another kind than its Content-Type says is still read by its bytes
(:mod:`conformance.validation.inbound`), and the server answers every request
as planned whatever its path.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote_plus

from conformance.client.app import BODY_MEDIA_TYPES, BodyKind, Param, RecordedRequest
from conformance.client.checks_context import ClientContext, named
from conformance.client.scenarios import Auth, Case
from conformance.judging.registry import check
from conformance.protocol.records import ENDPOINT_PATH, Format
from conformance.spec.catalogue import Party

C = Party.CLIENT
NAMES = ("userId", "password", "format")


@check("RK-HTTP-011", "RK-HTTP-001", "RK-PARAM-001", party=C)
def client_request_is_well_formed(ctx: ClientContext) -> None:
    """RK-HTTP-011: GET or POST, the body named by its Content-Type; path and names exact.

    The catalogue names this check for RK-HTTP-011 only; it judges RK-HTTP-001
    and RK-PARAM-001 for clients too, because ``path_is_exact`` and
    ``parameter_names_are_exact`` are the server checks of those ids and a
    check name is registered once.
    """
    for case in ctx.cases:
        if case.error is None and case.output is not None and not case.requests:
            ctx.fail(
                "RK-HTTP-011",
                case,
                None,
                "the command sent no request",
                f"a GET or POST to {ENDPOINT_PATH}",
                "no request arrived",
            )
    for case, req in ctx.requests():
        problems = []
        if req.method not in ("GET", "POST"):
            problems.append(f"method {req.method}")
        kind = req.body_kind
        if kind is not None and req.media_type not in BODY_MEDIA_TYPES[kind]:
            problems.append(f"a {kind} body labelled {req.media_type or '(no Content-Type)'}")
        if kind is not None and req.method == "GET":
            problems.append("a GET with a body (its parameters belong in the query)")
        params, problem = req.params()
        if problem is not None and problem.requirement == "RK-HTTP-011":
            problems.append(problem.message)
        ctx.expect(
            "RK-HTTP-011",
            not problems,
            case,
            req,
            "the request is not well-formed",
            "GET or POST; a form, multipart or <Account> body named by its Content-Type",
            "; ".join(problems),
        )
        ctx.expect(
            "RK-HTTP-001",
            req.raw_path == ENDPOINT_PATH,
            case,
            req,
            "the request went to another path",
            ENDPOINT_PATH,
            req.raw_path,
        )
        if problem is not None and problem.requirement == "RK-PARAM-001":
            ctx.fail("RK-PARAM-001", case, req, problem.message, "<Account>", "another root")
            continue
        if problem is not None:
            continue
        wrong = [p.name for p in params if p.name.lower() in {n.lower() for n in NAMES}]
        wrong = [n for n in wrong if n not in NAMES]
        if _sends_credentials(case, req):
            wrong += [f"(no {n})" for n in NAMES[:2] if not named(params, n)]
        ctx.expect(
            "RK-PARAM-001",
            not wrong,
            case,
            req,
            "parameter names must be exact",
            "userId, password, format",
            ", ".join(wrong),
        )


def _sends_credentials(case: Case, req: RecordedRequest) -> bool:
    if case.expect.auth is not None:
        return case.expect.auth is Auth.CREDENTIALS
    return not any(v.strip() for v in req.header_values("apiKey"))


@check("RK-PARAM-003", party=C)
def client_values_round_trip(ctx: ClientContext) -> None:
    """RK-PARAM-003: userId and password decode to exactly what the client was given."""
    for case, req in ctx.requests():
        params, problem = req.params()
        if problem is not None:
            if problem.requirement == "RK-PARAM-003":
                ctx.fail(
                    "RK-PARAM-003", case, req, problem.message, "well-formed XML", "a parse error"
                )
            continue
        given = {"userId": case.expect.user_id, "password": case.expect.password}
        for name, value in given.items():
            if value is None:
                continue
            for param in named(params, name):
                if case.expect.auth is None and not param.value:
                    continue  # an SDK's empty field beside its key: RK-AUTH-011's business
                ok = param.value == value and param.decodable
                ctx.expect(
                    "RK-PARAM-003",
                    ok,
                    case,
                    req,
                    f"{name} in the {param.where} does not decode to the value given",
                    "the given value",
                    _difference(value, param),
                )


def _difference(given: str, param: Param) -> str:
    """How a decoded value differs from the given one, without showing either."""
    got = param.value
    if not param.decodable:
        return "bytes that are not UTF-8 once decoded"
    if got == given:
        return "the given value"
    if unquote_plus(got) == given:
        return "the value still URL-encoded once: it was encoded twice"
    if got == given.strip():
        return "the value trimmed of its leading and trailing spaces"
    if got in (unicodedata.normalize("NFC", given), unicodedata.normalize("NFD", given)):
        return "the value Unicode-normalised (NFC or NFD): it must go as given"
    at = next((i for i, (a, b) in enumerate(zip(given, got, strict=False)) if a != b), None)
    at = min(len(given), len(got)) if at is None else at
    return (
        f"{len(got)} characters where {len(given)} were given, differing from character "
        f"{at + 1} on (not URL-encoded? '+', '&', '=', '%', '#' and non-ASCII need it)"
    )


@check("RK-AUTH-010", party=C)
def client_key_is_in_header(ctx: ClientContext) -> None:
    """RK-AUTH-010: the key travels in the apiKey header, never in the query or body."""
    for case, req in ctx.requests():
        key = case.expect.api_key
        if key is None:
            continue
        keys = (key, *case.expect.later_keys)  # a rotating scenario's later keys too
        headers = [v.strip() for v in req.header_values("apiKey")]
        params, _ = req.params()
        leaked = [
            p.where for p in params if (p.name.lower() == "apikey" and p.value) or p.value in keys
        ]
        for k in keys:
            if k.encode() in req.query or k.encode() in req.body:
                leaked.append("query" if k.encode() in req.query else "body")
        if case.expect.auth is Auth.KEY or any(headers):
            ctx.expect(
                "RK-AUTH-010",
                any(k in headers for k in keys),
                case,
                req,
                "the key must be sent in the apiKey header",
                "apiKey: <the key>",
                "an apiKey header with another value" if any(headers) else "no apiKey header",
            )
        if leaked:
            ctx.fail(
                "RK-AUTH-010",
                case,
                req,
                "the key must not travel in the query or body",
                "the key only in the apiKey header",
                f"the key in the {' and '.join(sorted(set(leaked)))}",
            )


@check("RK-FMT-006", party=C)
def client_asks_for_its_format(ctx: ClientContext) -> None:
    """RK-FMT-006: format is plain, json or xml, and the one the client parses."""
    for case, req in ctx.requests():
        params, problem = req.params()
        if problem is not None:
            continue
        values = [p.value for p in named(params, "format")]
        wanted = case.expect.fmt
        if not values:
            ctx.fail(
                "RK-FMT-006",
                case,
                req,
                "the request has no format parameter",
                f"format={wanted.value if wanted else 'plain|json|xml'}",
                "none",
            )
        for value in values:
            asked = Format.parse(value) if value else None
            ok = asked is not None and (wanted is None or asked is wanted)
            ctx.expect(
                "RK-FMT-006",
                ok,
                case,
                req,
                "format must name the format the client was asked to parse",
                wanted.value if wanted else "plain, json or xml",
                repr(value),
            )


@check("RK-AUTH-011", party=C)
def client_uses_one_auth_form(ctx: ClientContext) -> None:
    """RK-AUTH-011: a client sends credentials or an apiKey header, not both."""
    for case, req in ctx.requests():
        params, _ = req.params()
        header = any(v.strip() for v in req.header_values("apiKey"))
        fields = [p.name for p in params if p.name.lower() in ("userid", "password")]
        ctx.expect(
            "RK-AUTH-011",
            not (header and fields),
            case,
            req,
            "credentials were sent beside an apiKey header",
            "one form only",
            f"apiKey header and {', '.join(fields)} (even empty fields count)",
        )


@check("RK-AUTH-012", party=C)
def client_keeps_password_out_of_url(ctx: ClientContext) -> None:
    """RK-AUTH-012: the password should not travel in a URL query string."""
    for case, req in ctx.requests():
        in_query = [p for p in named(req.params()[0], "password") if p.where == "query"]
        leaked = any(p.value for p in in_query)
        ctx.expect(
            "RK-AUTH-012",
            not leaked,
            case,
            req,
            "the password is in the URL, where proxies and logs keep it",
            "the password in a POST body",
            "password in the query string",
        )


@check("RK-AUTH-013", party=C)
def client_sends_no_empty_header(ctx: ClientContext) -> None:
    """RK-AUTH-013: no empty apiKey header; leave the header out instead."""
    for case, req in ctx.requests():
        empty = any(not v.strip() for v in req.header_values("apiKey"))
        ctx.expect(
            "RK-AUTH-013",
            not empty,
            case,
            req,
            "an empty apiKey header was sent",
            "no apiKey header",
            "apiKey: (empty)",
        )


@check("RK-AUTH-014", party=C)
def client_prefers_form_body(ctx: ClientContext) -> None:
    """RK-AUTH-014: a POST body should be a form, not multipart/form-data."""
    for case, req in ctx.requests():
        multipart = req.body_kind is BodyKind.MULTIPART
        ctx.expect(
            "RK-AUTH-014",
            not multipart,
            case,
            req,
            "a multipart body was sent",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
