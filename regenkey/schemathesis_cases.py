"""What a Schemathesis case asks of this endpoint, and how credentials go in.

Read by the extension (:mod:`regenkey.schemathesis`): which formats a correct
server may answer a case in, whether a case is a clean apiKey request (the only
kind whose refusal proves RK-ROT-003), and where the two credential forms go
for each operation (the query of a GET; the form, multipart or ``<Account>``
body of a POST).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from schemathesis import Case, GenerationMode
from schemathesis.core import NOT_SET

from conformance import ENDPOINT_PATH, Format

CREDENTIAL_FIELDS = ("userId", "password")
KEY_HEADER = "apiKey"
FORM = "application/x-www-form-urlencoded"
BODY_MEDIA = (FORM, "multipart/form-data", "application/xml", "text/xml")
ALL_FORMATS = frozenset(Format)
BODY_CREDENTIALS_ENV = "REGENKEY_SCHEMATHESIS_BODY_CREDENTIALS"


@dataclass(frozen=True)
class Credentials:
    """The sandbox account, from the environment (never the command line)."""

    user_id: str | None
    password: str | None
    api_key: str | None

    @classmethod
    def from_env(cls) -> Credentials:
        env = os.environ
        return cls(
            env.get("REGENKEY_USER_ID") or None,
            env.get("REGENKEY_PASSWORD") or None,
            env.get("REGENKEY_API_KEY") or None,
        )

    @property
    def has_password(self) -> bool:
        return self.user_id is not None and self.password is not None


@dataclass(frozen=True)
class Asked:
    """The formats a correct server may answer in, and how the format was asked.

    ``value`` is the one ``format`` value sent (None: none sent, or too many
    or not a string to judge a format rule by).
    """

    formats: frozenset[Format]
    value: str | None = None
    judged: bool = True

    @property
    def unknown(self) -> bool:
        return self.value is not None and Format.parse(self.value) is None

    @property
    def mixed_case(self) -> bool:
        """A known format spelled in other than lower case (``JSon``)."""
        return self.value is not None and not self.unknown and self.value not in set(Format)

    def plain_sailing(self, case_proven: bool) -> bool:
        """Nothing about the format can make a correct server refuse the request."""
        if not self.judged or self.unknown or self.value == "":
            return False
        return case_proven or not self.mixed_case

    def rule(
        self,
        success: bool,
        authentic: bool,
        case_proven: bool,
        answered: Format = Format.PLAIN,
        lower_proven: bool = False,
    ) -> str | None:
        """The id an answer in format ``answered``, not asked for, breaks (None:
        cannot tell). ``lower_proven``: the value's lower-case spelling got its
        format on this carrier before (so the server reads the format there)."""
        if not self.judged:
            return None
        if self.value is None or self.value == "":
            return "RK-FMT-002"
        if self.unknown:
            return "RK-FMT-004"
        if success and self.mixed_case and answered is Format.PLAIN and not case_proven:
            # "XML" answered by default: the letter case hid the value (RK-FMT-003) if
            # "xml" works here, else it cannot be told from RK-FMT-001
            return "RK-FMT-003" if lower_proven else None
        if success:
            return "RK-FMT-001"
        if self.value in set(Format) or case_proven:
            return "RK-ERR-005"
        # A refusal of "JSON" in plain: the value was taken as unknown (RK-FMT-003)
        # if the credentials were right, else it cannot be told from RK-ERR-005.
        return "RK-FMT-003" if authentic else None


def kind(case: Case[Any]) -> str:
    """The request kind: method and body media type."""
    media = (case.media_type or "").split(";")[0].strip().lower() if _has_body(case) else ""
    return f"{case.method.upper()} {media or '-'}"


def is_ours(case: Case[Any]) -> bool:
    """A GET or POST on the endpoint: the only requests with a body to judge."""
    return case.path == ENDPOINT_PATH and case.method.upper() in ("GET", "POST")


def is_positive(case: Case[Any]) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode is GenerationMode.POSITIVE


def _body_fields(case: Case[Any]) -> MutableMapping[str, Any] | None:
    """The body as fields, when it is a form, multipart or ``<Account>`` body."""
    media = (case.media_type or "").split(";")[0].strip().lower()
    body = case.body
    if case.method.upper() == "POST" and media in BODY_MEDIA and isinstance(body, MutableMapping):
        return body
    return None


def _shape_probe(case: Case[Any]) -> bool:
    """Schemathesis' malformed or unsupported Content-Type probes: the body is unreadable."""
    try:
        from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, coverage_scenario
    except ImportError:  # pragma: no cover - a Schemathesis without these probes
        return False
    return coverage_scenario(case) in REQUEST_SHAPE_PROBES


def _has_body(case: Case[Any]) -> bool:
    return case.body is not None and case.body is not NOT_SET


def asked(case: Case[Any]) -> Asked:
    """The formats a request asked for (``format`` in the query or the body).

    Missing means plain (RK-FMT-002), an unknown value plain too (RK-FMT-004).
    A POST may also be answered as if its query were not read (RK-HTTP-009 is
    a SHOULD) or its body were not (that is RK-HTTP-002/004/005, not a format
    rule), so plain and each format it named are all legal there. A value
    that is not a string, or a body the server cannot read, make every format
    legal.
    """
    values: list[object] = []
    query = case.query if isinstance(case.query, Mapping) else {}
    if "format" in query:
        values.append(query["format"])
    fields = _body_fields(case)
    if fields is not None and "format" in fields:
        values.append(fields["format"])
    if _has_body(case) and (fields is None or _shape_probe(case)):
        return Asked(ALL_FORMATS, judged=False)
    if not all(isinstance(v, str) for v in values):
        return Asked(ALL_FORMATS, judged=False)
    texts = [str(v) for v in values]
    formats = {Format.parse(v) or Format.PLAIN for v in texts} or {Format.PLAIN}
    if case.method.upper() == "POST":
        formats.add(Format.PLAIN)
    value = texts[0] if len(set(texts)) == 1 else None
    judged = len(set(texts)) <= 1
    return Asked(frozenset(formats), value, judged)


def format_carrier(case: Case[Any]) -> str:
    """Where the ``format`` value travelled: the request kind and the place
    (query, body or both). A server may read the letter case in one place and
    not in another, so a proof that it ignores the case holds for its carrier only."""
    query = case.query if isinstance(case.query, Mapping) else {}
    fields = _body_fields(case) or {}
    places = [name for name, there in (("query", query), ("body", fields)) if "format" in there]
    return f"{kind(case)} {'+'.join(places) or 'none'}"


def sent_key(case: Case[Any]) -> str | None:
    """The apiKey header's value (the name is case-insensitive)."""
    for name, value in (case.headers or {}).items():
        if name.lower() == KEY_HEADER.lower() and isinstance(value, str):
            return value
    return None


def _carries_credentials(case: Case[Any]) -> bool:
    query = case.query if isinstance(case.query, Mapping) else {}
    fields = _body_fields(case) or {}
    return any(name in query or name in fields for name in CREDENTIAL_FIELDS)


def clean_key_request(case: Case[Any], case_proven: bool) -> bool:
    """A positive request authenticated by the apiKey header alone, asking for a
    known format: a correct server must accept its current key on it."""
    if not (is_ours(case) and is_positive(case)) or sent_key(case) is None:
        return False
    if _carries_credentials(case) or _shape_probe(case):
        return False
    if _has_body(case) and _body_fields(case) is None:
        return False
    return asked(case).plain_sailing(case_proven)


def _drop_key_header(case: Case[Any]) -> None:
    for name in [n for n in (case.headers or {}) if n.lower() == KEY_HEADER.lower()]:
        del case.headers[name]


def strip_credentials(case: Case[Any]) -> None:
    """Remove generated userId/password (query and body)."""
    if isinstance(case.query, MutableMapping):
        for name in CREDENTIAL_FIELDS:
            case.query.pop(name, None)
    fields = _body_fields(case)
    if fields is not None:
        for name in CREDENTIAL_FIELDS:
            fields.pop(name, None)


def body_credentials_allowed() -> bool:
    """Schemathesis writes form and XML bodies into its reports unmasked; the
    password goes there only when the user opts in (docs/SCHEMATHESIS.md)."""
    return os.environ.get(BODY_CREDENTIALS_ENV, "") == "1"


def can_put_password(case: Case[Any], creds: Credentials) -> bool:
    """Where Schemathesis masks it (the query of a GET), or anywhere when opted in."""
    return creds.has_password and (case.method.upper() == "GET" or body_credentials_allowed())


def put_password(case: Case[Any], creds: Credentials) -> None:
    """userId and password where the operation takes them."""
    _drop_key_header(case)
    strip_credentials(case)
    values = {"userId": creds.user_id, "password": creds.password}
    fields = _body_fields(case)
    if fields is not None:
        fields.update(values)
    elif case.method.upper() == "POST" and not _has_body(case):
        case.body = dict(values)
        case.media_type = FORM
    else:
        query = dict(case.query) if isinstance(case.query, Mapping) else {}
        query.update(values)
        case.query = query


def put_key(case: Case[Any], key: str) -> None:
    """The apiKey header, alone."""
    strip_credentials(case)
    _drop_key_header(case)
    case.headers[KEY_HEADER] = key
