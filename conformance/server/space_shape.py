"""The dimensions of the input space (issue 15) and the shapes they make.

See :mod:`conformance.server.space`: each value here is documented with its
meaning and its source, so the model can predict what a server must do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from conformance.protocol.wire import Encoding


class Carrier(StrEnum):
    """Where the parameters travel (userId, password, format and any extras).

    - ``QUERY``: the query string, no body (RK-HTTP-003 for GET; with another
      method, RK-HTTP-008's request). Only with GET, HEAD, OPTIONS, PUT,
      PATCH, DELETE, FOO (a POST with a query is ``POST_QUERY``).
    - ``FORM``: an ``application/x-www-form-urlencoded`` body (RK-HTTP-002).
    - ``FORM_PARAMS``: the same with media-type parameters on the
      Content-Type (``; charset=UTF-8``): RFC 9110 section 8.3.1, a server
      must accept them (RK-HTTP-002).
    - ``MULTIPART``: ``multipart/form-data``, quoted names (RK-HTTP-005).
    - ``MULTIPART_BARE``: bare-token names (``name=userId``): RFC 7578
      section 4.2 takes RFC 2183's syntax, token or quoted-string (RK-HTTP-005).
    - ``MULTIPART_FILE``: each part with a ``filename`` and a text/plain part
      Content-Type. The page is silent and frameworks (PHP's $_FILES) file
      such parts apart from the fields: treat the outcome as
      implementation-defined (either a success or a refusal is conformant;
      after a refusal, the credentials as plain fields beside a format part
      with a filename must work: RK-HTTP-005).
    - ``XML``: the page's ``<Account>`` body, declaration and tabs as on the
      page (RK-HTTP-004); children always in the page's order and no extras
      (account.xsd is a sequence), so ``order`` and ``extras`` do not apply.
      An empty format (``<format></format>``) is sent too: RK-FMT-002 says an
      empty format is the default, but account.xsd's pattern does not match
      it, so a server may refuse the document instead
      (:func:`~conformance.server.space.empty_format_element`); a success must
      be plain.
    - ``XML_BOM``: the same after a UTF-8 byte order mark (XML 1.0 section
      4.3.3: a processor must accept it; RK-HTTP-004).
    - ``XML_NO_DECL``: without the XML declaration (optional in XML 1.0; RK-HTTP-004).
    - ``XML_CDATA``: each value in a CDATA section (same character data; RK-HTTP-004).
    - ``XML_ENTITIES``: every ASCII non-alphanumeric character of a value as a
      named entity or a decimal character reference (same character data), and
      CRLF line ends (XML 1.0 section 2.11 normalizes them; RK-HTTP-004).
    - ``XML_XSI``: the page's document with the XML Schema instance attributes
      on the root (``xmlns:xsi``, ``xsi:noNamespaceSchemaLocation``,
      ``xsi:schemaLocation``, ``xsi:type``): still a schema-valid
      ``<Account>``, as a client that validates its own documents writes it
      (RK-HTTP-004).
    - ``POST_QUERY``: a POST with every parameter in the query and an empty
      form body with its Content-Type (clients built from the GET sample).
      RK-HTTP-009 is a SHOULD: a server that ignores the query of a POST sees
      no credentials and refuses; only that SHOULD can report it.
    """

    QUERY = "query"
    FORM = "form"
    FORM_PARAMS = "form-params"
    MULTIPART = "multipart"
    MULTIPART_BARE = "multipart-bare"
    MULTIPART_FILE = "multipart-file"
    XML = "xml"
    XML_BOM = "xml-bom"
    XML_NO_DECL = "xml-no-decl"
    XML_CDATA = "xml-cdata"
    XML_ENTITIES = "xml-entities"
    POST_QUERY = "post-query"
    XML_XSI = "xml-xsi"


QUERY_CARRIERS = frozenset({Carrier.QUERY, Carrier.POST_QUERY})
XML_CARRIERS = frozenset(
    {
        Carrier.XML,
        Carrier.XML_BOM,
        Carrier.XML_NO_DECL,
        Carrier.XML_CDATA,
        Carrier.XML_ENTITIES,
        Carrier.XML_XSI,
    }
)
MULTIPART_CARRIERS = frozenset({Carrier.MULTIPART, Carrier.MULTIPART_BARE, Carrier.MULTIPART_FILE})
BODY_CARRIERS = frozenset(Carrier) - QUERY_CARRIERS

WIRE_FORMS: dict[Carrier, tuple[Encoding, frozenset[str]]] = {
    Carrier.QUERY: (Encoding.QUERY, frozenset()),
    Carrier.POST_QUERY: (Encoding.QUERY, frozenset()),
    Carrier.FORM: (Encoding.FORM, frozenset()),
    Carrier.FORM_PARAMS: (Encoding.FORM, frozenset({"media-params"})),
    Carrier.MULTIPART: (Encoding.MULTIPART, frozenset()),
    Carrier.MULTIPART_BARE: (Encoding.MULTIPART, frozenset({"bare-names"})),
    Carrier.MULTIPART_FILE: (Encoding.MULTIPART, frozenset({"filename"})),
    Carrier.XML: (Encoding.XML, frozenset()),
    Carrier.XML_BOM: (Encoding.XML, frozenset({"bom"})),
    Carrier.XML_NO_DECL: (Encoding.XML, frozenset({"no-declaration"})),
    Carrier.XML_CDATA: (Encoding.XML, frozenset({"cdata"})),
    Carrier.XML_ENTITIES: (Encoding.XML, frozenset({"entities", "crlf"})),
    Carrier.XML_XSI: (Encoding.XML, frozenset({"xsi"})),
}


class AuthForm(StrEnum):
    """Which credentials a request sends (values from :func:`to_spec`'s arguments).

    - ``CREDENTIALS``: userId and password, no header (RK-AUTH-001).
    - ``HEADER``: the apiKey header alone (RK-AUTH-002, RK-AUTH-003 for its spelling).
    - ``BOTH``: a non-empty header and the credentials: RK-AUTH-009 (MAY) leaves
      which one is used to the server; the model accepts either branch.
    - ``NEITHER``: nothing (RK-AUTH-004: refused).
    - ``USER_ONLY``, ``PASSWORD_ONLY``: half the credentials (RK-AUTH-005: refused).
    - ``EMPTY_HEADER``: the credentials and an empty apiKey header (RK-AUTH-007:
      the credentials authenticate).
    - ``EMPTY_FIELDS``: the header and empty userId and password fields
      (RK-AUTH-008: the header authenticates).
    """

    CREDENTIALS = "credentials"
    HEADER = "header"
    BOTH = "both"
    NEITHER = "neither"
    USER_ONLY = "user-only"
    PASSWORD_ONLY = "password-only"  # noqa: S105 (a label, not a password)
    EMPTY_HEADER = "empty-header"
    EMPTY_FIELDS = "empty-fields"


#: GET and POST (the page's samples); the others for RK-HTTP-008 (SHOULD 405)
#: and "a request that returned no new key rotates nothing" (HEAD included);
#: FOO, an extension method, which some HTTP parsers refuse before the app.
EXTENSION_METHOD = "FOO"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", EXTENSION_METHOD)
#: The apiKey header in several letter cases (RK-AUTH-003; "apikey" is the PHP class's).
HEADER_NAMES = ("apiKey", "apikey", "APIKEY", "ApiKey", "aPIkEy")
#: None: no format parameter, and "" an empty one (plain, RK-FMT-002); the three
#: names in several cases (RK-FMT-001, RK-FMT-003); unknown and prefix-like
#: values (refused in plain, RK-FMT-004). No padded values: whether "json "
#: is json is not for the page to say.
FORMAT_SPELLINGS: tuple[str | None, ...] = (
    None,
    "",
    "plain",
    "json",
    "xml",
    "PLAIN",
    "JSON",
    "XML",
    "Json",
    "xMl",
    "pLaIn",
    "html",
    "jsonp",
    "jso",
    "xm",
    "plai",
    "xmls",
)
#: Field orders: the n-th permutation (lexicographic, n modulo k!) of the k
#: fields a request carries (extras included). Any order is legal (a form and
#: a multipart body are sets of named fields); XML keeps the page's order.
ORDERS = tuple(range(6))
#: Unknown and repeated fields. A repeated known name (userId, password,
#: format) with the value "" repeats the request's own field with its own
#: value (a duplicate, the same value twice), and is dropped when the request
#: has no such field. Unknown names are RK-PARAM-004 (SHOULD: ignored), and so
#: are repeats (the page never says a name appears once): a server that
#: refuses either fails only that SHOULD (``space.relies_on``).
EXTRAS: tuple[tuple[tuple[str, str], ...], ...] = (
    (),
    (("senderId", "TEST"),),
    (("extra", ""),),
    (("submit", "Regenerate"), ("lang", "en")),
    (("userId", ""),),
    (("password", ""), ("format", "")),
)
REPEATABLE = frozenset({"userId", "password", "format"})


@dataclass(frozen=True)
class Shape:
    """A request without its values; see :class:`Carrier`, :class:`AuthForm`,
    :data:`HEADER_NAMES`, :data:`FORMAT_SPELLINGS`, :data:`ORDERS`, :data:`EXTRAS`.

    ``format_in_query``: the format parameter travels in the query while the
    rest is in the body (RK-HTTP-009, SHOULD); always True for the query
    carriers. ``chunked``: the body is sent with Transfer-Encoding chunked
    (RK-HTTP-006), only with a body carrier.
    """

    method: str
    carrier: Carrier
    auth: AuthForm
    header_name: str = "apiKey"
    format_spelling: str | None = None
    format_in_query: bool = False
    order: int = 0
    chunked: bool = False
    extras: tuple[tuple[str, str], ...] = ()


def methods_for(carrier: Carrier) -> tuple[str, ...]:
    """The methods a carrier goes with (a GET body, or a HEAD with one, is not asked for)."""
    if carrier is Carrier.QUERY:
        return tuple(m for m in METHODS if m != "POST")
    if carrier in (Carrier.FORM, Carrier.FORM_PARAMS):
        return ("POST", "PUT", "DELETE", "PATCH")
    return ("POST",)


_AUTH_FIELDS = {
    AuthForm.CREDENTIALS: 2,
    AuthForm.BOTH: 2,
    AuthForm.EMPTY_HEADER: 2,
    AuthForm.EMPTY_FIELDS: 2,
    AuthForm.USER_ONLY: 1,
    AuthForm.PASSWORD_ONLY: 1,
}


def _body_fields(shape: Shape) -> int:
    """How many fields the body of ``shape`` carries (repeats aside)."""
    count = _AUTH_FIELDS.get(shape.auth, 0)
    count += shape.format_spelling is not None and not shape.format_in_query
    return count + sum(1 for name, _ in shape.extras if name not in REPEATABLE)


def legal(shape: Shape) -> bool:
    """Whether ``shape`` is one the suite sends (see :class:`Carrier` for why)."""
    if shape.method not in methods_for(shape.carrier):
        return False
    if shape.header_name.lower() != "apikey" or shape.order not in ORDERS:
        return False
    if shape.carrier in QUERY_CARRIERS and (shape.chunked or not shape.format_in_query):
        return False
    if shape.carrier in XML_CARRIERS and (shape.order or shape.extras):
        return False  # account.xsd: a sequence, no other children
    if shape.carrier in MULTIPART_CARRIERS and _body_fields(shape) == 0:
        return False  # RFC 2046: a multipart body has at least one part
    return True


def nearest_legal(shape: Shape) -> Shape:
    """The nearest legal shape: dependent dimensions follow the carrier."""
    if shape.method not in methods_for(shape.carrier):
        shape = replace(shape, method=methods_for(shape.carrier)[0])
    if shape.carrier in QUERY_CARRIERS:
        shape = replace(shape, chunked=False, format_in_query=True)
    if shape.carrier in XML_CARRIERS:
        shape = replace(shape, order=0, extras=())
    if shape.carrier in MULTIPART_CARRIERS and _body_fields(shape) == 0:
        shape = replace(
            shape, format_in_query=False, format_spelling=shape.format_spelling or "plain"
        )
    return shape


DIMENSIONS: dict[str, tuple[object, ...]] = {
    "method": METHODS,
    "carrier": tuple(Carrier),
    "auth": tuple(AuthForm),
    "header_name": HEADER_NAMES,
    "format_spelling": FORMAT_SPELLINGS,
    "format_in_query": (False, True),
    "order": ORDERS,
    "chunked": (False, True),
    "extras": EXTRAS,
}


def dimensions() -> dict[str, tuple[object, ...]]:
    """Every dimension of :class:`Shape` and its values."""
    return dict(DIMENSIONS)
