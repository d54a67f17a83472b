"""Seeded example draws (conformance/server/verdicts.py): the same
seed gives the same cases, and a long run draws in batches, so that its
memory does not grow with its size (docs/BENCHMARKS.md: scaling)."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from conformance.server.verdicts import draw, draws

INTS = st.integers(0, 2**62)


def test_the_same_seed_draws_the_same_examples() -> None:
    assert draw(INTS, 50, 7) == draw(INTS, 50, 7)
    assert list(draws(INTS, 120, 7, batch=50)) == list(draws(INTS, 120, 7, batch=50))
    assert draw(INTS, 50, 7) != draw(INTS, 50, 8)


def test_draws_yields_count_examples_in_batches_and_starts_with_draw() -> None:
    drawn = draws(INTS, 120, 3, batch=50)
    assert isinstance(drawn, Iterator) and not isinstance(drawn, list)  # lazy: a batch at a time
    values = list(drawn)
    assert len(values) == 120
    assert values[:50] == draw(INTS, 50, 3)  # a short run's cases do not change
    assert values[50:100] != values[:50]  # later batches are not the first again


def test_a_batch_is_drawn_only_when_it_is_reached() -> None:
    calls = []

    def counted(value: int) -> int:
        calls.append(value)
        return value

    drawn = draws(INTS.map(counted), 120, 3, batch=50)
    next(drawn)
    first_batch = len(calls)
    assert 50 <= first_batch < 120  # Hypothesis may draw a few more than it keeps
    list(drawn)
    assert len(calls) >= 120
