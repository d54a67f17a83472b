"""The verdicts server checks reach again and again, and seeded example draws."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.errors import Blocked
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import Exchange, ServerContext
from conformance.spec.catalogue import Level, requirement

T = TypeVar("T")

#: Examples drawn per Hypothesis run by :func:`draws`: memory holds two batches at most.
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
    """``rid`` holds if the request regenerated the key.

    A refusal the judge blamed on no id (``error_rule=None``) breaks ``rid``
    itself: an error in another format than asked (the server never saw
    ``format``, so it did not read the parameters where this request put
    them), or a 4xx that is no envelope at all (it refused what was tried).
    """
    if ex.unjudged and ex.observed_key is None and ex.fmt is not None:
        expected = f"status=success with a new apiKey, in {ex.fmt.value}"
        if ex.answered_in is not None:
            why, actual = "the parameters were not read", f"an error in {ex.answered_in.value}"
        else:
            why, actual = "refused", f"a body that is no {ex.fmt.value} envelope"
        actual = f"HTTP {ex.status}, {actual}"
        return ctx.expect(rid, False, ex, f"{what} ({why})", expected, actual)
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


def probe(
    ctx: ServerContext,
    rid: str,
    spec: RequestSpec,
    fmt: Format,
    what: str,
    format_rule: str = "RK-FMT-001",
) -> bool:
    """``rid`` holds if ``spec``, a regeneration by the suite's credentials that
    differs from the plain form POST in what ``rid`` is about, regenerates the key.

    When it does not, one follow-up tells the candidate causes apart: the same
    credentials in a form POST. If they still work there, what the probe
    changed is at fault and ``rid`` fails (also for an answer in another
    format: see :func:`succeeded`); if they do not, the credentials stopped
    working after a regeneration (RK-ROT-004) and the probe is blocked by it;
    a probe of a SHOULD leaves RK-ROT-004 to the checks of MUSTs and is only
    blocked, so that it can never report another id than its own.
    """
    generic = format_rule == "RK-FMT-001" and rid != format_rule
    ex = ctx.send(spec, fmt, None if generic else format_rule, error_rule=None)
    if generic and ex.answered_in is not None and ex.observed_key is not None:
        _format_read_by_form(ctx, rid, ex, what)
    elif ex.new_key is None and ex.observed_key is None and _authentic(ctx, ex):
        credentials_still_work(ctx, judge=requirement(rid).level is Level.MUST)
    return succeeded(ctx, rid, ex, what)


def _format_read_by_form(ctx: ServerContext, rid: str, ex: Exchange, what: str) -> None:
    """A probe regenerated the key but answered in another format than asked: a
    form POST asking for the same format tells whether the server ignores
    ``format`` everywhere (RK-FMT-001) or only where this probe put it (``rid``).
    A probe of a SHOULD leaves RK-FMT-001 to its own check."""
    assert ex.fmt is not None and ex.answered_in is not None
    spec = RequestSpec("POST", Encoding.FORM, ctx.credentials(ex.fmt.value))
    control = ctx.send(spec, ex.fmt, None, error_rule=None)
    expected, actual = f"a {ex.fmt.value} body", f"a valid {ex.answered_in.value} body"
    if control.new_key is not None:
        ctx.fail(rid, ex, f"{what} (format={ex.fmt.value} was not read there)", expected, actual)
    elif requirement(rid).level is Level.MUST:
        what = f"format={ex.fmt.value} must answer in {ex.fmt.value}"
        ctx.fail("RK-FMT-001", ex, what, expected, actual)


def _authentic(ctx: ServerContext, ex: Exchange) -> bool:
    """Whether the request was a regeneration by the suite's own credentials."""
    return ex.spec.param("password") == ctx.account.password and not ex.spec.header("apiKey")


def credentials_still_work(ctx: ServerContext, judge: bool = True) -> None:
    """The follow-up of a failed probe: fail RK-ROT-004 (when ``judge``) and block
    the probe when the credentials, which worked in a form POST at the start,
    no longer do."""
    spec = RequestSpec("POST", Encoding.FORM, ctx.credentials("json"))
    control = ctx.send(spec, Format.JSON, error_rule=None)
    if control.new_key is not None or control.observed_key is not None:
        return
    if control.verdict is not None and control.verdict.violations and not control.answered_in:
        return  # a body that breaks its artefact: no conclusion either way
    record = control.record
    actual = f"HTTP {control.status}" + (f", reason={record.reason}" if record else "")
    what = "the credentials that regenerated the key at the start no longer do"
    if judge:
        ctx.fail("RK-ROT-004", control, what, "status=success with a new apiKey", actual)
    raise Blocked(
        "blocked by RK-ROT-004: the credentials no longer work in a form POST either",
        causes=("RK-ROT-004",),
    )


def refused(ctx: ServerContext, rid: str, ex: Exchange, what: str) -> bool:
    """``rid`` holds if the request was refused (error envelope, or a 4xx) and
    no key was issued."""
    if ex.new_key is not None:
        return ctx.expect(
            rid,
            False,
            ex,
            what,
            "the error envelope and no key",
            "status=success with a new apiKey",
        )
    if 400 <= ex.status < 500 and ex.verdict is None:
        return ctx.expect(rid, True, ex, what, "", "")
    if _unjudgeable(ctx, rid, ex):
        return False
    record = ex.record
    ok = record is not None and not record.is_success
    actual = f"HTTP {ex.status}" + (f", status={record.status}" if record else "")
    return ctx.expect(rid, ok, ex, what, "status=error and no apiKey", actual)


def draw(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """``count`` examples of ``strategy``, the same for the same seed.

    Each example is one draw of the strategy straight from Hypothesis' own
    random provider (:func:`_sampled`), the one its engine's generate phase
    uses, with the engine around it left out: it cost more than the drawing
    (about 1.9 ms an example against 0.8; docs/BENCHMARKS.md, the limit). The
    provider's biases (boundary values, awkward text, constants) are kept;
    what is lost is the engine's mutation of earlier examples, which only
    matters to a test that shrinks, and none here does. Where this Hypothesis
    has no such internals, a plain Hypothesis run draws them (:func:`_engine`).
    """
    sampled = _sampled(strategy, count, seed)
    return sampled if sampled is not None else _engine(strategy, count, seed)


#: Failed draws (a filter or ``assume`` that kept refusing) tolerated per example wanted.
_RETRIES = 20


def _sampled(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T] | None:
    """``count`` draws of ``strategy``, each on a fresh ConjectureData over
    one ``random.Random(seed)``; None if this Hypothesis' internals are not
    the ones this was written against (6.170), or if the strategy refuses too
    often to be drawn this way."""
    try:
        from hypothesis.control import BuildContext
        from hypothesis.errors import StopTest, UnsatisfiedAssumption
        from hypothesis.internal.conjecture.data import ConjectureData
    except ImportError:  # pragma: no cover - another Hypothesis
        return None
    rng = random.Random(seed)  # noqa: S311 (test data, reproducible by its seed)
    drawn: list[T] = []
    seen: set[tuple[object, ...]] = set()
    failures = repeats = 0
    while len(drawn) < count:
        try:
            data = ConjectureData(random=rng)
            context = BuildContext(data, wrapped_test=_never_called)
        except TypeError:  # pragma: no cover - another Hypothesis' signatures
            return None
        try:
            with context:
                value = data.draw(strategy)
        except (StopTest, UnsatisfiedAssumption):
            failures += 1
            if failures > _RETRIES * (count + 1):
                return None
            continue
        finally:
            data.freeze()
        # As the engine does, an example drawn before is drawn again (twice at
        # most, so that a small space still yields ``count``).
        choices = data.choices
        if choices in seen and repeats < 2:
            repeats += 1
            continue
        seen.add(choices)
        repeats = 0
        drawn.append(value)
    return drawn


def _never_called() -> None:  # pragma: no cover - what BuildContext names as the test
    raise AssertionError("not a test")


def _engine(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """``count`` examples from a Hypothesis run of its generate phase."""
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


def draws(
    strategy: st.SearchStrategy[T], count: int, seed: int, batch: int = DRAW_BATCH
) -> Iterator[T]:
    """``count`` examples of ``strategy``, the same for the same seed, drawn
    ``batch`` at a time (each batch its own Hypothesis run, seeded from
    ``seed`` and its position) and yielded as they are used, so that a run of
    10,000 cases holds no more than two batches in memory. The first batch is
    :func:`draw` with ``seed`` itself.

    A run of more than one batch draws each batch in a worker thread, the
    first from the moment this is called and each next one while the caller
    uses the current one (its requests wait on the network, which frees the
    interpreter): the same examples in the same order, since each batch
    depends on its seed alone; the requests themselves stay sequential.
    ``close()`` on the iterator stops the worker.
    """
    starts = list(range(0, count, batch))

    def one(start: int) -> list[T]:
        batch_seed = seed if start == 0 else (seed * 1_000_003 + start) % 2**32
        return draw(strategy, min(batch, count - start), batch_seed)

    if len(starts) <= 1:  # a small run: drawn here, as it always was
        return iter(one(starts[0]) if starts else [])
    return _DrawnAhead(one, starts)


#: The interpreter's switch interval while a batch is drawn ahead: a thread
#: back from the network waits at most this long for the drawing one to let go.
SWITCH_S = 0.0005
_switches = threading.Lock()
_drawing = [0, 0.0]  # workers drawing now; the interval before the first began


def _quickly_switched(one: Callable[[int], list[T]], start: int) -> list[T]:
    """``one(start)``, with a short switch interval while it runs: the default
    (5 ms) makes every answer the main thread receives meanwhile wait up to
    that long for the interpreter, several times a request."""
    with _switches:
        if _drawing[0] == 0:
            _drawing[1] = sys.getswitchinterval()
            sys.setswitchinterval(min(_drawing[1], SWITCH_S))
        _drawing[0] += 1
    try:
        return one(start)
    finally:
        with _switches:
            _drawing[0] -= 1
            if _drawing[0] == 0:
                sys.setswitchinterval(_drawing[1])


class _DrawnAhead(Iterator[T]):
    """The batches of :func:`draws`, each drawn in a worker thread while the
    one before is used; the first is begun as soon as this is made. Nothing in
    it refers back to it, so the moment the caller lets go of it (or closes
    it) its worker is stopped and joined: no thread outlives its run."""

    def __init__(self, one: Callable[[int], list[T]], starts: list[int]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regenkey-draws")
        first: Future[list[T]] = self._pool.submit(_quickly_switched, one, starts[0])
        self._items = _batches(self._pool, first, one, starts)

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        """Stop: a batch being drawn is finished first, and no worker is left."""
        self._items.close()
        self._pool.shutdown(wait=True)

    def __del__(self) -> None:
        self.close()


def _batches(
    pool: ThreadPoolExecutor,
    ahead: Future[list[T]],
    one: Callable[[int], list[T]],
    starts: list[int],
) -> Generator[T, None, None]:
    try:
        for n in range(len(starts)):
            current = ahead.result()
            if n + 1 < len(starts):
                ahead = pool.submit(_quickly_switched, one, starts[n + 1])
            yield from current
    finally:
        pool.shutdown(wait=True)
