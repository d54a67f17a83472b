"""The request kinds of the lifecycle machine, and how a step becomes a request.

A :class:`Step` is abstract: "rotate the second account by its key" in a
request :class:`~conformance.server.space.Shape` of the input space
(method, carrier, header spelling, format spelling, field order, framing,
extra fields; the step's kind sets the auth form). Which key, which wrong
password, is decided when the step runs, from the model's state, so that a
shrunk sequence (steps left out) still means something: a step whose
precondition no longer holds (no revoked key yet) is passed over.

Wrong passwords and bad keys near the right ones are :class:`Near` values:
a Python transform for the request, and the same transform as a shell
expression over the secret's variable (``@V``), so that a replay script
sends the same wrong value without ever holding the secret (a NUL, which
no shell word holds, is written by the replay as ``%00``: see
:data:`~conformance.server.sequence.NUL_PADDED`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from hypothesis import strategies as st

from conformance.protocol.records import Format
from conformance.protocol.wire import RequestSpec
from conformance.server.model import Model, Presented
from conformance.server.sequence import NUL_PADDED
from conformance.server.space import AuthForm, Carrier, Shape, describe, legal, shapes, to_spec
from conformance.server.space_shape import EXTENSION_METHOD, methods_for, nearest_legal
from conformance.server.space_values import Malformed, malformed

MAIN, SECOND = "main", "second"
OTHER_METHODS = ("HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", EXTENSION_METHOD)
#: The plain shape: a form POST asking for JSON (logins and follow-up questions).
PLAIN = Shape("POST", Carrier.FORM, AuthForm.CREDENTIALS, format_spelling="json")
_RANDOM_HEX = "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')"
_RANDOM_HALF = "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"


class Kind(StrEnum):
    ROTATE_KEY = "rotate by the current key"
    ROTATE_CREDENTIALS = "rotate by the credentials"
    OLD_KEY = "a revoked key"
    WRONG_PASSWORD = "a wrong password near the right one"  # noqa: S105 (a label)
    BAD_KEY = "a bad key near the right one"
    OTHER_METHOD = "another method"
    BOTH = "the header and the credentials"
    EMPTY_HEADER = "an empty apiKey header beside the credentials"
    EMPTY_FIELDS = "empty userId and password beside the header"
    ANONYMOUS = "no credentials at all"
    HALF = "half the credentials"
    MALFORMED = "a request no server can read in full"


#: Kinds that may rotate a key on a correct server (a live budget counts them).
ROTATING = frozenset(
    {Kind.ROTATE_KEY, Kind.ROTATE_CREDENTIALS, Kind.BOTH, Kind.EMPTY_HEADER, Kind.EMPTY_FIELDS}
)


@dataclass(frozen=True)
class Step:
    kind: Kind
    account: str = MAIN
    shape: Shape = PLAIN  # its auth form is the kind's
    pick: int = 0  # which old key, which near value, which method
    by_key: bool = True  # another method: present the key (else the credentials)

    def label(self) -> str:
        return f"{self.kind} ({self.account}; {describe(self.shape)})"


@dataclass(frozen=True)
class Near:
    """A value near a secret: ``apply`` makes it, ``shell`` (``@V`` standing
    for the secret's variable) is the same inside double quotes in bash."""

    name: str
    apply: Callable[[str], str]
    shell: str
    fits: Callable[[str], bool] = lambda _: True
    # False: only a form or a query can carry it (a NUL: no curl argument holds
    # one, so the replay writes it as %00, and neither XML nor a multipart
    # value written by the shell can hold it)
    anywhere: bool = True


def _swap_ascii(text: str) -> str:
    return "".join(c.swapcase() if c.isascii() else c for c in text)


def _prefix(text: str) -> str:
    return text[: max(1, len(text) - 3)]


NEAR_PASSWORDS = (
    Near("one character more", lambda p: p + "x", "${@V}x"),
    Near(
        "one character short",
        lambda p: p[:-1],
        "${@V%?}",
        lambda p: len(p) > 1 and p[-1].isascii(),
    ),
    Near(
        "letter case flipped",
        _swap_ascii,
        '$(printf %s "$@V" | tr a-zA-Z A-Za-z)',
        lambda p: any(c.isascii() and c.isalpha() for c in p),
    ),
    Near("a trailing space", lambda p: p + " ", "${@V} "),
    Near("a leading space", lambda p: " " + p, " ${@V}"),
    Near("NUL-padded", lambda p: p + "\x00", "${@V}" + NUL_PADDED, anywhere=False),
)
#: Carriers that can hold any near value (see :attr:`Near.anywhere`).
TEXT_CARRIERS = frozenset({Carrier.QUERY, Carrier.POST_QUERY, Carrier.FORM, Carrier.FORM_PARAMS})


def _prefix_near(p: str) -> Near:
    n = max(1, len(p) - 3)
    return Near("a prefix", _prefix, f"${{@V:0:{n}}}", lambda q: len(q) > 1 and q[:n].isascii())


NEAR_KEYS = (
    Near("letter case flipped", str.upper, '$(printf %s "$@V" | tr a-f A-F)'),
    Near("one digit short", lambda k: k[:-1], "${@V%?}"),
    Near("one digit more", lambda k: k + "0", "${@V}0"),
)


def near_password(password: str, pick: int, salt: str) -> Near | None:
    options = [n for n in (*NEAR_PASSWORDS, _prefix_near(password)) if n.fits(password)]
    return options[pick % len(options)] if options else None


def near_key(key: str, pick: int, salt: str) -> Near:
    """A bad key near ``key``; ``salt`` (32 hex digits) makes the random ones."""
    half = key[:16] + salt[:16]
    options = (
        *NEAR_KEYS,
        Near("the first half shared", lambda _k: half, "${@V:0:16}" + _RANDOM_HALF),
        Near("random", lambda _k: salt, _RANDOM_HEX),
    )
    return options[pick % len(options)]


@dataclass(frozen=True)
class Concrete:
    """A step made concrete: the request, what it presents, and the derived
    values a replay script writes as shell expressions."""

    spec: RequestSpec
    presented: Presented
    derived: tuple[tuple[str, str, str], ...] = ()  # (field, source secret, shell template)
    near: str = ""  # what the wrong value is, in words
    shape: Shape = PLAIN
    malformed: Malformed | None = None  # a MALFORMED step's request
    asks: Format = Format.JSON  # the format a MALFORMED step's request asks for


#: The auth form each kind sends (HALF: the userId alone, or the password alone).
AUTH = {
    Kind.ROTATE_KEY: AuthForm.HEADER,
    Kind.ROTATE_CREDENTIALS: AuthForm.CREDENTIALS,
    Kind.OLD_KEY: AuthForm.HEADER,
    Kind.WRONG_PASSWORD: AuthForm.CREDENTIALS,
    Kind.BAD_KEY: AuthForm.HEADER,
    Kind.BOTH: AuthForm.BOTH,
    Kind.EMPTY_HEADER: AuthForm.EMPTY_HEADER,
    Kind.EMPTY_FIELDS: AuthForm.EMPTY_FIELDS,
    Kind.ANONYMOUS: AuthForm.NEITHER,
}


def shaped(step: Step, auth: AuthForm, method: str | None = None) -> Shape:
    """The step's shape with ``auth``, and a GET or POST (or ``method``)
    that goes with its carrier."""
    shape = replace(step.shape, auth=auth)
    wanted = (method,) if method else ("POST", "GET")
    usable = [m for m in wanted if m in methods_for(shape.carrier)]
    if usable:
        shape = replace(shape, method=usable[0])
    else:
        shape = replace(shape, method=wanted[0], carrier=Carrier.QUERY, chunked=False)
    shape = nearest_legal(shape)
    return shape if legal(shape) else replace(PLAIN, auth=auth)


def steps_strategy(kinds: tuple[Kind, ...], accounts: tuple[str, ...]) -> st.SearchStrategy[Step]:
    """One step: the kinds and accounts given, in any shape of the input space."""
    return st.builds(
        Step,
        kind=st.sampled_from(kinds),
        account=st.sampled_from(accounts),
        shape=shapes(),
        pick=st.integers(0, 11),
        by_key=st.booleans(),
    )


def concrete(step: Step, model: Model, salt: str) -> Concrete | None:
    """``step`` against the model's state, or None when its precondition fails
    (no current key, no revoked key, no near value)."""
    state = model.accounts.get(step.account)
    if state is None:
        return None
    user, password, key = state.user_id, state.password, state.current
    kind = step.kind
    if kind in (Kind.ROTATE_KEY, Kind.BAD_KEY, Kind.BOTH, Kind.EMPTY_FIELDS) and key is None:
        return None
    if kind is Kind.ROTATE_KEY:
        return _made(shaped(step, AuthForm.HEADER), user, None, key)
    if kind is Kind.OLD_KEY:
        if not state.revoked:
            return None
        old = state.revoked[-1 - step.pick % len(state.revoked)]
        return _made(shaped(step, AuthForm.HEADER), user, None, old)
    if kind is Kind.WRONG_PASSWORD:
        near = near_password(password, step.pick, salt)
        if near is None:
            return None
        if not near.anywhere and step.shape.carrier not in TEXT_CARRIERS:
            step = replace(step, shape=replace(step.shape, carrier=Carrier.FORM))
        shape = shaped(step, AuthForm.CREDENTIALS)
        derived = (("password", password, near.shell),)
        return _made(shape, user, near.apply(password), None, derived, near.name)
    if kind is Kind.BAD_KEY:
        assert key is not None
        bad = near_key(key, step.pick, salt)
        shape = shaped(step, AuthForm.HEADER)
        return _made(shape, user, None, bad.apply(key), (("apiKey", key, bad.shell),), bad.name)
    if kind is Kind.OTHER_METHOD:
        method = OTHER_METHODS[step.pick % len(OTHER_METHODS)]
        if step.by_key and key is not None:
            return _made(shaped(step, AuthForm.HEADER, method), user, None, key)
        return _made(shaped(step, AuthForm.CREDENTIALS, method), user, password, None)
    if kind is Kind.MALFORMED:
        fmt = tuple(Format)[step.pick % len(Format)]
        items = malformed(user, fmt)
        item = items[(step.pick // len(Format)) % len(items)]
        return Concrete(item.spec, presented(item.spec), near=item.label, malformed=item, asks=fmt)
    if kind is Kind.HALF:
        auth = AuthForm.PASSWORD_ONLY if step.pick % 2 else AuthForm.USER_ONLY
        return _made(shaped(step, auth), user, password, None)
    return _made(shaped(step, AUTH[kind]), user, password, key)


def _made(
    shape: Shape,
    user: str,
    password: str | None,
    key: str | None,
    derived: tuple[tuple[str, str, str], ...] = (),
    near: str = "",
) -> Concrete:
    spec = to_spec(shape, user, password, key)
    return Concrete(spec, presented(spec), derived, near, shape)


def presented(spec: RequestSpec) -> Presented:
    """What ``spec`` presents, as the model reads it."""
    user, password = spec.param("userId"), spec.param("password")
    return Presented(spec.method, user, password, spec.header("apiKey"))


FORMAT_FILE = frozenset({"format-file"})  # a filename on the format part alone


def format_file_only(made: Concrete) -> Concrete:
    """The follow-up of a refused multipart body whose parts all carry a
    filename, which a server may file apart from the fields (RK-HTTP-005's
    either outcome, :func:`~conformance.server.space.either_outcome`): the same
    credentials as plain fields, and ``format=json`` in a part with a filename.
    A server that files that part apart still reads the credentials (and
    answers plain, the default, or json); so a refusal is RK-HTTP-005's."""
    shape = replace(made.shape, format_spelling="json", format_in_query=False, order=0, extras=())
    return _again(made, shape, FORMAT_FILE)


def beside_a_form(made: Concrete) -> Concrete:
    """The follow-up of a POST whose format, asked in its query beside a body,
    was not read: the same beside a form body (is the query of a POST read?)."""
    shape = replace(made.shape, carrier=Carrier.FORM, order=0, extras=(), chunked=False)
    return _again(made, shape)


def _again(made: Concrete, shape: Shape, style: frozenset[str] | None = None) -> Concrete:
    """What ``made`` presents, sent in ``shape`` (with ``style``, when given)."""
    p = made.presented
    spec = to_spec(shape, p.user_id, p.password, p.key)
    spec = spec if style is None else replace(spec, style=style)
    return Concrete(spec, presented(spec), made.derived, made.near, shape)
