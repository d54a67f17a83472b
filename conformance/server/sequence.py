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
from dataclasses import dataclass, field

from conformance.judging.results import Step
from conformance.judging.spellings import KEY_SHAPE
from conformance.protocol.carriers import shell_secret
from conformance.protocol.wire import SECRET_VARIABLES, RequestSpec, curl_command

#: A check that sent more requests than this gets no script (memory stays bounded).
MAX_STEPS = 200
#: A derived password's shell expression ending so is that value and a NUL
#: byte: the replay percent-encodes the value and appends ``%00`` (a form or a
#: query only; no shell word can hold a NUL).
NUL_PADDED = "@NUL"
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
    # Set by the lifecycle machine: what the model predicted (``expect``,
    # None there meaning either answer is conformant) and why.
    predicted: bool = False
    text: str = ""
    # Values derived from a secret: (field, the secret, a shell expression of
    # it with ``@V`` for the secret's variable), written into the replay.
    derived: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Snapshot:
    """A sequence as it was: :meth:`CheckSequence.restore` brings it back."""

    sent: tuple[_Sent, ...]
    start_key: str | None
    overflow: bool


class CheckSequence:
    """What one check sent, in order (at most :data:`MAX_STEPS`)."""

    def __init__(self) -> None:
        self._sent: list[_Sent] = []
        self._start_key: str | None = None
        self._overflow = False
        # Secrets other than the main account's, by the variable a script reads
        # them from (the second account's password: REGENKEY_TRICKY_PASSWORD).
        self.variables: dict[str, str] = {}

    def start(self, current_key: str | None) -> None:
        """A new check begins; ``current_key`` is the account's key now."""
        self._sent, self._start_key, self._overflow = [], current_key, False

    @property
    def count(self) -> int:
        """The requests sent since the check (or the sequence) began."""
        return len(self._sent)

    def sent(self, spec: RequestSpec) -> None:
        if len(self._sent) >= MAX_STEPS:
            self._overflow = True
            return
        self._sent.append(_Sent(spec))

    def answered(self, spec: RequestSpec, key: str | None) -> None:
        """The answer to ``spec`` (the last one sent) carried ``key``."""
        if self._sent and self._sent[-1].spec is spec:
            self._sent[-1].issued = key

    def predict(
        self,
        spec: RequestSpec,
        expect: bool | None,
        text: str,
        derived: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        """The model's prediction for ``spec`` (sent last): ``expect`` a new key
        (True), a refusal (False) or either (None), and why."""
        if self._sent and self._sent[-1].spec is spec:
            item = self._sent[-1]
            item.expect, item.predicted, item.text, item.derived = expect, True, text, derived

    def snapshot(self) -> Snapshot:
        sent = tuple(
            _Sent(s.spec, s.issued, s.expect, s.predicted, s.text, s.derived) for s in self._sent
        )
        return Snapshot(sent, self._start_key, self._overflow)

    def restore(self, snapshot: Snapshot) -> None:
        self._sent = [
            _Sent(s.spec, s.issued, s.expect, s.predicted, s.text, s.derived) for s in snapshot.sent
        ]
        self._start_key, self._overflow = snapshot.start_key, snapshot.overflow

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
        index = self._index(failing)
        derived = index is not None and bool(self._sent[index].derived)
        lifecycle = rid.startswith("RK-ROT-") or self._depends(failing) or derived
        if self._overflow or not lifecycle:
            return ()
        sent = self._sent if index is None else self._sent[: index + 1]
        if len(sent) < (1 if index is None else 2):
            return ()  # one request shows it: its curl line reproduces it
        steps = []
        for n, item in enumerate(sent):
            command = self._command(item, n, redact)
            if command is None:
                return ()  # a secret key from outside the sequence (a concurrent answer)
            observed = item.issued is not None
            if n == index and not item.predicted:
                # the failing answer was the wrong one of the two; a rule that is
                # not about whether a key was issued is shown, not judged
                judged = rid.startswith(("RK-ROT-", "RK-AUTH-"))
                item.expect = (not observed) if judged else item.expect
                text, expect = f"{rid}: {expected}", item.expect
            elif n == index:
                text, expect = f"{rid}: {expected}", item.expect
            elif item.predicted:
                text, expect = item.text, item.expect
            else:
                expect = observed if item.expect is None else item.expect
                text = ISSUED if expect else REFUSED
            issues = f"KEY_{n + 1}" if expect or (expect is None and observed) else ""
            steps.append(Step(redact(command), redact(text), expect, issues))
        return tuple(steps)

    def _command(self, item: _Sent, n: int, redact: Callable[[str], str]) -> str | None:
        """The curl line of step ``n``, secrets and keys as variables (None: a
        key it sent is known to no variable)."""
        command = _retargetable(item.spec)
        password = item.spec.param("password")
        for name, source, shell in item.derived:
            variable = self._secret_variable(source, n)
            if variable is None:
                return None
            value = shell.replace("@V", variable)
            if name == "password" and value.endswith(NUL_PADDED):
                word = shell_secret(SECRET_VARIABLES["password"], "form")
                padded = value.removesuffix(NUL_PADDED)
                command = command.replace(
                    word,
                    word.replace(f'"${SECRET_VARIABLES["password"]}"', f'"{padded}"') + "'%00'",
                )
            elif name == "password":
                command = command.replace(f'"${SECRET_VARIABLES["password"]}"', f'"{value}"')
            else:
                command = command.replace(f"${START_KEY}", value)
        derived = {name for name, _, _ in item.derived}
        if password and "password" not in derived and password in self.variables:
            variable = self.variables[password]
            command = command.replace(f'"${SECRET_VARIABLES["password"]}"', f'"${variable}"')
        key = item.spec.header("apiKey")
        if key and "apiKey" not in derived:
            variable = self._variable(key, n)
            if variable is None and redact(key) != key:
                return None
            if variable is not None and variable != START_KEY:
                command = command.replace(f"${START_KEY}", f"${variable}")
        return command

    def _secret_variable(self, source: str, upto: int) -> str | None:
        if source in self.variables:
            return self.variables[source]
        return self._variable(source, upto) or (
            SECRET_VARIABLES["password"] if not KEY_SHAPE.fullmatch(source) else None
        )
