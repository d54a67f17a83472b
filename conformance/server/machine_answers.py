"""How the lifecycle machine reads an answer: a refusal it can follow, or a key
in an answer the per-response judge does not read as a body."""

from __future__ import annotations

import re

from conformance.protocol.records import Format
from conformance.server.context import Exchange
from conformance.server.space import Shape
from conformance.server.space_shape import BODY_CARRIERS
from conformance.validation.bodies import validate_body

#: A value that needs no encoding in any carrier.
PLAIN_VALUE = re.compile(r"[A-Za-z0-9._~-]*")


def is_refusal(ex: Exchange) -> bool:
    """Whether an answer that carries no key is a refusal the model can follow
    (an error envelope, any 4xx or 3xx); a 2xx that is no envelope may have
    rotated the key unseen."""
    if ex.status in (404, 405, 413) or 300 <= ex.status < 500:
        return True
    if ex.fmt is None:
        errors = (validate_body(ex.body, fmt).record for fmt in Format)
        return any(r is not None and not r.is_success for r in errors)
    record = ex.record
    return (record is not None and not record.is_success) or ex.answered_in is not None


def key_in(ex: Exchange) -> str | None:
    """The new key a 2xx answer carries in any format (another method's answer)."""
    if not 200 <= ex.status < 300:
        return None
    for fmt in Format:
        record = validate_body(ex.body, fmt).record
        if record is not None and record.is_success and record.api_key:
            return record.api_key
    return None


#: A key that stopped working: which of these is to blame is settled on the
#: shortest sequence that still shows it (the suspects left in it).
DEAD_KEY = frozenset({"RK-ROT-003", "RK-ROT-006", "RK-ROT-008", "RK-ROT-009"})


def family(rid: str) -> str:
    """What a shrunk sequence must still show: the same id, or a dead key."""
    return "dead key" if rid in DEAD_KEY else rid


def query_format_ignored(body: bytes, shape: Shape) -> str | None:
    """What RK-HTTP-009 (a SHOULD) says of a success to ``shape``, a POST with
    json or xml asked in its query (beside a body, or with every parameter
    there), when ``body`` is a success in plain and not in the format asked:
    the server did not read the query. None when it did, or when the format's
    letter case could be a second cause (only the exact names count)."""
    asked = Format.parse(shape.format_spelling or "")
    if asked is None or asked is Format.PLAIN or shape.format_spelling != asked.value:
        return None
    if validate_body(body, asked).record is not None:
        return None
    plain = validate_body(body, Format.PLAIN).record
    if plain is None or not plain.is_success:
        return None
    where = f" beside a {shape.carrier.value} body" if shape.carrier in BODY_CARRIERS else ""
    return f"format={asked.value} in the query of a POST{where} should be read (a success in plain)"
