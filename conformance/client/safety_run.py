"""Running the safety scenarios: each on a :class:`SafetyServers` of its own
(the first origin, and the second that a redirect points to), the command
once per scenario with one deadline, and everything it started ended after.

A stall scenario's command may run for its bound and a little more
(:data:`MARGIN`); past that the kit ends it, and the case records that the
client was still waiting (RK-CLI-006), not an ERROR. Every other scenario
has the suite's ``--timeout``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from conformance.client.app import Answer, RecordingApp
from conformance.client.execution import run_once
from conformance.client.safety import STALL_FACTOR, Kind, SafetyApp, SafetyCase, SafetyScenario
from conformance.protocol.records import MEDIA_TYPES
from conformance.transport.loopback import other_origin_host, serving

MARGIN = 2.0  # seconds a stalled client may run past the bound before it is ended


def stall_bound(timeout: float) -> float:
    """The bound on waiting for a stalled answer: 6 x ``--timeout`` (60 s at the default 10)."""
    return STALL_FACTOR * timeout


@dataclass
class SafetyServers:
    app: SafetyApp
    url: str
    elsewhere: RecordingApp
    elsewhere_url: str


@contextmanager
def safety_servers() -> Iterator[SafetyServers]:
    """The two listeners of a safety scenario, for as long as the block runs."""
    with ExitStack() as stack:
        app, elsewhere = SafetyApp(), RecordingApp()
        url = stack.enter_context(serving(app))
        elsewhere_url = stack.enter_context(serving(elsewhere, other_origin_host()))
        yield SafetyServers(app, url, elsewhere, elsewhere_url)


def run_safety_case(
    command: str,
    base_env: dict[str, str],
    scenario: SafetyScenario,
    servers: SafetyServers,
    timeout: float,
) -> SafetyCase:
    """Run ``command`` once in ``scenario`` and keep what it did."""
    bound = stall_bound(timeout)
    case = SafetyCase(scenario, bound)
    stalls = scenario.kind is Kind.STALL
    deadline = bound + MARGIN if stalls else timeout
    media = f"{MEDIA_TYPES[scenario.fmt]}; charset=UTF-8"
    body = scenario.success_body.encode()
    servers.elsewhere.plan(lambda _request: Answer(200, media, body))
    servers.app.plan(scenario, servers.elsewhere_url, deadline + MARGIN)
    try:
        run = run_once(command, base_env | scenario.env(servers.url), deadline)
    finally:
        servers.app.release()
    case.requests, case.elsewhere = servers.app.take(), servers.elsewhere.take()
    if run.output is not None:
        case.output = run.output
    elif stalls and run.timed_out:
        case.timed_out = True
    else:
        case.error = run.problem
    return case


def progress_word(case: SafetyCase) -> str:
    """What the progress line says of a finished case."""
    if case.error is not None:
        return case.error
    n = len(case.requests) + len(case.elsewhere)
    ended = f"exit {case.output.exit_code}" if case.output else "still waiting, ended"
    return f"{ended}, {n} request(s)"


Done = Callable[[int, str], None]


def run_safety(
    command: str,
    base_env: dict[str, str],
    scenarios: list[SafetyScenario],
    timeout: float,
    done: Done,
    first_index: int,
) -> list[SafetyCase]:
    """Every safety scenario in order on one pair of servers; ``done`` is told
    of each (its index counted from ``first_index``)."""
    cases: list[SafetyCase] = []
    if not scenarios:
        return cases
    with safety_servers() as servers:
        for i, scenario in enumerate(scenarios):
            case = run_safety_case(command, base_env, scenario, servers, timeout)
            cases.append(case)
            done(first_index + i, progress_word(case))
    return cases
