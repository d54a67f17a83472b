"""What the lifecycle machine plays: its plan (how many steps, what a live
budget leaves out) and the covering prefix every run begins with."""

from __future__ import annotations

from dataclasses import dataclass, replace

from conformance.protocol.records import Format
from conformance.server.machine_steps import (
    MAIN,
    NEAR_PASSWORDS,
    OTHER_METHODS,
    PLAIN,
    SECOND,
    Kind,
    Step,
)
from conformance.server.space import COVERING_SIZE, AuthForm, Carrier, Shape, schedule
from conformance.server.space_shape import (
    BODY_CARRIERS,
    HEADER_NAMES,
    XML_CARRIERS,
    nearest_legal,
)
from conformance.server.space_values import malformed

SEQUENCE_LENGTH = 12
#: Every near password once: those of NEAR_PASSWORDS and a prefix.
NEAR_COUNT = len(NEAR_PASSWORDS) + 1


@dataclass(frozen=True)
class Plan:
    steps: int
    second: bool
    shrink: bool
    leaves_out: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"lifecycle machine: {self.steps} steps in sequences of {SEQUENCE_LENGTH}"
        text += ", the second account interleaved" if self.second else ""
        text += ", failures shrunk" if self.shrink else ", failures not shrunk"
        return text + "".join(f"; leaves out {w}" for w in self.leaves_out)


def plan(
    max_examples: int,
    second: bool,
    rotations_left: int | None = None,
    bad_logins_left: int | None = None,
) -> Plan:
    """How many steps the machine plays: the covering prefix and 3 per
    example, or, live, what the rotation budget allows (each step rotates at
    most once, and each sequence's login once more)."""
    steps = len(covering(0, second)) + 3 * max_examples
    if rotations_left is None:
        return Plan(steps, second, shrink=True)
    out = ["the second account (RK-ROT-008 is not judged live)", "shrinking of a failure"]
    room = max(0, rotations_left - rotations_left // SEQUENCE_LENGTH - 2)
    if room < steps:
        out.append(f"{steps - room} of {steps} steps (--max-rotations)")
    if bad_logins_left is not None:
        out.append(f"wrong passwords beyond {bad_logins_left} (--max-bad-logins)")
    return Plan(min(steps, room), False, shrink=False, leaves_out=tuple(out))


def covering(seed: int, second: bool) -> list[Step]:
    """Every kind once, each followed by a use of the main account's key
    (what RK-ROT-006, RK-ROT-008 and RK-ROT-009 need), every other method,
    every near value, every carrier (the credentials' fields out of the page's
    order), json and xml asked in the query of a POST beside a body, an empty
    ``<format/>`` in an ``<Account>``, every
    malformed request (each asking for a format), and the input space's
    covering block of shapes
    (:func:`~conformance.server.space.schedule`: every value of every dimension)."""
    use = Kind.ROTATE_KEY
    kinds = [k for k in Kind if k not in (use, Kind.MALFORMED)]
    block = schedule(seed, COVERING_SIZE)
    shape = iter(block * 4)
    steps: list[Step] = []
    for n, kind in enumerate(kinds):
        account = SECOND if second and kind is Kind.ROTATE_KEY else MAIN
        if second and kind in (Kind.ROTATE_CREDENTIALS, Kind.OLD_KEY) and n % 2:
            account = SECOND
        steps.append(Step(kind, account, next(shape), pick=seed + n, by_key=True))
        steps.append(Step(use, MAIN, PLAIN, pick=n))  # a use in the plain shape
    if second:
        steps[:0] = [Step(use, SECOND, PLAIN), Step(use, MAIN, PLAIN, pick=1)]
    heads = [Step(Kind.OTHER_METHOD, MAIN, PLAIN, pick=0), Step(use, MAIN, PLAIN)]
    others = [
        Step(Kind.OTHER_METHOD, MAIN, next(shape), pick=p, by_key=p % 2 == 1)
        for p in range(1, len(OTHER_METHODS))
    ]
    # every wrong password and every bad key near the right one, once
    carriers = list(Carrier)

    def plainly(n: int) -> Shape:  # each carrier in turn, asking for json
        carrier = carriers[(seed + n) % len(carriers)]
        return Shape("POST", carrier, AuthForm.CREDENTIALS, format_spelling="json")

    nears = [Step(Kind.WRONG_PASSWORD, MAIN, plainly(p), pick=p) for p in range(NEAR_COUNT)]
    nears += [Step(Kind.BAD_KEY, MAIN, plainly(p), pick=p) for p in range(5)]
    tail = [s for o in others for s in (o, Step(use, MAIN, PLAIN, pick=3))]
    # every carrier, asking for a format by its plain name: a rotation by the
    # credentials (its fields in another order than the page's), a revoked
    # key, and a rotation by the key
    formats = ("json", "xml", "plain")
    names = HEADER_NAMES
    routes = [
        Step(kind, MAIN, _route(carrier, names[n % len(names)], fmt, 1 + (seed + n) % 5, kind))
        for n, carrier in enumerate(Carrier)
        for kind, fmt in zip(_ROUTE_KINDS, formats[n % 3 :] + formats[: n % 3], strict=True)
    ]
    # json and xml asked in the query of a POST beside a body (RK-HTTP-009)
    bodies = sorted(BODY_CARRIERS)
    beside = [
        Step(Kind.ROTATE_CREDENTIALS, MAIN, _beside(bodies[(seed + n) % len(bodies)], fmt))
        for n, fmt in enumerate(("json", "xml"))
    ]
    # an empty <format/> in an <Account> (RK-FMT-002: plain, or a refusal)
    xml = sorted(XML_CARRIERS)
    empty = Shape("POST", xml[seed % len(xml)], AuthForm.CREDENTIALS, format_spelling="")
    beside.append(Step(Kind.ROTATE_CREDENTIALS, MAIN, empty))
    # every malformed request, asking for each format in turn
    count = len(malformed("u", Format.JSON))
    bad = [Step(Kind.MALFORMED, MAIN, PLAIN, pick=n * 3 + (seed + n) % 3) for n in range(count)]
    return heads + steps + tail + routes + beside + nears + bad


def _route(carrier: Carrier, header: str, fmt: str, order: int, kind: Kind) -> Shape:
    """A route of the covering prefix; the credentials' fields in ``order``."""
    shape = Shape("POST", carrier, AuthForm.CREDENTIALS, header, fmt)
    if kind is Kind.ROTATE_CREDENTIALS:
        shape = nearest_legal(replace(shape, order=order))
    return shape


def _beside(carrier: Carrier, fmt: str) -> Shape:
    """The credentials in a ``carrier`` body and ``format=fmt`` in the query."""
    return Shape("POST", carrier, AuthForm.CREDENTIALS, format_spelling=fmt, format_in_query=True)


_ROUTE_KINDS = (Kind.ROTATE_CREDENTIALS, Kind.OLD_KEY, Kind.ROTATE_KEY)
