"""draws() begins its first batch the moment it is called, and while a worker
draws, the interpreter switches threads often (issue 17: a thread back from the
network no longer waits up to 5 ms for the drawing one, several times a request)."""

from __future__ import annotations

import sys
import threading
import time

from hypothesis import strategies as st

from conformance.server import verdicts
from conformance.server.verdicts import SWITCH_S, draw, draws


def test_the_first_batch_is_drawn_before_anything_is_asked_for() -> None:
    drawn = threading.Event()

    def seen(value: int) -> int:
        drawn.set()
        return value

    examples = draws(st.integers(0, 2**62).map(seen), 120, 4, batch=50)
    try:
        assert drawn.wait(timeout=30)  # no next() yet: the worker began on its own
    finally:
        examples.close()  # type: ignore[attr-defined]
    assert not any(t.name.startswith("regenkey-draws") for t in threading.enumerate())


def test_a_worker_draws_with_a_short_switch_interval_and_restores_it() -> None:
    before = sys.getswitchinterval()
    intervals: list[float] = []

    def seen(value: int) -> int:
        intervals.append(sys.getswitchinterval())
        return value

    values = list(draws(st.integers(0, 2**62).map(seen), 120, 4, batch=50))
    assert values == list(draws(st.integers(0, 2**62), 120, 4, batch=50))
    assert intervals and max(intervals) <= SWITCH_S
    deadline = time.monotonic() + 10
    while sys.getswitchinterval() != before and time.monotonic() < deadline:
        time.sleep(0.01)  # bounded: the last worker restores it as it ends
    assert sys.getswitchinterval() == before
    assert verdicts._drawing[0] == 0


def test_a_small_run_is_drawn_here_as_it_always_was() -> None:
    threads: list[str] = []

    def where(value: int) -> int:
        threads.append(threading.current_thread().name)
        return value

    assert list(draws(st.integers(0, 9).map(where), 30, 2)) == draw(st.integers(0, 9), 30, 2)
    assert set(threads) == {threading.current_thread().name}
