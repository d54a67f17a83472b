"""How the lifecycle machine reads an answer: a refusal it can follow, or a key
in an answer the per-response judge does not read as a body."""

from __future__ import annotations

import re

from conformance.protocol.records import Format
from conformance.server.context import Exchange
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
