"""Seeded example draws (conformance/server/verdicts.py): the same
seed gives the same cases, and a long run draws in batches, so that its
memory does not grow with its size (docs/BENCHMARKS.md: scaling)."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import strategies as st

from conformance.server import verdicts
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


def test_examples_are_drawn_from_hypothesis_provider_without_its_engine() -> None:
    """The installed Hypothesis is the one :func:`verdicts._sampled` was written
    against: a draw that silently fell back to the engine would be twice as slow."""
    sampled = verdicts._sampled(INTS, 50, 7)
    assert sampled is not None and sampled == draw(INTS, 50, 7)
    assert all(0 <= v <= 2**62 for v in sampled)


def test_sampled_draws_keep_hypothesis_biases_towards_awkward_values() -> None:
    texts = draw(st.text(max_size=40), 500, 11)
    assert "" in texts  # the boundary
    assert any(any(ord(c) > 127 for c in t) for t in texts)  # beyond ASCII
    assert any(any(ord(c) < 32 for c in t) for t in texts)  # control characters
    assert len(set(texts)) > 450  # and seldom twice the same
    numbers = draw(st.integers(-(2**40), 2**40), 500, 11)
    assert min(map(abs, numbers)) < 100  # small values, not only huge ones
    assert sorted(set(draw(st.sampled_from("abc"), 10, 2))) == ["a", "b", "c"]  # a small space
    assert len(draw(st.sampled_from("abc"), 10, 2)) == 10  # still gives what was asked


def test_a_strategy_that_keeps_refusing_falls_back_to_the_engine() -> None:
    rare = st.integers(0, 2**62).filter(lambda v: v % 1009 == 0)
    assert verdicts._sampled(rare, 20, 3) is None or len(verdicts._sampled(rare, 20, 3) or []) == 20
    values = draw(rare, 20, 3)
    assert len(values) <= 20 and all(v % 1009 == 0 for v in values)
