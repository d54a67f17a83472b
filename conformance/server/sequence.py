"""The requests a running server check sent, so a lifecycle failure can be replayed.

A :class:`CheckSequence` is kept by the :class:`~conformance.server.context.ServerContext`
for the check running now (``running()`` starts a new one): every
:class:`~conformance.protocol.wire.RequestSpec` sent, and the key each answer issued.
When a check fails a requirement of the key lifecycle (RK-ROT-*), or a request
that sent a key an earlier request of the same check was answered with, the
failure carries the whole sequence as :class:`~conformance.judging.results.Step` s:
curl lines whose secrets are variables (``$REGENKEY_PASSWORD``,
``$REGENKEY_API_KEY`` for the key current when the check started, ``$KEY_<n>``
for the key step ``n`` was answered with), from which the reports write a
replay script (:mod:`conformance.reporting.scripts`). Only the raw keys live
here, in memory, for as long as the check runs; a Step holds none.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from conformance.judging.results import Step
from conformance.protocol.wire import RequestSpec, curl_command

#: A check that sent more requests than this gets no script (memory stays bounded).
MAX_STEPS = 200
START_KEY = "REGENKEY_API_KEY"
ISSUED = "a success with a new apiKey"
REFUSED = "a refusal: no new apiKey"


def _retargetable(spec: RequestSpec) -> str:
    """The curl line for ``spec`` against ``$REGENKEY_BASE_URL`` (the script sets it)."""
    quoted = shlex.quote(spec.path)
    command = curl_command("", spec)
    if command.endswith(" " + quoted):
        command = command[: -len(quoted)] + f'"$REGENKEY_BASE_URL"{quoted}'
    return command


@dataclass
class _Sent:
    spec: RequestSpec
    issued: str | None = None  # the key the answer carried, if any
    expect: bool | None = None  # set once a failure showed this answer was wrong


class CheckSequence:
    """What one check sent, in order (at most :data:`MAX_STEPS`)."""

    def __init__(self) -> None:
        self._sent: list[_Sent] = []
        self._start_key: str | None = None
        self._overflow = False

    def start(self, current_key: str | None) -> None:
        """A new check begins; ``current_key`` is the account's key now."""
        self._sent, self._start_key, self._overflow = [], current_key, False

    def sent(self, spec: RequestSpec) -> None:
        if len(self._sent) >= MAX_STEPS:
            self._overflow = True
            return
        self._sent.append(_Sent(spec))

    def answered(self, spec: RequestSpec, key: str | None) -> None:
        """The answer to ``spec`` (the last one sent) carried ``key``."""
        if self._sent and self._sent[-1].spec is spec:
            self._sent[-1].issued = key

    def _variable(self, key: str, upto: int) -> str | None:
        for n in range(upto - 1, -1, -1):
            if self._sent[n].issued == key:
                return f"KEY_{n + 1}"
        return START_KEY if key == self._start_key else None

    def _depends(self, spec: RequestSpec | None) -> bool:
        """Whether ``spec`` sends a key an earlier request of this check was issued."""
        index = self._index(spec)
        key = spec.header("apiKey") if spec is not None else None
        if index is None or not key:
            return False
        return any(item.issued == key for item in self._sent[:index])

    def _index(self, spec: RequestSpec | None) -> int | None:
        return next((n for n, s in enumerate(self._sent) if s.spec is spec), None)

    def steps(
        self,
        rid: str,
        failing: RequestSpec | None,
        expected: str,
        redact: Callable[[str], str],
    ) -> tuple[Step, ...]:
        """The replay of this check up to a failure of ``rid`` (``failing``: the
        request that showed it, None when the check judged several answers
        together), or () when one request reproduces it (its curl line does)."""
        if self._overflow or not (rid.startswith("RK-ROT-") or self._depends(failing)):
            return ()
        index = self._index(failing)
        sent = self._sent if index is None else self._sent[: index + 1]
        if len(sent) < (1 if index is None else 2):
            return ()  # one request shows it: its curl line reproduces it
        steps = []
        for n, item in enumerate(sent):
            command = _retargetable(item.spec)
            key = item.spec.header("apiKey")
            variable = self._variable(key, n) if key else None
            if variable is not None and variable != START_KEY:
                command = command.replace(f"${START_KEY}", f"${variable}")
            elif variable is None and key and redact(key) != key:
                return ()  # a secret key from outside the sequence (a concurrent answer)
            observed = item.issued is not None
            if n == index:
                # the failing answer was the wrong one of the two; a rule that is
                # not about whether a key was issued is shown, not judged
                judged = rid.startswith(("RK-ROT-", "RK-AUTH-"))
                item.expect = (not observed) if judged else item.expect
                text, expect = f"{rid}: {expected}", item.expect
            else:
                expect = observed if item.expect is None else item.expect
                text = ISSUED if expect else REFUSED
            issues = f"KEY_{n + 1}" if expect or (expect is None and observed) else ""
            steps.append(Step(redact(command), redact(text), expect, issues))
        return tuple(steps)
