"""Path, methods and request encodings (RK-HTTP-*)."""

from __future__ import annotations

from conformance.errors import CredentialsRefused
from conformance.judging.registry import check
from conformance.judging.rules import FOUNDATION
from conformance.protocol.records import ENDPOINT_PATH, Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import ServerContext
from conformance.server.space_shape import EXTENSION_METHOD
from conformance.server.verdicts import probe, succeeded
from conformance.spec.catalogue import Party

S = Party.SERVER


def _lower_case_names(params: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name.lower(), value) for name, value in params)


@check("RK-HTTP-002", "RK-AUTH-001", "RK-PARAM-001", party=S)
def post_form_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-002: a POST with a form body and the exact names regenerates the key.

    When it does not, the check finds out why, so that one fault is reported
    under one id: lower-case names work (RK-PARAM-001), another encoding works
    (RK-HTTP-002), the key given works in the header (RK-AUTH-001). When the
    account authenticates in no form at all, the run's own credentials are
    wrong: an ERROR for the user (CredentialsRefused), never the server's FAIL.
    Until the cause is known, an answer in another format is blamed on no id.
    """
    spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"))
    ex = ctx.send(spec, Format.JSON, error_rule=None)
    if ex.new_key is not None:
        for rid in ("RK-HTTP-002", "RK-AUTH-001", "RK-PARAM-001"):
            ctx.result.record_pass(rid)
        return
    if ex.verdict is not None and ex.verdict.violations and not ex.unjudged:
        succeeded(ctx, "RK-HTTP-002", ex, "POST with a form body must be accepted")
        return
    variant = RequestSpec("POST", Encoding.FORM, _lower_case_names(ctx.credentials("json")))
    if _authenticates(ctx, variant):
        succeeded(ctx, "RK-PARAM-001", ex, "userId/password/format, exactly so, must work")
        return
    for method, encoding in (
        ("GET", Encoding.QUERY),
        ("POST", Encoding.MULTIPART),
        ("POST", Encoding.XML),
    ):
        if _authenticates(ctx, RequestSpec(method, encoding, ctx.credentials("json"))):
            succeeded(ctx, "RK-HTTP-002", ex, "POST with a form body must be accepted")
            return
    if ctx.account.api_key is not None:  # a key was given: the account is real
        keyed = RequestSpec("POST", Encoding.FORM, (("format", "json"),), ctx.key_header())
        if _authenticates(ctx, keyed):
            succeeded(ctx, "RK-AUTH-001", ex, "userId and password must authenticate")
            return
    raise CredentialsRefused()


def _authenticates(ctx: ServerContext, spec: RequestSpec) -> bool:
    """A diagnostic request: whether it regenerates the key (its answer's
    format is judged under no id: the diagnosis has not found the cause yet)."""
    ex = ctx.send(spec, Format.JSON, error_rule=None)
    return ex.new_key is not None or ex.observed_key is not None


@check("RK-HTTP-003", party=S, requires=FOUNDATION)
def get_query_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-003: a GET with the parameters in the query regenerates the key."""
    spec = RequestSpec("GET", Encoding.QUERY, ctx.credentials("json"))
    probe(ctx, "RK-HTTP-003", spec, Format.JSON, "GET with a query string must be accepted")


@check("RK-HTTP-004", party=S, requires=FOUNDATION)
def post_xml_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-004: a POST with the page's <Account> XML body regenerates the key."""
    spec = RequestSpec("POST", Encoding.XML, ctx.credentials("xml"))
    probe(ctx, "RK-HTTP-004", spec, Format.XML, "POST with an <Account> body must be accepted")


@check("RK-HTTP-005", party=S, requires=FOUNDATION)
def post_multipart_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-005: a POST with multipart/form-data fields regenerates the key."""
    spec = RequestSpec("POST", Encoding.MULTIPART, ctx.credentials("json"))
    probe(ctx, "RK-HTTP-005", spec, Format.JSON, "POST with a multipart body must be accepted")


@check("RK-HTTP-006", party=S, requires=FOUNDATION)
def chunked_body_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-006: a chunked POST body (no Content-Length) regenerates the key."""
    spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"), chunked=True)
    probe(ctx, "RK-HTTP-006", spec, Format.JSON, "a chunked form body must be accepted")


@check("RK-HTTP-007", party=S, requires=(*FOUNDATION, "RK-HTTP-003"))
def get_with_content_type_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-007: a GET with a Content-Type header and an empty body regenerates the key."""
    spec = RequestSpec(
        "GET",
        Encoding.QUERY,
        ctx.credentials("json"),
        content_type="application/x-www-form-urlencoded",
    )
    what = "a GET with a Content-Type and no body must be accepted"
    probe(ctx, "RK-HTTP-007", spec, Format.JSON, what)


@check("RK-HTTP-009", party=S, requires=FOUNDATION)
def post_query_is_accepted(ctx: ServerContext) -> None:
    """RK-HTTP-009: a POST with the parameters in the query regenerates the key."""
    spec = RequestSpec("POST", Encoding.QUERY, ctx.credentials("json"))
    probe(ctx, "RK-HTTP-009", spec, Format.JSON, "a POST with a query string should be accepted")


@check("RK-HTTP-008", party=S, destructive=False)
def other_methods_are_refused(ctx: ServerContext) -> None:
    """RK-HTTP-008: other methods get 405 with an Allow header naming GET and POST.

    ``FOO``, a method no specification defines, may also get 501 (RFC 9110
    section 9.1 asks for it) or 400 (Node's parser refuses a method it does
    not know before the application sees it). Whether any of them rotated
    the key is RK-ROT-009's, judged by the model-based suite.
    """
    for method in ("PUT", "DELETE", "PATCH", EXTENSION_METHOD):
        ex = ctx.send(RequestSpec(method, Encoding.QUERY, ctx.credentials("json")))
        allow = {m.strip().upper() for m in ex.headers.get("allow", "").split(",")}
        allowed = ex.status == 405 and {"GET", "POST"} <= allow
        expected = "HTTP 405, Allow: GET, POST"
        if method == EXTENSION_METHOD:
            allowed = allowed or ex.status in (400, 501)
            expected += " (or 501, or 400)"
        ctx.expect(
            "RK-HTTP-008",
            allowed,
            ex,
            f"{method} should be refused with 405 and an Allow header",
            expected,
            f"HTTP {ex.status}, Allow: {ex.headers.get('allow', '(none)')}",
        )


@check("RK-HTTP-001", party=S, destructive=False)
def path_is_exact(ctx: ServerContext) -> None:
    """RK-HTTP-001: only the exact path regenerates; near misses issue no key."""
    for path in (ENDPOINT_PATH.lower(), ENDPOINT_PATH + "X", "/SMSApi/rest/regenerateApiKey"):
        spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"), path=path)
        ex = ctx.send(spec)
        ctx.expect(
            "RK-HTTP-001",
            ex.new_key is None and b'"apiKey"' not in ex.body,
            ex,
            f"{path} is not the endpoint and must not regenerate the key",
            "no new key (404 or an error)",
            f"HTTP {ex.status}",
        )
