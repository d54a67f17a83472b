"""The key lifecycle as model-based testing (RK-ROT-007..009, RK-KEY-003; issue 15).

:func:`lifecycle_follows_the_model` plays generated request sequences
against the state model (:mod:`conformance.server.machine`); every answer
is judged against the model's prediction, and a failure cites the
requirement the prediction broke, with the shrunk sequence as its replay.
:func:`keys_are_unpredictable` then judges every key the run was issued.
"""

from __future__ import annotations

import time

from conformance.errors import Blocked
from conformance.judging.registry import check
from conformance.judging.rules import KEYED
from conformance.server.context import ServerContext
from conformance.server.machine import Machine
from conformance.server.machine_keys import MIN_KEYS, unpredictability_problem
from conformance.server.machine_plan import plan
from conformance.spec.catalogue import Party

S = Party.SERVER
LIFECYCLE = ("RK-ROT-001", "RK-ROT-002", "RK-ROT-003", "RK-ROT-004")
_NEEDS = {
    "RK-ROT-008": "a regeneration of the second account followed by a use of the main key",
    "RK-ROT-009": "a request of another method followed by a use of the key",
    "RK-ROT-007": "a regeneration after a key was revoked",
}


@check(
    "RK-ROT-007",
    "RK-ROT-008",
    "RK-ROT-009",
    party=S,
    requires=(*KEYED, *LIFECYCLE),
)
def lifecycle_follows_the_model(ctx: ServerContext) -> None:
    """RK-ROT-007: over generated request sequences every answer is the one the key model predicts.

    No key is issued twice (RK-ROT-007), a regeneration replaces the key of
    the account it authenticated only (RK-ROT-008), and a request that
    returned no new key, of any method, rotates nothing (RK-ROT-009); the
    model also holds every key-lifecycle and authentication rule
    (RK-ROT-002..006, RK-AUTH-004..008) on every route, and a break of one of
    those is reported under its own id.
    """
    rotations_left = None
    if ctx.max_rotations is not None:
        rotations_left = ctx.max_rotations - ctx.rotations
    bad_left = None if ctx.max_bad_logins is None else ctx.max_bad_logins - ctx.bad_logins
    chosen = plan(ctx.max_examples, ctx.tricky is not None, rotations_left, bad_left)
    if chosen.steps < 2:
        raise Blocked("the rotation budget leaves no room for the lifecycle machine")
    machine = Machine(ctx, chosen)
    for fault in machine.run():
        message = fault.message
        if fault.local:
            ctx.sequence.restore(fault.snapshot)
        else:  # no replay: the key came from before the sequence began
            ctx.sequence.start(None)
            message += " (the key was first issued before this sequence: no replay script)"
        ctx.fail(fault.rid, fault.exchange, message, fault.expected, fault.actual)
    for rid, needs in _NEEDS.items():
        if not ctx.result.result_for(rid).checks_run:
            reason = f"{ctx.check_name}: not judged, no sequence held {needs}"
            if rid == "RK-ROT-008" and ctx.tricky is None:
                reason = f"{ctx.check_name}: not judged, no second account (--tricky-user-id)"
            ctx.result.record_skip(rid, reason)


# destructive=True although it sends nothing: a live run sends the checks that
# rotate nothing first, and this one must come after every key was issued.
@check("RK-KEY-003", party=S, destructive=True)
def keys_are_unpredictable(ctx: ServerContext) -> None:
    """RK-KEY-003: the run's keys show no structure a random generator would not.

    The keys are judged together (conformance/server/machine_keys.py): hex
    digits uniform (chi-square), no digit position biased, no prefix or
    suffix shared beyond chance, no key repeating itself, successive keys
    not close as numbers, no key a hash of a small counter or of a timestamp
    of the run. Each of the six tests fails a random generator with
    probability under 1e-8, so a correct server fails this check less often
    than once in 10**7 runs (the catalogue asks for under 1e-6). Fewer than
    16 distinct keys are not judged (SKIP, with the reason).
    """
    accounts = [a for a in (ctx.account, ctx.tricky) if a is not None]
    keys = list(dict.fromkeys(k for a in accounts for k in a.issued))
    if len(keys) < MIN_KEYS:
        raise Blocked(f"{len(keys)} distinct keys were issued; {MIN_KEYS} are needed to judge")
    started = ctx.result.started.timestamp() if ctx.result.started else None
    window = (started, time.time()) if started is not None else None
    problem = unpredictability_problem(keys, window)
    ctx.expect(
        "RK-KEY-003",
        problem is None,
        None,
        "keys must be unpredictable",
        f"no structure in {len(keys)} keys beyond chance",
        problem or "",
    )
