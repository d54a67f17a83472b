"""The follow-up question behind an RK-SAFE-002 finding: an echo, or the
server's own words?

A response may hold a submitted password by chance. A password the suite drew
(``a``, ``is``, ``required``) can be a word of a correct server's reason ("a
password is required"). Before such a finding stands, the same request is
sent again with every ``password`` parameter that held it replaced by a
stand-in of the same length sharing no character with it. If the second
response still holds the password, the text was the server's own, and no
echo: RK-SAFE-002 is not blamed (one fault, one id; no false red).

The question is not asked where it could harm the account or the run: in a
live run (it would be one more wrong-password attempt), for a request that
carried a key the suite holds (the stand-in request could rotate it), or
where the password travels in a raw body, which cannot be rewritten safely.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import replace

from conformance.judging.spellings import echo_in
from conformance.protocol.wire import Encoding, RequestSpec

#: Send a request, answer (headers as name/value pairs, body); raises when the
#: target does not answer.
Ask = Callable[[RequestSpec], tuple[Iterable[tuple[str, str]], bytes]]

_ALPHABET = "qxzjkvwQXZJKVW23456789"


def stand_in(password: str, seed: int) -> str:
    """A value of the password's length that shares no character with it
    (the same for the same seed and password, so runs replay)."""
    rng = random.Random(f"{seed}:{password}")  # noqa: S311 (a test value, not a secret)
    alphabet = [c for c in _ALPHABET if c not in password] or ["q"]
    return "".join(rng.choice(alphabet) for _ in range(max(1, len(password))))


def with_stand_in(spec: RequestSpec, password: str, stand: str) -> RequestSpec | None:
    """``spec`` with every ``password`` parameter equal to ``password`` replaced by
    ``stand``; None where the password did not travel as such a parameter."""
    if spec.encoding is Encoding.RAW or password in spec.path.partition("?")[2]:
        return None
    params = tuple(
        (name, stand if name.lower() == "password" and value == password else value)
        for name, value in spec.params
    )
    return replace(spec, params=params) if params != spec.params else None


def is_coincidence(
    ask: Ask, spec: RequestSpec, password: str, seed: int, held_keys: set[str]
) -> bool:
    """Whether the password comes back even when another one is sent (never
    asked for a request carrying one of ``held_keys``: it could rotate it)."""
    again = with_stand_in(spec, password, stand_in(password, seed))
    if again is None or spec.header("apiKey") in held_keys:
        return False
    try:
        headers, body = ask(again)
    except Exception:  # no second answer: the first finding stands
        return False
    return echo_in(password, headers, body) is not None
