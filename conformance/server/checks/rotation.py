"""The key lifecycle (RK-ROT-*, RK-KEY-001): a regeneration replaces the key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conformance.errors import Blocked
from conformance.judging.registry import check
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec, build
from conformance.server.checks.auth import KEYED
from conformance.server.context import ServerContext
from conformance.server.verdicts import refused, succeeded
from conformance.spec.catalogue import Party
from conformance.validation.bodies import validate_body

S = Party.SERVER
_ENCODINGS = (("POST", Encoding.FORM), ("GET", Encoding.QUERY))


def _rotate(ctx: ServerContext, via_header: bool, step: int) -> str:
    method, encoding = _ENCODINGS[step % len(_ENCODINGS)]
    fmt = list(Format)[step % 3]
    if via_header:
        spec = RequestSpec(method, encoding, (("format", fmt.value),), ctx.key_header())
    else:
        spec = RequestSpec(method, encoding, ctx.credentials(fmt.value))
    ex = ctx.send(spec, fmt)
    if ex.new_key is None:
        raise Blocked(f"a regeneration ({'header' if via_header else 'credentials'}) failed")
    return ex.new_key


@check(
    "RK-ROT-001",
    "RK-ROT-002",
    "RK-ROT-003",
    "RK-ROT-004",
    party=S,
    requires=(*KEYED, "RK-HTTP-003"),
)
def key_lifecycle_holds(ctx: ServerContext) -> None:
    """RK-ROT-001: rotations by credentials and by header, interleaved, keep every rule.

    After each rotation the new key differs from the old (RK-ROT-001), the
    old key is refused (RK-ROT-002), the new key works (RK-ROT-003) and the
    credentials keep working (RK-ROT-004).
    """
    steps = max(2, min(ctx.max_examples // 5, 8))
    if ctx.account.api_key is None:
        _rotate(ctx, via_header=False, step=0)
    for step in range(steps):
        via_header = ctx.rng.random() < 0.5
        old = ctx.account.api_key
        new = _rotate(ctx, via_header, step)
        ctx.expect(
            "RK-ROT-001",
            new != old,
            None,
            "a regeneration must return a new key",
            "a key different from the previous one",
            "the same key again",
        )
        if new == old:
            continue  # revocation of a key that is also the new key cannot be judged
        spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), ctx.key_header(old))
        refused(ctx, "RK-ROT-002", ctx.send(spec, Format.JSON), "the previous key must be revoked")
        spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), ctx.key_header(new))
        succeeded(ctx, "RK-ROT-003", ctx.send(spec, Format.JSON), "the new key must work")
        spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"))
        succeeded(ctx, "RK-ROT-004", ctx.send(spec, Format.JSON), "credentials must keep working")


@check("RK-ROT-005", party=S, requires=(*KEYED, "RK-ROT-002"))
def concurrent_rotation_leaves_one_key(ctx: ServerContext) -> None:
    """RK-ROT-005: after concurrent regenerations exactly one returned key is valid."""
    if ctx.max_rotations is not None:
        # Many rotations at once, and keys that cannot be written to the key
        # file in order: never on a live account.
        raise Blocked("not run live: it regenerates the key many times at once")
    count = max(4, min(ctx.max_examples, 24))
    wire = build(ctx.base_url, RequestSpec("POST", Encoding.FORM, ctx.credentials("json")))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: ctx.fetch(wire), range(count)))
    ctx.result.cases += count
    keys: list[str] = []
    for _status, _headers, body in answers:
        record = validate_body(body, Format.JSON).record
        if record is not None and record.api_key and record.api_key not in keys:
            keys.append(record.api_key)
            ctx.redactor.add(record.api_key)
    if not keys:
        raise Blocked("no concurrent regeneration succeeded")
    working = []
    for key in keys:
        spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), (("apiKey", key),))
        if ctx.send(spec, Format.JSON).new_key is not None:
            working.append(key)
    ctx.expect(
        "RK-ROT-005",
        len(working) == 1,
        None,
        f"{count} concurrent regenerations must leave exactly one valid key",
        "exactly one of the returned keys works",
        f"{len(working)} of {len(keys)} returned keys work",
    )
