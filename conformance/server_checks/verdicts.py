"""The verdicts server checks reach again and again, and seeded example draws."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.server_context import Exchange, ServerContext

T = TypeVar("T")

#: Examples drawn per Hypothesis run by :func:`draws`: memory holds one batch.
DRAW_BATCH = 500


def _unjudgeable(ctx: ServerContext, rid: str, ex: Exchange) -> bool:
    """A body that breaks its artefact is reported under that artefact's ids;
    the check that provoked it cannot judge its own requirement from it."""
    if ex.verdict is not None and ex.verdict.violations:
        broken = ", ".join(sorted(ex.verdict.requirement_ids))
        ctx.result.record_skip(rid, f"{ctx.check_name}: response body not judgeable ({broken})")
        return True
    return False


def succeeded(ctx: ServerContext, rid: str, ex: Exchange, what: str) -> bool:
    """``rid`` holds if the request regenerated the key."""
    if _unjudgeable(ctx, rid, ex):
        return False
    record = ex.record
    actual = (
        f"HTTP {ex.status}, status={record.status} statusCode={record.status_code} "
        f"reason={record.reason}"
        if record is not None
        else f"HTTP {ex.status} with no judgeable body"
    )
    return ctx.expect(
        rid, ex.new_key is not None, ex, what, "status=success with a new apiKey", actual
    )


def refused(ctx: ServerContext, rid: str, ex: Exchange, what: str) -> bool:
    """``rid`` holds if the request was refused (error envelope, or a 4xx) and
    no key was issued."""
    if ex.new_key is not None:
        return ctx.expect(rid, False, ex, what, "the error envelope and no key",
                          "status=success with a new apiKey")  # fmt: skip
    if 400 <= ex.status < 500 and ex.verdict is None:
        return ctx.expect(rid, True, ex, what, "", "")
    if _unjudgeable(ctx, rid, ex):
        return False
    record = ex.record
    ok = record is not None and not record.is_success
    actual = f"HTTP {ex.status}" + (f", status={record.status}" if record else "")
    return ctx.expect(rid, ok, ex, what, "status=error and no apiKey", actual)


def draw(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """``count`` examples of ``strategy``, the same for the same seed."""
    drawn: list[T] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn[:count]


def draws(strategy: st.SearchStrategy[T], count: int, seed: int,
          batch: int = DRAW_BATCH) -> Iterator[T]:  # fmt: skip
    """``count`` examples of ``strategy``, the same for the same seed, drawn
    ``batch`` at a time (each batch its own Hypothesis run, seeded from
    ``seed`` and its position) and yielded as they are used, so that a run of
    10,000 cases holds no more of them in memory than a run of 500. The first
    batch is :func:`draw` with ``seed`` itself."""
    for start in range(0, count, batch):
        batch_seed = seed if start == 0 else (seed * 1_000_003 + start) % 2**32
        yield from draw(strategy, min(batch, count - start), batch_seed)
