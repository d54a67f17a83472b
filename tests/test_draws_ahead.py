"""draws() draws the next batch in a worker thread while the current one is used
(docs/BENCHMARKS.md: the limit), with the same examples in the same order."""

from __future__ import annotations

import threading

from hypothesis import strategies as st

from conformance.server.verdicts import draw, draws

INTS = st.integers(0, 2**62)


def test_later_batches_are_drawn_ahead_in_a_worker_thread() -> None:
    threads: list[str] = []

    def where(value: int) -> int:
        threads.append(threading.current_thread().name)
        return value

    values = list(draws(INTS.map(where), 150, 5, batch=50))
    assert len(values) == 150
    assert any(name.startswith("regenkey-draws") for name in threads)
    assert threading.active_count() == 1 or not any(
        t.name.startswith("regenkey-draws") for t in threading.enumerate()
    )  # no worker left behind


def test_drawing_ahead_changes_no_example() -> None:
    seeds = [5, (5 * 1_000_003 + 50) % 2**32, (5 * 1_000_003 + 100) % 2**32]
    sequential = draw(INTS, 50, seeds[0]) + draw(INTS, 50, seeds[1]) + draw(INTS, 20, seeds[2])
    assert list(draws(INTS, 120, 5, batch=50)) == sequential


def test_a_run_left_early_stops_its_worker() -> None:
    drawn = draws(INTS, 400, 9, batch=50)
    first = [next(drawn) for _ in range(60)]
    drawn.close()
    assert len(first) == 60
    assert not any(t.name.startswith("regenkey-draws") for t in threading.enumerate())
