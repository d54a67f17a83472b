"""The key lifecycle (RK-ROT-*): a regeneration replaces the key, and only it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conformance.errors import Blocked
from conformance.judging.registry import check
from conformance.judging.rules import FOUNDATION, KEYED
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec, build
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


@check("RK-ROT-004", party=S, requires=FOUNDATION[:3])
def credentials_keep_working(ctx: ServerContext) -> None:
    """RK-ROT-004: after a regeneration of either kind the same credentials regenerate again.

    A fresh login follows a regeneration by credentials and then one by the
    apiKey header, so that credentials that die after either kind are
    reported here, under this id, before any check that leans on them.
    """
    ex = ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials("json")), Format.JSON)
    if not succeeded(ctx, "RK-ROT-004", ex, "credentials must keep working after a regeneration"):
        return
    try:
        keyed = RequestSpec("POST", Encoding.FORM, (("format", "json"),), ctx.key_header())
        if ctx.send(keyed, Format.JSON, error_rule=None).new_key is None:
            return  # the header does not work: RK-AUTH-002 judges that, not this check
    except Blocked:
        return  # no key known, or the live rotation budget is spent
    ex = ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials("json")), Format.JSON)
    what = "credentials must keep working after a regeneration by the apiKey header"
    succeeded(ctx, "RK-ROT-004", ex, what)


@check("RK-ROT-006", party=S, requires=FOUNDATION)
def refused_request_keeps_key(ctx: ServerContext) -> None:
    """RK-ROT-006: a refused request leaves the current key valid.

    It runs before any other check sends a refusal, and first proves the key
    works, so that a failure here can only mean the refusal rotated the key.
    """
    ctx.send(RequestSpec("POST", Encoding.FORM, ctx.credentials("plain")), Format.PLAIN)
    probe = RequestSpec("POST", Encoding.FORM, (("format", "plain"),), ctx.key_header())
    if ctx.send(probe, Format.PLAIN).new_key is None:
        raise Blocked("the apiKey header did not work (see RK-AUTH-002)", causes=("RK-AUTH-002",))
    wrong = (("userId", ctx.account.user_id), ("password", ctx.account.password + "x"))
    refusals = (
        RequestSpec("POST", Encoding.FORM, (*wrong, ("format", "plain"))),
        RequestSpec("POST", Encoding.FORM, ctx.credentials("nonsense")),
        RequestSpec("POST", Encoding.FORM, (("format", "plain"),)),
    )
    for refusal in refusals:
        ctx.send(refusal, Format.PLAIN)
    spec = RequestSpec("POST", Encoding.FORM, (("format", "plain"),), ctx.key_header())
    succeeded(ctx, "RK-ROT-006", ctx.send(spec, Format.PLAIN), "the key must survive refusals")


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
    if ctx.live:
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
            ctx.saw_key(record.api_key)
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
