"""The server suite's input space (issue 15): a request is a point in a product of dimensions.

A :class:`Shape` fixes every dimension of a request except the values it
carries: method, :class:`Carrier` (where the parameters travel),
:class:`AuthForm` (which credentials it sends), the apiKey header's spelling,
the format parameter (its spelling, and whether it travels in the query),
the field order, chunked framing and extra fields. :func:`to_spec` fills a
shape with an account's values and gives the
:class:`~conformance.protocol.wire.RequestSpec` to send; :func:`answer_format`
says which format a conformant server answers it in.

Only legal shapes are generated (:func:`legal`): a combination the page, the
catalogue or an RFC makes ambiguous is left out rather than judged, so a
correct server never fails on one (no false red). What a server must *do* with
each shape (rotate or refuse) is the model's business
(:mod:`conformance.server.model`); each dimension value below says where its
meaning comes from, so the model can predict the outcome.

:func:`schedule` gives a deterministic list of shapes for a seed that starts
with a covering block: every value of every dimension appears at least once
within :data:`COVERING_SIZE` shapes (a default run sends more). The values
(:func:`near_passwords`, :func:`near_keys`, :func:`awkward_values`) and the
malformed requests (:func:`malformed`) are in :mod:`conformance.server.space_values`,
the dimensions and their values in :mod:`conformance.server.space_shape`; this
module re-exports both. :func:`relies_on` names the requirements a shape's
success depends on, so a misread shape is blamed on its own id.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import fields, replace
from math import factorial
from typing import Any

from hypothesis import strategies as st

from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.space_shape import (
    BODY_CARRIERS,
    DIMENSIONS,
    EXTRAS,
    FORMAT_SPELLINGS,
    HEADER_NAMES,
    METHODS,
    MULTIPART_CARRIERS,
    ORDERS,
    QUERY_CARRIERS,
    REPEATABLE,
    WIRE_FORMS,
    XML_CARRIERS,
    AuthForm,
    Carrier,
    Shape,
    dimensions,
    legal,
    methods_for,
    nearest_legal,
)
from conformance.server.space_values import (
    Malformed,
    awkward_values,
    malformed,
    near_keys,
    near_passwords,
)

__all__ = [
    "COVERING_SIZE",
    "AuthForm",
    "Carrier",
    "Malformed",
    "Shape",
    "answer_format",
    "awkward_values",
    "describe",
    "dimensions",
    "either_outcome",
    "empty_format_element",
    "legal",
    "malformed",
    "near_keys",
    "near_passwords",
    "relies_on",
    "schedule",
    "shapes",
    "to_spec",
]


def shapes(
    carriers: tuple[Carrier, ...] = tuple(Carrier),
    auths: tuple[AuthForm, ...] = tuple(AuthForm),
    methods: tuple[str, ...] = METHODS,
) -> st.SearchStrategy[Shape]:
    """Legal shapes, drawn from the given carriers, auth forms and methods
    (carriers that go with none of the methods are left out)."""
    usable = [c for c in carriers if set(methods_for(c)) & set(methods)]
    if not usable:
        raise ValueError("no carrier goes with these methods")

    @st.composite
    def draw(draw_: st.DrawFn) -> Shape:
        carrier = draw_(st.sampled_from(usable))
        allowed = [m for m in methods_for(carrier) if m in methods]
        shape = Shape(
            method=draw_(st.sampled_from(allowed)),
            carrier=carrier,
            auth=draw_(st.sampled_from(auths)),
            header_name=draw_(st.sampled_from(HEADER_NAMES)),
            format_spelling=draw_(st.sampled_from(FORMAT_SPELLINGS)),
            format_in_query=draw_(st.booleans()),
            order=draw_(st.sampled_from(ORDERS)),
            chunked=draw_(st.booleans()),
            extras=draw_(st.sampled_from(EXTRAS)),
        )
        return nearest_legal(shape)

    return draw()


def _random_shape(rng: random.Random) -> Shape:
    carrier = rng.choice(tuple(Carrier))
    shape = Shape(
        method=rng.choice(methods_for(carrier)),
        carrier=carrier,
        auth=rng.choice(tuple(AuthForm)),
        header_name=rng.choice(HEADER_NAMES),
        format_spelling=rng.choice(FORMAT_SPELLINGS),
        format_in_query=rng.random() < 0.5,
        order=rng.choice(ORDERS),
        chunked=rng.random() < 0.5,
        extras=rng.choice(EXTRAS),
    )
    return nearest_legal(shape)


def _carrier_gain(carrier: Carrier, missing: set[tuple[str, object]]) -> int:
    """How much choosing ``carrier`` can cover: itself, and a method still missing."""
    methods = any(("method", m) in missing for m in methods_for(carrier))
    return int(("carrier", carrier) in missing) + int(methods)


def _covering(rng: random.Random) -> Iterator[Shape]:
    """Shapes until every (dimension, value) pair has appeared in a legal one:
    each shape takes, dimension by dimension, a value still missing that keeps
    it legal (the carrier first, chosen to also reach a missing method)."""
    missing = {(name, value) for name, options in DIMENSIONS.items() for value in options}
    for _ in range(4 * COVERING_SIZE):  # bounded; the test holds it to COVERING_SIZE
        if not missing:
            return
        shape = _random_shape(rng)
        carriers = list(Carrier)
        rng.shuffle(carriers)
        best = max(carriers, key=lambda c: _carrier_gain(c, missing))
        shape = nearest_legal(replace(shape, carrier=best))
        for name, options in DIMENSIONS.items():
            if name == "carrier":
                continue
            wanted = [v for v in options if (name, v) in missing]
            rng.shuffle(wanted)
            for value in wanted:
                change: dict[str, Any] = {name: value}
                candidate = replace(shape, **change)
                if legal(candidate):
                    shape = candidate
                    break
        missing -= {(f.name, getattr(shape, f.name)) for f in fields(Shape)}
        yield shape


#: At most this many shapes cover every value of every dimension.
COVERING_SIZE = 24


def schedule(seed: int, count: int) -> list[Shape]:
    """``count`` legal shapes for ``seed``: a covering block first (every value
    of every dimension within :data:`COVERING_SIZE`), then seeded random draws.
    The same seed and count give the same list."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible schedule, not a secret)
    out = list(_covering(rng))[:count]
    while len(out) < count:
        out.append(_random_shape(rng))
    return out


def _permute(items: list[tuple[str, str]], order: int) -> list[tuple[str, str]]:
    """The ``order``-th permutation of ``items`` in lexicographic order of
    positions (modulo ``len(items)!``), built digit by digit (factorial base)."""
    pool, out = list(items), []
    order %= factorial(len(items)) or 1
    for size in range(len(pool), 0, -1):
        index, order = divmod(order, factorial(size - 1))
        out.append(pool.pop(index))
    return out


def _boundary(shape: Shape, values: list[str]) -> str:
    """A boundary fixed by the shape (never by a secret), absent from every value."""
    boundary = "rk" + hashlib.sha256(repr(shape).encode()).hexdigest()[:30]
    while any(boundary in value for value in values):
        boundary += "x"
    return boundary


def to_spec(
    shape: Shape, user_id: str | None, password: str | None, api_key: str | None
) -> RequestSpec:
    """The request ``shape`` describes, with these values. A None value is
    not sent (a HEADER shape with ``api_key=None`` sends no header)."""
    auth = shape.auth
    header: str | None = None
    fields_: list[tuple[str, str]] = []
    if auth in (AuthForm.CREDENTIALS, AuthForm.BOTH, AuthForm.EMPTY_HEADER, AuthForm.USER_ONLY):
        fields_ += [("userId", user_id)] if user_id is not None else []
    if auth in (AuthForm.CREDENTIALS, AuthForm.BOTH, AuthForm.EMPTY_HEADER):
        fields_ += [("password", password)] if password is not None else []
    if auth is AuthForm.PASSWORD_ONLY and password is not None:
        fields_.append(("password", password))
    if auth is AuthForm.EMPTY_FIELDS:
        fields_ += [("userId", ""), ("password", "")]
    if auth in (AuthForm.HEADER, AuthForm.BOTH, AuthForm.EMPTY_FIELDS):
        header = api_key
    if auth is AuthForm.EMPTY_HEADER:
        header = ""
    query: list[tuple[str, str]] = []
    in_query = shape.format_in_query or shape.carrier in QUERY_CARRIERS
    if shape.format_spelling is not None:
        (query if in_query and shape.carrier in BODY_CARRIERS else fields_).append(
            ("format", shape.format_spelling)
        )
    own = dict(fields_)
    for name, value in shape.extras:
        if name in REPEATABLE:
            if name in own:
                fields_.append((name, own[name]))
        else:
            fields_.append((name, value))
    params = tuple(_permute(fields_, shape.order))
    encoding, style = WIRE_FORMS[shape.carrier]
    headers = ((shape.header_name, header),) if header is not None else ()
    boundary = ""
    if encoding is Encoding.MULTIPART:
        boundary = _boundary(shape, [v for _, v in params])
    content_type = (
        "application/x-www-form-urlencoded" if shape.carrier is Carrier.POST_QUERY else None
    )
    return RequestSpec(
        method=shape.method,
        encoding=encoding,
        params=params,
        headers=headers,
        content_type=content_type,
        chunked=shape.chunked and shape.carrier in BODY_CARRIERS,
        query=tuple(query),
        style=style,
        boundary=boundary,
    )


def answer_format(shape: Shape) -> tuple[Format | None, str]:
    """The format a conformant server answers ``shape`` in, and the id that requires it.

    No format or an empty one: plain (RK-FMT-002); plain, json, xml: that
    format (RK-FMT-001), in another letter case (RK-FMT-003); anything else
    (unknown, prefix-like; in XML also schema-invalid): plain (RK-FMT-004).
    None means any format is conformant: a method other than GET and POST
    (RK-HTTP-008: a 405 whose body the page does not describe), and a json or
    xml format in the query of a POST (RK-HTTP-009 is a SHOULD: a server may
    not read that query, and then answers plain).
    """
    if shape.method not in ("GET", "POST"):
        return None, "RK-HTTP-008"
    spelling = shape.format_spelling
    if spelling is None or spelling == "":
        return Format.PLAIN, "RK-FMT-002"
    fmt = Format.parse(spelling)
    if fmt is None:
        return Format.PLAIN, "RK-FMT-004"
    in_post_query = shape.method == "POST" and (
        shape.carrier is Carrier.POST_QUERY or shape.format_in_query
    )
    if in_post_query and fmt is not Format.PLAIN:
        return None, "RK-HTTP-009"
    return fmt, ("RK-FMT-001" if spelling in ("plain", "json", "xml") else "RK-FMT-003")


_CARRIER_IDS = {
    Carrier.FORM: "RK-HTTP-002",
    Carrier.FORM_PARAMS: "RK-HTTP-002",
    Carrier.POST_QUERY: "RK-HTTP-009",
    **{c: "RK-HTTP-005" for c in MULTIPART_CARRIERS},
    **{c: "RK-HTTP-004" for c in XML_CARRIERS},
}


def relies_on(shape: Shape) -> tuple[str, ...]:
    """The requirements a conformant server meets by reading ``shape`` as
    meant: where its parameters travel (RK-HTTP-002/003/004/005, RK-HTTP-009
    for a query on a POST, RK-HTTP-008 for another method), chunked framing
    (RK-HTTP-006), the header's spelling (RK-AUTH-003), an empty header or
    empty fields (RK-AUTH-007, RK-AUTH-008) and unknown or repeated fields
    (RK-PARAM-004: the page never says a name appears once). When the server
    misreads the shape, the fault is one of these; a SHOULD among them means
    a refusal may only be reported as that SHOULD."""
    ids: list[str] = []
    if shape.carrier is Carrier.QUERY:
        ids.append("RK-HTTP-003" if shape.method == "GET" else "RK-HTTP-008")
    else:
        ids.append(_CARRIER_IDS[shape.carrier])
        if shape.method != "POST":
            ids.append("RK-HTTP-008")
    if shape.carrier in BODY_CARRIERS and shape.format_in_query and shape.format_spelling:
        ids.append("RK-HTTP-009")
    if shape.chunked:
        ids.append("RK-HTTP-006")
    header = shape.auth in (AuthForm.HEADER, AuthForm.BOTH, AuthForm.EMPTY_FIELDS)
    if header and shape.header_name != "apiKey":
        ids.append("RK-AUTH-003")
    ids += {AuthForm.EMPTY_HEADER: ["RK-AUTH-007"], AuthForm.EMPTY_FIELDS: ["RK-AUTH-008"]}.get(
        shape.auth, []
    )
    if shape.extras:
        ids.append("RK-PARAM-004")
    return tuple(dict.fromkeys(ids))


def either_outcome(shape: Shape) -> bool:
    """Whether the page leaves it to the server to accept ``shape`` at all: a
    multipart body whose parts carry a filename (PHP and other frameworks file
    them apart from the fields). A success and a refusal are then both
    conformant; either must still follow every other rule, and a refusal is
    followed by one question (:mod:`conformance.server.machine_follow`): the
    credentials as plain fields and a filename on the format part alone, which
    even a server that files such parts apart must accept (RK-HTTP-005)."""
    return shape.carrier is Carrier.MULTIPART_FILE


def empty_format_element(shape: Shape) -> bool:
    """Whether ``shape`` is an ``<Account>`` whose format child is empty
    (``<format></format>``). RK-FMT-002 makes an empty format the default
    (plain), but account.xsd's FormatType pattern does not match an empty
    string, so a server that validates the document may refuse it (the
    reference does): a refusal is conformant, and a success must be plain
    (RK-FMT-002), never another format."""
    return (
        shape.carrier in XML_CARRIERS and shape.format_spelling == "" and not shape.format_in_query
    )


def describe(shape: Shape) -> str:
    """``shape`` in a few words, for failure messages (it holds no value, so no secret)."""
    words = [f"{shape.method} {shape.carrier.value}", f"auth {shape.auth.value}"]
    if shape.auth in (AuthForm.HEADER, AuthForm.BOTH, AuthForm.EMPTY_FIELDS, AuthForm.EMPTY_HEADER):
        words.append(f"header {shape.header_name}")
    if shape.format_spelling is None:
        words.append("no format")
    else:
        where = " in the query" if shape.format_in_query and shape.carrier in BODY_CARRIERS else ""
        words.append(f"format={shape.format_spelling!r}{where}")
    words += ["chunked"] if shape.chunked else []
    words += [f"order {shape.order}"] if shape.order else []
    if shape.extras:
        words.append("extra fields " + ", ".join(name for name, _ in shape.extras))
    return ", ".join(words)
