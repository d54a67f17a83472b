"""The sections of the endpoint's reference, built from the spec.

Facts come from the artefacts: the URL and the page's sentences from
``spec/page.txt`` (through the catalogue's quotes), the parameter texts from
``spec/openapi.yaml``, the rules from ``spec/requirements.yaml``, the media
types from :data:`conformance.MEDIA_TYPES`; responses come from the reference
server (:mod:`regenkey.docs.responses`) and samples from
:mod:`regenkey.docs.samples`.
"""

from __future__ import annotations

from conformance import ENDPOINT_PATH, MEDIA_TYPES, Format, catalogue, openapi, spec_text
from conformance.spec.catalogue import Requirement
from regenkey.docs.model import Code, Heading, Items, Para, Section, Table
from regenkey.docs.responses import Exchange
from regenkey.docs.samples import SAMPLES

VENDOR_URL = "https://www.smsgateway.center"


def _by_id() -> dict[str, Requirement]:
    return {r.id: r for r in catalogue()}


def rule(rid: str) -> str:
    """One requirement as a list item: its id, level and normative text."""
    req = _by_id()[rid]
    inferred = " (inferred)" if req.inferred else ""
    return f"`{rid}` {req.level}{inferred}: {req.text}"


def rules(prefix: str, *, server: bool | None = None) -> Items:
    chosen = [r for r in catalogue() if r.id.startswith(prefix)]
    if server is not None:
        chosen = [r for r in chosen if r.applies_to_server() == server]
    return Items(tuple(rule(r.id) for r in chosen))


def endpoint() -> Section:
    return Section(
        "endpoint",
        "Endpoint",
        (
            Para(
                "Regenerates the API key of an account. The new key is returned once; the "
                "previous key stops working at once. Every call rotates the key, so try it "
                "against the reference server, not a live account."
            ),
            Table(
                ("What", "Value"),
                (
                    ("URL", f"`{VENDOR_URL}{ENDPOINT_PATH}`"),
                    ("Path", f"`{ENDPOINT_PATH}` (case-sensitive, `RK-HTTP-001`)"),
                    ("Methods", "`GET`, `POST`"),
                    (
                        "Reference server",
                        "`regenkey serve --port 8080 --account USER:PASSWORD`, "
                        "then `http://127.0.0.1:8080`",
                    ),
                    (
                        "OpenAPI",
                        "`spec/openapi.yaml`, also served at `/openapi.yaml` by the "
                        "reference server",
                    ),
                ),
            ),
        ),
    )


def methods() -> Section:
    account = spec_text("examples/valid/request-account.xml")
    return Section(
        "methods",
        "Methods and request bodies",
        (
            Para(
                "The parameters travel in the query string of a GET, or in the body of a POST "
                "in one of three encodings."
            ),
            Table(
                ("Method", "Where the parameters go", "Content-Type", "Rule"),
                (
                    (
                        "GET",
                        "query string",
                        "any (a GET with a Content-Type and an empty body is fine)",
                        "`RK-HTTP-003`, `RK-HTTP-007`",
                    ),
                    ("POST", "form body", "`application/x-www-form-urlencoded`", "`RK-HTTP-002`"),
                    ("POST", "multipart fields", "`multipart/form-data`", "`RK-HTTP-005`"),
                    ("POST", "the `<Account>` XML body", "`application/xml`", "`RK-HTTP-004`"),
                    ("POST", "query string", "none", "`RK-HTTP-009` (SHOULD)"),
                    ("other", "-", "-", "405 with `Allow: GET, POST` (`RK-HTTP-008`, SHOULD)"),
                ),
            ),
            Para(
                "A body may be sent chunked, without Content-Length (`RK-HTTP-006`). The page's "
                "`<Account>` body, valid against `xsd/account.xsd`:"
            ),
            Code("xml", account),
            Para(
                "Clients: send GET or POST to the exact path, naming the body's media type "
                "(`RK-HTTP-011`), and prefer a form body to multipart (`RK-AUTH-014`)."
            ),
        ),
    )


def parameters() -> Section:
    spec = openapi()["components"]
    params = spec["parameters"]
    header = spec["securitySchemes"]["apiKeyHeader"]

    def text(value: str) -> str:
        return " ".join(value.split())

    return Section(
        "parameters",
        "Parameters",
        (
            Table(
                ("Name", "In", "Value", "Description"),
                (
                    ("`userId`", "query or body", "string", text(params["userId"]["description"])),
                    (
                        "`password`",
                        "query or body",
                        "string",
                        text(params["password"]["description"]),
                    ),
                    (
                        "`format`",
                        "query or body",
                        "`plain`, `json` or `xml`, any case; default `plain`",
                        text(params["format"]["description"]),
                    ),
                    (
                        "`apiKey`",
                        "HTTP header",
                        "32 lower-case hex digits",
                        text(header["description"]),
                    ),
                ),
            ),
            Items((rule("RK-PARAM-001"), rule("RK-PARAM-002"), rule("RK-PARAM-003"))),
        ),
    )


def authentication() -> Section:
    return Section(
        "authentication",
        "Authentication",
        (
            Para(
                "Use one of two forms: `userId` and `password` as parameters, or the current key "
                "in the `apiKey` HTTP header. With credentials:"
            ),
            Code(
                "http",
                "POST /SMSApi/rest/regenerateAPIKey HTTP/1.1\n"
                "Host: www.smsgateway.center\n"
                "Content-Type: application/x-www-form-urlencoded\n\n"
                "userId=YourUsername&password=Your%20P%40ssword&format=json",
            ),
            Para("With the key (it is replaced by the new one):"),
            Code(
                "http",
                "POST /SMSApi/rest/regenerateAPIKey HTTP/1.1\n"
                "Host: www.smsgateway.center\n"
                "apiKey: 03db883b5e19416fbd306413b2fc0eb4\n"
                "Content-Type: application/x-www-form-urlencoded\n\n"
                "format=json",
            ),
            Heading("What a server does"),
            rules("RK-AUTH-", server=True),
            Heading("What a client does"),
            rules("RK-AUTH-", server=False),
        ),
    )


def formats() -> Section:
    artefacts = {
        Format.PLAIN: "`grammar/plain.lark` (`grammar/plain.abnf` for readers)",
        Format.JSON: "`schemas/success.schema.json`, `schemas/error.schema.json`",
        Format.XML: "`xsd/responses.xsd`",
    }
    return Section(
        "formats",
        "Response formats",
        (
            Para(
                "`format` chooses the response format; without it (or empty) the answer is plain."
            ),
            Table(
                ("format", "Media type", "Judged against"),
                tuple(
                    (
                        f"`{fmt.value}`",
                        f"`{MEDIA_TYPES[fmt]}`" + (" (or `text/xml`)" if fmt is Format.XML else ""),
                        artefacts[fmt],
                    )
                    for fmt in Format
                ),
            ),
            rules("RK-FMT-", server=True),
            Para(
                "Differences that are not significant, and that a client must accept "
                "(`RK-CLI-003`): JSON compact or indented in any member order, XML with or "
                "without white space or declaration, charset parameters, trailing white space "
                "after a plain body."
            ),
        ),
    )


def responses(exchanges: list[Exchange]) -> Section:
    blocks: list[Heading | Para | Code | Items] = [
        Para(
            "Produced by the reference server when this page was generated, and validated by "
            "the kit (`validate_body`): keys differ on every run. Judge a response by its "
            "body: errors come back with HTTP 200 too."
        ),
    ]
    for n, exchange in enumerate(exchanges, start=1):
        blocks.append(Heading(exchange.title, id=f"response-{n}"))
        blocks.append(
            Para(
                f"Request: {exchange.request}. Answer: HTTP {exchange.http_status}, "
                f"`Content-Type: {exchange.content_type}`."
            )
        )
        blocks.append(
            Code(exchange.fmt.value if exchange.fmt is not Format.PLAIN else "text", exchange.body)
        )
    blocks.append(Heading("Rules for response bodies", id="body-rules"))
    blocks.append(rules("RK-JSON-"))
    blocks.append(rules("RK-XML-"))
    blocks.append(rules("RK-PLAIN-"))
    blocks.append(
        Items(
            tuple(
                rule(r)
                for r in ("RK-SUCC-001", "RK-SUCC-002", "RK-SUCC-003", "RK-KEY-001", "RK-KEY-002")
            )
        )
    )
    return Section("responses", "Responses", tuple(blocks))


def errors(exchanges: list[Exchange]) -> Section:
    seen = [e for e in exchanges if not e.record.is_success]
    return Section(
        "errors",
        "The error envelope (inferred)",
        (
            Para(
                "The vendor's page documents no error. This envelope is the minimum a client "
                "needs to tell a failure from a success; no particular code or text is required."
            ),
            Table(
                ("Field", "Value", "Rule"),
                (
                    ("`status`", "`error`", "`RK-ERR-001`"),
                    ("`statusCode`", "three digits other than `900`", "`RK-ERR-002`"),
                    (
                        "`reason`",
                        "one non-empty line of printable text, no `|`, no leading or "
                        "trailing space",
                        "`RK-ERR-003`",
                    ),
                    ("`apiKey`", "absent", "`RK-ERR-004`"),
                ),
            ),
            Para(
                "In JSON the envelope is an object with exactly those members; in XML the root is "
                "`errorResponse` with the children `reason`, `status`, `statusCode`; in plain it "
                "is `status=error | statusCode=… | reason=…`."
            ),
            rules("RK-ERR-"),
            Heading("Codes the reference server uses (examples, not requirements)"),
            Table(
                ("statusCode", "reason", "when"),
                tuple(
                    (f"`{e.record.status_code}`", e.record.reason, e.title.split(": ", 1)[-1])
                    for e in seen
                ),
            ),
        ),
    )


def _origin(req: Requirement) -> str:
    if req.inferred:
        return f"inferred: {req.reason}"
    source = " ".join((req.source or "").split())
    return "page: " + (source if len(source) <= 110 else source[:107] + "...")


def requirement_catalogue() -> Section:
    return Section(
        "requirements",
        "Requirement catalogue",
        (
            Para(
                "Every rule has a stable id (never renumbered or reused), a level, the party it "
                "binds, and either the page's sentence it comes from or the reason it is "
                "inferred. Source: `spec/requirements.yaml`."
            ),
            Table(
                ("Id", "Level", "Party", "Title", "Source"),
                tuple(
                    (f"`{r.id}`", r.level.value, r.applies_to.value, r.title, _origin(r))
                    for r in catalogue()
                ),
                tuple(r.id for r in catalogue()),
            ),
        ),
    )


def samples() -> Section:
    env = (
        f"export REGENKEY_BASE_URL={VENDOR_URL}   # or http://127.0.0.1:8080 (regenkey serve)\n"
        "export REGENKEY_USER_ID='YourUsername'\n"
        "export REGENKEY_PASSWORD='YourPassword'\n"
        "export REGENKEY_API_KEY='the current key'   # for the apiKey samples"
    )
    blocks: list[Heading | Para | Code] = [
        Para(
            "Each sample regenerates the key once. They read their inputs from the "
            "environment; every sample on this page runs in the kit's tests against the "
            "reference server."
        ),
        Code("sh", env),
    ]
    for s in SAMPLES:
        blocks.append(Heading(s.title, id=f"sample-{s.name}"))
        blocks.append(Code(s.lang, s.code, sample=s.name))
    return Section("samples", "Code samples", tuple(blocks))


def conformance_tools() -> Section:
    return Section(
        "conformance",
        "Checking an implementation",
        (
            Items(
                (
                    "`regenkey check-server --base-url URL --user-id U` judges a server "
                    "(`REGENKEY_PASSWORD` in the environment).",
                    "`regenkey check-client --command CMD` judges a client: "
                    "the kit plays the server.",
                    "`regenkey check-parser --command CMD` runs every test vector "
                    "(`conformance/vectors/`) through a response parser over stdin and stdout.",
                    "`regenkey validate FILE...` judges saved response bodies.",
                )
            ),
        ),
    )
