"""The lifecycle machine: stateful generation against the model (issue 15).

Steps (:mod:`conformance.server.machine_steps`) are drawn with Hypothesis
from the run's seed (no database, no deadline: the same ``--seed`` and
target give the same requests), after a covering prefix in which every
request kind appears, each followed by a use of the main account's key.
They are played in sequences, each beginning where any server can begin:
a login with the credentials (credentials never change), which shows the
current key. Every response goes through :meth:`ServerContext.send`, the
per-response judge, and is then compared with the model's prediction
(:mod:`conformance.server.model`).

When an answer differs, one follow-up question tells the causes apart (the
same authentication in a plain form POST: if it works there, the route is
at fault, which the route's own check judges, and the machine names no id).
A sequence that broke a requirement is shrunk, by leaving steps out and
playing what is left, to the shortest one that still breaks it; the failure
carries that sequence, and the reports write it as a replay script
(:mod:`conformance.reporting.scripts`). Live runs (a rotation budget) play
fewer steps, never shrink, and leave the second account out.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Generator

from conformance.errors import Blocked, KitError
from conformance.protocol.records import Format
from conformance.protocol.wire import Encoding, RequestSpec
from conformance.server.context import Account, Exchange, ServerContext
from conformance.server.machine_answers import PLAIN_VALUE, family, is_refusal
from conformance.server.machine_follow import Fault, FollowUps
from conformance.server.machine_plan import SEQUENCE_LENGTH, Plan, covering
from conformance.server.machine_steps import (
    MAIN,
    SECOND,
    Concrete,
    Kind,
    Step,
    concrete,
    format_file_only,
    presented,
    steps_strategy,
)
from conformance.server.model import Branch, Model, Observation, Prediction
from conformance.server.space import (
    Carrier,
    answer_format,
    describe,
    either_outcome,
    empty_format_element,
    relies_on,
)
from conformance.server.verdicts import draws

MAX_SHRINK_PLAYS = 40
MAX_FAULTS = 3
SECOND_PASSWORD = "REGENKEY_TRICKY_PASSWORD"  # noqa: S105 (a variable name)


class _Stop(KitError):
    """The sequence cannot go on (no conclusion either way)."""


class Machine(FollowUps):
    def __init__(self, ctx: ServerContext, plan: Plan) -> None:
        self.ctx, self.plan = ctx, plan
        self.accounts: dict[str, Account] = {MAIN: ctx.account}
        if plan.second and ctx.tricky is not None:
            self.accounts[SECOND] = ctx.tricky
            ctx.sequence.variables[ctx.tricky.password] = SECOND_PASSWORD
        self.model = Model()
        for name, account in self.accounts.items():
            self.model.add(name, account.user_id, account.password, account.issued)
        self.second_usable = SECOND in self.accounts
        self.plays = 0
        self.elapsed = 0.0
        self.play_keys: set[str] = set()  # the keys issued during the current play
        self.query_format_failed = False  # RK-HTTP-009 reported (once a run)

    # --- generation ------------------------------------------------------------
    def steps(self) -> Generator[Step, None, None]:
        accounts = (MAIN, SECOND) if SECOND in self.accounts else (MAIN,)
        kinds = tuple(Kind)
        if self.ctx.max_rotations is not None:
            bad = (Kind.WRONG_PASSWORD, Kind.MALFORMED)
            kinds = tuple(k for k in Kind if k not in bad or self._bad_left())
        prefix = covering(self.ctx.seed, SECOND in self.accounts)
        # Drawn batch by batch, each while the one before is played (verdicts.draws);
        # the malformed requests are the covering prefix's alone.
        drawable = tuple(k for k in kinds if k is not Kind.MALFORMED)
        drawn = draws(steps_strategy(drawable, accounts), self.plan.steps, self.ctx.seed)
        try:
            for s in itertools.islice(itertools.chain(prefix, drawn), max(self.plan.steps, 0)):
                if s.kind in kinds and s.account in accounts:
                    yield s
        finally:
            close = getattr(drawn, "close", None)
            if close is not None:
                close()

    def _bad_left(self) -> bool:
        bound = self.ctx.max_bad_logins
        return bound is None or self.ctx.bad_logins < bound

    # --- one sequence ----------------------------------------------------------
    def play(self, steps: list[Step]) -> Fault | None:
        """Play ``steps`` after a login; the first fault, or None."""
        self.plays += 1
        self.ctx.sequence.start(None)
        self.play_keys = set()
        try:
            fault = self._login(MAIN, -1)
            second = False  # logged in only when a step first needs it
            for index, step in enumerate(steps):
                if fault is not None:
                    return fault
                if step.account == SECOND and self.second_usable and not second:
                    second = True
                    try:
                        fault = self._login(SECOND, index)
                    except _Stop:
                        self.second_usable = False
                    if fault is not None:
                        return fault
                if step.account == SECOND and not self.second_usable:
                    continue
                made = concrete(step, self.model, self._salt(index))
                if made is not None:
                    fault = self._one(index, step, made)
            return fault
        except _Stop:
            return None

    def _salt(self, index: int) -> str:
        data = f"{self.ctx.seed}:{self.plays}:{index}".encode()
        return hashlib.sha256(data).hexdigest()[:32]

    def _login(self, name: str, index: int) -> Fault | None:
        account = self.accounts[name]
        params = (("userId", account.user_id), ("password", account.password), ("format", "json"))
        spec = RequestSpec("POST", Encoding.FORM, params)
        made = Concrete(spec, presented(spec))
        prediction = self.model.predict(made.presented)
        ex = self.ctx.send(spec, Format.JSON, account=account)
        new = ex.new_key or ex.observed_key
        self.ctx.sequence.predict(spec, True, prediction.describe())
        if new is None:
            if name == MAIN:
                raise Blocked("the credentials did not regenerate the key (see RK-AUTH-001)")
            raise _Stop
        return self._compare(index, made, prediction, ex, new)

    def _one(self, index: int, step: Step, made: Concrete) -> Fault | None:
        if made.malformed is not None:
            return self._malformed(index, made)
        ctx, spec = self.ctx, made.spec
        prediction = self.model.predict(made.presented)
        for name, _source, _shell in made.derived:
            ctx.redactor.add(spec.param(name) if name == "password" else spec.header(name))
        # The format the answer must be in (None: any; another method's answer
        # is not judged as a body: an OPTIONS may answer 204, a 405 any text,
        # RK-HTTP-008 is a SHOULD); a key in an unjudged answer is still seen.
        # Format and error rules are left to their own checks (None, None).
        fmt, rule = answer_format(made.shape)
        other = fmt is None
        # An unknown format value must be refused (RK-FMT-004), but a server that
        # misreads where this shape put it never saw it: either answer is
        # followed here, and RK-FMT-004 is judged by its own check.
        # An empty <format/> is the default by RK-FMT-002 but not valid under
        # account.xsd: a refusal is conformant, a success must be plain.
        either = {
            "RK-FMT-004": "a format value not plain, json or xml",
            "RK-FMT-002": "an empty <format/> does not match account.xsd",
            "RK-HTTP-005": "parts with a filename may be filed apart",
        }
        empty = empty_format_element(made.shape)
        rid = rule if rule == "RK-FMT-004" or empty else "RK-HTTP-005"
        if (rid != "RK-HTTP-005" or either_outcome(made.shape)) and prediction.expects_key:
            refusal = Branch(None, rid, either[rid])
            prediction = Prediction((*prediction.branches, refusal))
        rotation = prediction.rotation
        owner = rotation.rotates if rotation else self.model._implied(made.presented)
        account = self.accounts.get(owner or MAIN, ctx.account)
        judged = rule if empty else None
        ex = ctx.send(spec, fmt, judged, account=account, error_rule=None)
        new = ex.new_key or ex.observed_key
        if other and new is None:
            new = self._key_in(ex, account)
        ctx.sequence.predict(spec, prediction.expects_key, prediction.describe(), made.derived)
        if new is None and not is_refusal(ex):
            if ex.status == 200 and owner is not None:
                self.model.lose(owner)  # an unreadable 200 may have rotated the key
            return None
        filed = either_outcome(made.shape) and prediction.branches[0].rid != "RK-AUTH-002"
        if new is None and filed and prediction.branches[0].rotates is not None:
            fault = self._compare(index, made, prediction, ex, new)  # the refusal branch
            return fault or self._follow_up(index, format_file_only(made))[1]
        fault = self._compare(index, made, prediction, ex, new)
        if fault is None and new is not None and rule == "RK-HTTP-009":
            return self._query_format(index, ex, made)
        return fault

    def _compare(
        self, index: int, made: Concrete, prediction: Prediction, ex: Exchange, new: str | None
    ) -> Fault | None:
        number = self.ctx.sequence.count  # this request's number in the replay
        obs = self.model.observe(number, made.presented, prediction, new)
        result = self.ctx.result
        local = new is None or new in self.play_keys
        if new is not None:
            self.play_keys.add(new)
        if obs.broken is None:
            for rid in obs.survived:
                result.record_pass(rid)
            if new is not None and len(self.model.owner) > 1:
                result.record_pass("RK-ROT-007")
            return None
        if new is None:
            return self._refused(index, made, prediction, ex)
        if obs.broken == "RK-ROT-002" and self._any_key_works(made):
            obs_rid = "RK-AUTH-006"
            return self._fault(obs_rid, index, ex, "a key never issued was accepted too", obs)
        what = {
            "RK-ROT-001": "a regeneration must return a new key",
            "RK-ROT-007": "a key once issued is never issued again",
        }.get(obs.broken, f"the request must be refused: {prediction.describe()}")
        fault = self._fault(obs.broken, index, ex, what, obs)
        fault.local = local or obs.broken != "RK-ROT-007"
        return fault

    def _fault(self, rid: str, index: int, ex: Exchange, what: str, obs: Observation) -> Fault:
        snapshot = self.ctx.sequence.snapshot()
        return Fault(rid, index, ex, what, obs.expected, obs.actual, snapshot)

    def _any_key_works(self, made: Concrete) -> bool:
        """The follow-up of an accepted revoked key: is a key never issued
        accepted too (RK-AUTH-006), or only the revoked one (RK-ROT-002)?"""
        key = self._salt(10_000)
        spec = RequestSpec("POST", Encoding.FORM, (("format", "json"),), (("apiKey", key),))
        ex = self.ctx.send(spec, Format.JSON, error_rule=None)
        if ex.new_key or ex.observed_key:
            for name in self.accounts:
                self.model.lose(name)
            return True
        return False

    def _refused(
        self, index: int, made: Concrete, prediction: Prediction, ex: Exchange
    ) -> Fault | None:
        """A request that had to regenerate the key was refused: the follow-up
        question is the same authentication in a plain form POST."""
        branch = prediction.branches[0]
        name = branch.rotates
        assert name is not None
        state, account = self.model.accounts[name], self.accounts[name]
        by_key = branch.rid == "RK-AUTH-002"
        if by_key:
            params: tuple[tuple[str, str], ...] = (("format", "json"),)
            headers: tuple[tuple[str, str], ...] = (("apiKey", made.presented.key or ""),)
        else:
            params = (("userId", state.user_id), ("password", state.password), ("format", "json"))
            headers = ()
        control = RequestSpec("POST", Encoding.FORM, params, headers)
        cex = self.ctx.send(control, Format.JSON, error_rule=None, account=account)
        worked = cex.new_key or cex.observed_key
        if worked is not None:
            followed = Concrete(control, presented(control))
            again = self.model.predict(followed.presented)
            fault = self._compare(index, followed, again, cex, worked)
            if fault is not None:
                return fault
            plain = relies_on(made.shape) == ("RK-HTTP-002", branch.rid)
            feature = {
                "RK-AUTH-007": "an empty apiKey header beside the credentials",
                "RK-AUTH-008": "empty userId and password beside the header",
            }
            if plain and made.shape.carrier is Carrier.FORM and branch.rid in feature:
                what = f"{feature[branch.rid]} must count as absent"
                snapshot = self.ctx.sequence.snapshot()
                return Fault(
                    branch.rid,
                    index,
                    ex,
                    what,
                    "a success with a new apiKey",
                    "a refusal",
                    snapshot,
                )
            return self._route_fault(index, made, ex)
        if not by_key:
            if state.credentials_refused:
                raise _Stop  # a lockout after wrong passwords is no conclusion
            what = "the credentials must keep working after a regeneration"
            actual, snapshot = "a refusal, in a plain form POST too", self.ctx.sequence.snapshot()
            return Fault("RK-ROT-004", index, ex, what, "a new apiKey", actual, snapshot)
        rid, suspects = self.model.dead_key_cause(name)
        self.model.lose(name, dead=True)
        if rid == "RK-ROT-003":
            what = "the key the server issued must work"
        else:
            step = suspects[-1].step
            what = f"the key stopped working after request {step}, which returned no new key"
            if rid == "RK-ROT-008":
                what = f"a regeneration of another account's key (request {step}) revoked it"
        expected = "a success with a new apiKey"
        actual = "a refusal, and in a plain form POST too"
        return Fault(rid, index, ex, what, expected, actual, self.ctx.sequence.snapshot())

    def _route_fault(self, index: int, made: Concrete, ex: Exchange) -> Fault | None:
        """The same authentication worked in a plain form POST: the shape was
        misread. Blamed only when the shape differs from the plain one in one
        requirement (:func:`~conformance.server.space.relies_on`) and sent no
        password that needs encoding (RK-PARAM-002 would be a second cause);
        otherwise that requirement's own check judges it."""
        ids, shape = relies_on(made.shape), made.shape
        password = made.presented.password or ""
        if len(ids) != 1 or ids[0] == "RK-PARAM-004" or not PLAIN_VALUE.fullmatch(password):
            return None
        if shape.format_spelling not in (None, "", "plain", "json", "xml"):
            return None  # a format in another letter case: RK-FMT-003 is a second cause
        what = f"a request read as the plain form POST is ({describe(made.shape)})"
        actual = "a refusal; the same authentication in a form POST regenerated the key"
        snapshot = self.ctx.sequence.snapshot()
        return Fault(ids[0], index, ex, what, "a success with a new apiKey", actual, snapshot)

    # --- the whole run ---------------------------------------------------------
    def shrink(self, steps: list[Step], fault: Fault) -> tuple[list[Step], Fault]:
        """Leave steps out while the same requirement still breaks."""
        steps = steps[: fault.index + 1]
        chunk, budget = max(1, len(steps) // 2), MAX_SHRINK_PLAYS
        while chunk >= 1 and budget > 0:
            i = 0
            while i < len(steps) and budget > 0:
                candidate = steps[:i] + steps[i + chunk :]
                budget -= 1
                try:
                    found = self.play(candidate) if candidate else None
                except Blocked:
                    return steps, fault
                same = found is not None and family(found.rid) == family(fault.rid)
                if found is not None and same and found.local:
                    steps, fault = candidate[: found.index + 1], found
                else:
                    i += chunk
            chunk //= 2
        return steps, fault

    def run(self) -> list[Fault]:
        steps, faults = self.steps(), []
        reported: set[str] = set()
        pending: dict[str, Fault] = {}  # faults no sequence of their own reproduces
        started = time.monotonic()
        try:
            while sequence := list(itertools.islice(steps, SEQUENCE_LENGTH)):
                fault = self.play(sequence)
                if fault is None or fault.rid in reported:
                    continue
                if not fault.local:
                    pending.setdefault(fault.rid, fault)
                    continue
                if self.plan.shrink:
                    _, fault = self.shrink(sequence, fault)
                faults.append(fault)
                reported.add(fault.rid)
                if len(reported) >= MAX_FAULTS:
                    break
        finally:
            steps.close()
            self.elapsed = time.monotonic() - started
            self._settle()
        return faults + [f for rid, f in pending.items() if rid not in reported]

    def _settle(self) -> None:
        """The suite's accounts hold the keys the model believes current."""
        for name, account in self.accounts.items():
            current = self.model.accounts[name].current
            account.api_key = current
