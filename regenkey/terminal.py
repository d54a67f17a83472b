"""What the suite commands share on the terminal: arguments checked the same
way (``--req``, ``--allow-skip``, a usage problem: :func:`refuse`), ``--list``
(:func:`list_checks`), the same progress lines, and one ending,
:func:`conclude` (the selection covered, the summary with the first
``SHOWN_FAILURES`` failures of each requirement, the reports and the exit
code), which check-server, check-client, check-parser and replay all end with.

Every string printed here that the target, the client or the parser could
have chosen passes through :func:`conformance.reporting.text.printable`, so no
control character (ESC, CSI, the 8-bit C1 codes) reaches the terminal raw.
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance import Redactor, catalogue
from conformance.judging.results import RunResult, Status, Verdict
from conformance.reporting.files import write_reports
from conformance.reporting.text import SHOWN_FAILURES, format_failure, printable
from regenkey.progress import close_all, progress_for

if TYPE_CHECKING:
    import argparse

    from conformance.judging.registry import CheckSpec

WORDS = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.NON_STRICT: "NON-STRICT",
    Status.SKIP: "SKIP",
    Status.ERROR: "ERROR",
}
SUITES = ("server", "client", "parser")
COMMANDS = {"server": "check-server", "client": "check-client", "parser": "check-parser"}


def say(text: str, *, err: bool = False) -> None:
    """Print a line that may hold target-controlled text, escaped."""
    close_all()  # a live progress line ends first, so this starts a line of its own
    print(printable(text), file=sys.stderr if err else sys.stdout, flush=True)


def refuse(command: str, problem: str) -> int:
    """A usage problem (or a run that cannot start): one line on stderr, exit 2."""
    say(f"regenkey {command}: {problem}", err=True)
    return 2


def list_checks(checks: Sequence[CheckSpec]) -> int:
    """``--list``: each check, the ids it judges, and what it asserts."""
    for spec in checks:
        print(f"{spec.name}\n    {', '.join(spec.requirement_ids)}\n    {spec.summary}")
    return 0


# --- requirement ids: --req and --allow-skip ---------------------------------


def _split(values: Iterable[str] | None) -> list[str]:
    """``--req A,B --req C`` -> [A, B, C]."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def judged_by(suite: str) -> frozenset[str]:
    """Every id the checks (or vectors) of ``suite`` can judge."""
    if suite == "server":
        from conformance.server.runner import selected_checks

        return frozenset(rid for c in selected_checks(None) for rid in c.requirement_ids)
    if suite == "client":
        from conformance.client.runner import selected_checks as client_checks

        return frozenset(rid for c in client_checks(None) for rid in c.requirement_ids)
    from conformance.vectors.parser_suite import selected_vectors

    return frozenset(rid for v in selected_vectors(None) for rid in v.judged_ids)


def unknown_ids(ids: list[str] | None) -> str | None:
    """A usage problem when ``ids`` (lists, globs) name nothing in the catalogue."""
    known = [r.id for r in catalogue()]
    unknown = [p for p in _split(ids) if not any(fnmatchcase(k, p) for k in known)]
    return f"unknown requirement id(s): {', '.join(unknown)}" if unknown else None


def select_ids(values: list[str] | None, suite: str) -> tuple[frozenset[str] | None, str | None]:
    """``--req`` for ``suite``: the ids selected (None: all), or a usage problem.

    Ids may be given as comma lists and globs (``RK-ROT-*``). An id the suite
    cannot judge is a usage problem naming the command that can; a glob keeps
    the ids this suite judges and is a problem only when it keeps none.
    """
    if not values:
        return None, None
    problem = unknown_ids(values)
    if problem:
        return None, problem
    known = [r.id for r in catalogue()]
    mine = judged_by(suite)
    chosen: set[str] = set()
    for pattern in _split(values):
        ids = [k for k in known if fnmatchcase(k, pattern)]
        here = [k for k in ids if k in mine]
        if here and (_is_glob(pattern) or len(here) == len(ids)):
            chosen.update(here)
            continue
        elsewhere = sorted(
            COMMANDS[other]
            for other in SUITES
            if other != suite and any(k in judged_by(other) for k in ids)
        )
        where = f"; judge it with {' or '.join(elsewhere)}" if elsewhere else ""
        return None, f"{COMMANDS[suite]} cannot judge {pattern}{where}"
    return frozenset(chosen), None


def allowed_skips(values: list[str] | None) -> tuple[frozenset[str], str | None]:
    """``--allow-skip``: ids, comma lists, globs or ``all``."""
    patterns = _split(values)
    problem = unknown_ids([p for p in patterns if p != "all"])
    return frozenset(patterns), problem


def cover_selection(result: RunResult, requirements: frozenset[str] | None, why: str) -> None:
    """Every id of the ``--req`` selection has an entry: one no scenario or
    check judged ends SKIP (``why``), so a selected MUST cannot vanish from
    the run and leave it green."""
    for rid in sorted(requirements or ()):
        if rid not in result.requirements:
            result.result_for(rid).skip_reasons.append(why)


# --- the target: --base-url or REGENKEY_BASE_URL -----------------------------


def base_url_from(args: argparse.Namespace) -> None:
    """``--base-url``, else ``REGENKEY_BASE_URL`` (set but empty stays empty, so
    that it is refused rather than silently replaced by the embedded server)."""
    if args.base_url is None:
        args.base_url = os.environ.get("REGENKEY_BASE_URL")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` (``--base-url`` or ``REGENKEY_BASE_URL``) cannot be a target
    (a usage error), or None."""
    import httpx

    shown = f"--base-url {printable(repr(url))}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range or not a number
        host = parts.hostname
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"{shown} is not a valid URL ({printable(str(exc))})"
    if parts.scheme not in ("http", "https"):
        return f"{shown} is not an http(s) URL"
    if not host:
        return f"{shown} names no host"
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            return f"{shown}: only an IPv6 address goes in brackets"
    if port == 0:
        return f"{shown}: port 0 cannot be connected to"
    if parts.query or parts.fragment:
        return f"{shown} must not carry a query or fragment"
    return None


# --- the run ------------------------------------------------------------------


def new_seed(given: int | None) -> int:
    return given if given is not None else random.SystemRandom().randrange(2**32)


REPORT_DIR_TRIES = 50


def report_dir(given: Path | None, root: Path = Path("reports")) -> Path:
    """``--report-dir``, else a new ``reports/<UTC timestamp>-<4 hex digits>``,
    created exclusively here (when the run ends, so that a run stopped early
    leaves no empty one), and two runs ending in the same second never share
    (and overwrite) one. When it cannot be created at all, the path is
    returned anyway: :func:`save_reports` then says why."""
    if given is not None:
        return given
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = root / stamp
    for _ in range(REPORT_DIR_TRIES):
        candidate = root / f"{stamp}-{secrets.token_hex(2)}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError:
            break
        return candidate
    return candidate


def progress_printer(redactor: Redactor) -> Callable[[int, int, str, str], None]:
    """The run's progress (regenkey/progress.py): one live line on a terminal,
    else a plain line per check. The live one also has ``on_send``, the hook
    the server suite calls on every request, so the line moves within a check."""
    return progress_for(redactor)


def print_summary(result: RunResult, redactor: Redactor, what: str = "requests") -> None:
    """Failures h2spec-style, then one line per requirement, then the verdict
    (``result.verdict``, the one the reports and the exit code read)."""
    close_all()
    for req in result.ordered():
        for failure in req.failures[:SHOWN_FAILURES]:
            say(redactor(format_failure(failure, req.level)))
        if len(req.failures) > SHOWN_FAILURES:
            more = len(req.failures) - SHOWN_FAILURES
            print(f"  ... and {more} more for {req.id} (see the reports)")
    for fault in result.run_failures:
        say(redactor(fault))
    print("\nRequirements:")
    for req in result.ordered():
        note = f" ({req.checks_run} checked)" if req.checks_run else ""
        if req.status is Status.SKIP and req.skip_reasons:
            note = f" ({redactor(req.skip_reasons[0])})"
        if req.status is Status.ERROR and req.errors:
            note = f" ({redactor(req.errors[0])})"
        say(f"  {WORDS[req.status]:<10} {req.id} [{req.level}] {req.title}{note}")
    counts = {s: sum(r.status is s for r in result.requirements.values()) for s in Status}
    tally = ", ".join(f"{n} {WORDS[s].lower()}" for s, n in counts.items() if n) or "nothing judged"
    seed = f", seed {result.seed}" if result.suite in ("server", "client") else ""
    print(f"\n{result.cases} {what}{seed}: {tally}")
    unjudged = [r.id for r in result.unjudged()]
    if result.verdict is Verdict.INCOMPLETE:
        ids = ", ".join(unjudged) or "no requirement"
        print(f"Not judged: {ids} (name them in --allow-skip to accept that)")
    word = result.verdict.value.upper()
    print(f"Verdict: {word}{' (strict)' if result.strict else ''}", flush=True)


def conclude(
    result: RunResult,
    redactor: Redactor,
    *,
    command: str,
    what: str,
    directory: Path | None,
    reports: bool = True,
    allowed: frozenset[str] = frozenset(),
    requirements: frozenset[str] | None = None,
    unjudged: str = "selected, but no check judged it",
) -> int:
    """The end every suite command shares (check-server, check-client,
    check-parser, replay): the ``--req`` selection covered (an id nothing judged
    ends SKIP, saying ``unjudged``), the skips the user allowed, the summary
    (``what`` the run counted), the reports (in ``directory``, the
    ``--report-dir``, else a new ``reports/<timestamp>``; with ``reports=False``
    only when ``directory`` is given), and the exit code (2 when the reports
    cannot be written)."""
    cover_selection(result, requirements, unjudged)
    result.allowed_skips = allowed
    print_summary(result, redactor, what)
    if reports or directory is not None:
        if not save_reports(result, report_dir(directory), redactor, command):
            return 2
    return result.exit_code()


def save_reports(result: RunResult, directory: Path, redactor: Redactor, command: str) -> bool:
    """Write the reports and say where; False (after a clear message) if they
    cannot be written: the run's verdict then cannot reach a gate (exit 2)."""
    try:
        paths = write_reports(result, directory, redactor)
    except OSError as exc:
        say(f"regenkey {command}: cannot write the reports to {directory}: {exc}", err=True)
        return False
    say(f"Reports: {paths['json'].parent}")
    return True
