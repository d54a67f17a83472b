"""The lifecycle model predicts what a conformant server answers (issue 15),
and the key statistics tell random keys from structured ones (RK-KEY-003).
Pure unit tests: no server, no network."""

from __future__ import annotations

import hashlib
import random
import time
import uuid

import pytest

from conformance.server.machine_keys import (
    MIN_KEYS,
    binomial_tail,
    chi_square_tail,
    unpredictability_problem,
)
from conformance.server.model import Model, Presented

A, B = "a" * 32, "b" * 32


def _model() -> Model:
    model = Model()
    model.add("main", "user", "pw-main")
    model.add("second", "other", "pw-second")
    return model


def _login(model: Model, name: str, key: str, step: int = 0) -> None:
    state = model.accounts[name]
    p = Presented("POST", state.user_id, state.password)
    assert model.observe(step, p, model.predict(p), key).broken is None


# --- predictions ------------------------------------------------------------------------


def test_credentials_and_the_current_key_rotate_their_own_account() -> None:
    model = _model()
    assert model.predict(Presented("POST", "user", "pw-main")).rotation.rotates == "main"  # type: ignore[union-attr]
    _login(model, "second", B)
    prediction = model.predict(Presented("GET", key=B))
    assert prediction.expects_key is True
    assert prediction.branches[0].rotates == "second"
    assert prediction.branches[0].rid == "RK-AUTH-002"


@pytest.mark.parametrize(
    ("presented", "rid"),
    [
        (Presented("POST", "user", "pw-mainx"), "RK-AUTH-005"),
        (Presented("POST", "user", "PW-MAIN"), "RK-AUTH-005"),
        (Presented("POST", "user", None), "RK-AUTH-005"),
        (Presented("POST", None, "pw-main"), "RK-AUTH-005"),
        (Presented("POST"), "RK-AUTH-004"),
        (Presented("POST", key=""), "RK-AUTH-004"),
        (Presented("POST", key="c" * 32), "RK-AUTH-006"),
        (Presented("HEAD", "user", "pw-main"), "RK-ROT-009"),
    ],
)
def test_what_must_be_refused_is_refused_under_its_own_id(presented: Presented, rid: str) -> None:
    prediction = _model().predict(presented)
    assert prediction.expects_key is False
    assert prediction.branches[0].rid == rid


def test_a_revoked_key_must_be_refused_under_rk_rot_002() -> None:
    model = _model()
    _login(model, "main", A)
    _login(model, "main", B, 1)
    assert model.accounts["main"].revoked == [A]
    prediction = model.predict(Presented("POST", key=A))
    assert (prediction.expects_key, prediction.branches[0].rid) == (False, "RK-ROT-002")


def test_the_empty_header_and_the_empty_fields_count_as_absent() -> None:
    model = _model()
    _login(model, "main", A)
    beside = model.predict(Presented("POST", "user", "pw-main", key=""))
    assert (beside.expects_key, beside.branches[0].rid) == (True, "RK-AUTH-007")
    fields = model.predict(Presented("POST", "", "", key=A))
    assert (fields.expects_key, fields.branches[0].rotates) == (True, "main")


def test_header_and_credentials_together_accept_either_branch_and_follow_it() -> None:
    model = _model()
    _login(model, "main", A)
    # a revoked header beside valid credentials: RK-AUTH-009 leaves it open
    _login(model, "main", B, 1)
    both = Presented("POST", "user", "pw-main", key=A)
    prediction = model.predict(both)
    assert prediction.expects_key is None
    assert model.observe(2, both, prediction, None).broken is None  # the header was used
    assert model.accounts["main"].current == B
    new = "c" * 32
    assert model.observe(3, both, prediction, new).broken is None  # the credentials were used
    assert model.accounts["main"].current == new


def test_another_method_may_be_answered_as_a_post_but_head_never_rotates() -> None:
    model = _model()
    _login(model, "main", A)
    put = model.predict(Presented("PUT", key=A))
    assert put.expects_key is None and {b.rid for b in put.branches} >= {"RK-ROT-009"}
    assert model.predict(Presented("HEAD", key=A)).expects_key is False


# --- observations ------------------------------------------------------------------------


def test_a_refusal_of_a_rotation_and_a_key_for_a_refusal_break_the_branch_id() -> None:
    model = _model()
    _login(model, "main", A)
    rotate = Presented("POST", key=A)
    obs = model.observe(1, rotate, model.predict(rotate), None)
    assert obs.broken == "RK-AUTH-002"
    wrong = Presented("POST", "user", "pw-main ")
    obs = model.observe(2, wrong, model.predict(wrong), B)
    assert obs.broken == "RK-AUTH-005"
    assert model.accounts["main"].current == B  # the model follows what the server did


def test_a_key_issued_again_breaks_rk_rot_007_and_the_same_key_rk_rot_001() -> None:
    model = _model()
    _login(model, "main", A)
    _login(model, "main", B, 1)
    creds = Presented("POST", "user", "pw-main")
    assert model.observe(2, creds, model.predict(creds), A).broken == "RK-ROT-007"
    again = model.observe(3, creds, model.predict(creds), A)
    assert again.broken == "RK-ROT-001"
    other = Presented("POST", "other", "pw-second")
    assert model.observe(4, other, model.predict(other), A).broken == "RK-ROT-007"


def test_keys_issued_before_the_machine_started_count_as_revoked() -> None:
    model = Model()
    model.add("main", "user", "pw", issued=[A, B])
    creds = Presented("POST", "user", "pw")
    assert model.observe(0, creds, model.predict(creds), A).broken == "RK-ROT-007"


@pytest.mark.parametrize(
    ("between", "rid"),
    [
        (None, "RK-ROT-003"),
        (Presented("POST", "user", "wrong"), "RK-ROT-006"),
        (Presented("HEAD", key=A), "RK-ROT-009"),
        (Presented("OPTIONS", "user", "pw-main"), "RK-ROT-009"),
        (Presented("POST", "other", "pw-second"), "RK-ROT-008"),
    ],
)
def test_a_dead_key_is_blamed_on_what_happened_since_it_was_issued(
    between: Presented | None, rid: str
) -> None:
    model = _model()
    _login(model, "main", A)
    _login(model, "second", B, 1)  # before main's key: no suspect
    _login(model, "main", "c" * 32, 2)
    if between is not None:
        new = "d" * 32 if between.user_id == "other" else None
        assert model.observe(3, between, model.predict(between), new).broken is None
    cause, _suspects = model.dead_key_cause("main")
    assert cause == rid


def test_a_key_that_works_after_suspects_records_what_it_survived() -> None:
    model = _model()
    _login(model, "main", A)
    head = Presented("HEAD", key=A)
    model.observe(1, head, model.predict(head), None)
    use = Presented("POST", key=A)
    obs = model.observe(2, use, model.predict(use), B)
    assert obs.broken is None and obs.survived == ("RK-ROT-009",)


# --- key statistics (RK-KEY-003) ----------------------------------------------------------


def _uuid_shaped(digits: str) -> str:
    return digits[:12] + "4" + digits[13:16] + "8" + digits[17:32]


def test_the_chi_square_and_binomial_tails_are_right() -> None:
    assert chi_square_tail(15, 30.578) == pytest.approx(0.01, rel=1e-3)
    assert chi_square_tail(15, 68.03) == pytest.approx(1e-8, rel=2e-2)
    assert binomial_tail(10, 0, 0.5) == 1.0
    assert binomial_tail(10, 10, 0.5) == pytest.approx(2**-10)


def test_random_keys_pass_every_test() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        keys = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(40)]
        assert unpredictability_problem(keys) is None, seed
        raw = [f"{rng.getrandbits(128):032x}" for _ in range(MIN_KEYS)]
        assert unpredictability_problem(raw) is None, seed


def _forced_bit(rng: random.Random, byte: int, keep: int, mask: int) -> str:
    raw = bytearray(rng.getrandbits(128).to_bytes(16, "big"))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    raw[byte] = (raw[byte] & keep) | mask
    return raw.hex()


@pytest.mark.parametrize(
    "keys",
    [
        [_uuid_shaped(f"{12345 + i:032x}") for i in range(20)],
        [_uuid_shaped(f"{time.time_ns() + i * 999:032x}") for i in range(20)],
        [uuid.uuid1().hex for _ in range(20)],
        [_uuid_shaped(hashlib.md5(str(i).encode()).hexdigest()) for i in range(100, 120)],
        [_uuid_shaped("".join(random.Random(i).choices("0123456789", k=32))) for i in range(20)],
        [_uuid_shaped("5eed" + uuid.uuid4().hex[4:]) for _ in range(20)],
        [_uuid_shaped(f"{random.Random(i).getrandbits(64):016x}" * 2) for i in range(20)],
        # the version byte masked with | 65 instead of | 0x40 (a mutant of the
        # reference server's store.py that survived until 2026-12-02)
        [_forced_bit(random.Random(i), 6, 0x0F, 65) for i in range(40)],
        [_forced_bit(random.Random(i), 8, 0x3F, 129) for i in range(40)],
    ],
    ids=[
        "counter",
        "timestamp",
        "uuid1",
        "md5-of-counter",
        "decimal",
        "fixed-prefix",
        "repeat",
        "forced-version-bit",
        "forced-variant-bit",
    ],
)
def test_structured_keys_fail(keys: list[str]) -> None:
    assert unpredictability_problem(keys) is not None


def test_a_forced_bit_needs_35_keys_to_be_seen() -> None:
    keys = [_forced_bit(random.Random(i), 6, 0x0F, 65) for i in range(35)]
    assert unpredictability_problem(keys) == "bit 0 of digit 14 is set in 35 of 35 keys"
    assert unpredictability_problem(keys[:34]) is None


def test_a_hash_of_a_timestamp_of_the_run_fails() -> None:
    now = time.time()
    keys = [
        _uuid_shaped(hashlib.sha256(str(int(now * 1000) + i).encode()).hexdigest())
        for i in range(20)
    ]
    assert unpredictability_problem(keys, (now - 5, now + 5)) is not None


def test_too_few_keys_are_not_judged() -> None:
    with pytest.raises(ValueError, match="are needed"):
        unpredictability_problem([uuid.uuid4().hex for _ in range(MIN_KEYS - 1)])
