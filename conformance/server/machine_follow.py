"""The lifecycle machine's follow-up questions on answers a conformant server
may give but that can hide a fault (issue 15), and what a fault carries.

- A multipart body whose parts all carry a filename was refused (a server may
  file such parts apart): the same credentials as plain fields beside a
  format part with a filename (:func:`~conformance.server.machine_steps.format_file_only`)
  tells a server that files parts apart (it reads the credentials) from one
  that refuses multipart with a filename at all (RK-HTTP-005).
- json or xml asked in the query of a POST answered in plain: the same beside
  a form (:func:`~conformance.server.machine_steps.beside_a_form`) tells a
  server that ignores the query of a POST (RK-HTTP-009, a SHOULD) from a
  carrier that misreads the request (its own check judges it).

Each follow-up is judged against the model like any request, so the key it
rotates is the one the model follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.protocol.records import Format
from conformance.server.context import UNREAD, Account, Exchange, ServerContext
from conformance.server.machine_answers import is_refusal, key_in, query_format_ignored
from conformance.server.machine_steps import MAIN, Concrete, beside_a_form
from conformance.server.model import Model, Prediction
from conformance.server.sequence import Snapshot
from conformance.server.space import Carrier
from conformance.server.space_shape import BODY_CARRIERS
from conformance.validation.bodies import validate_body


@dataclass
class Fault:
    rid: str
    index: int  # the step at which it showed
    exchange: Exchange
    message: str
    expected: str
    actual: str
    snapshot: Snapshot
    # False: it leans on a key issued before this sequence began, so the
    # sequence alone does not reproduce it (it is not shrunk, and gets no script)
    local: bool = True


class FollowUps:
    """The follow-up questions of :class:`~conformance.server.machine.Machine`."""

    ctx: ServerContext
    model: Model
    accounts: dict[str, Account]
    query_format_failed: bool

    def _compare(
        self, index: int, made: Concrete, prediction: Prediction, ex: Exchange, new: str | None
    ) -> Fault | None:
        raise NotImplementedError

    def _key_in(self, ex: Exchange, account: Account) -> str | None:
        """The new key of an answer sent unjudged (any format), kept as ``send`` keeps one."""
        new = key_in(ex)
        if new is not None:
            self.ctx.redactor.add(new)
            account.accept(new)
            self.ctx.rotations += 1
            self.ctx.sequence.answered(ex.spec, new)
        return new

    def _query_format(self, index: int, ex: Exchange, made: Concrete) -> Fault | None:
        """RK-HTTP-009 (a SHOULD, once a run): json or xml asked in the query of
        a POST answered in plain (:func:`query_format_ignored`). Beside a body
        other than a form, the follow-up is the same beside a form: answered as
        asked there, the carrier misread the request (its own check judges it)."""
        what = None if self.query_format_failed else query_format_ignored(ex.body, made.shape)
        if what is None:
            return None
        if made.shape.carrier in BODY_CARRIERS and made.shape.carrier is not Carrier.FORM:
            cex, fault = self._follow_up(index, beside_a_form(made))
            if fault is not None or query_format_ignored(cex.body, made.shape) is None:
                return fault
        self.query_format_failed = True
        self.ctx.fail("RK-HTTP-009", ex, what, f"a {made.shape.format_spelling} body", "plain")
        return None

    def _follow_up(self, index: int, followed: Concrete) -> tuple[Exchange, Fault | None]:
        """Send a follow-up question (any format), judged against the model."""
        prediction = self.model.predict(followed.presented)
        owner = prediction.rotation.rotates if prediction.rotation else None
        account = self.accounts.get(owner or MAIN, self.ctx.account)
        ex = self.ctx.send(followed.spec, None, None, account=account, error_rule=None)
        new = self._key_in(ex, account)
        self.ctx.sequence.predict(
            followed.spec, prediction.expects_key, prediction.describe(), followed.derived
        )
        if new is None and not is_refusal(ex):
            self.model.lose(owner or MAIN)  # an unreadable answer may have rotated the key
            return ex, None
        return ex, self._compare(index, followed, prediction, ex, new)

    def _malformed(self, index: int, made: Concrete) -> Fault | None:
        """A request no server can read in full (``space_values.malformed``):
        refused, rotating nothing (the model), in an error envelope judged as
        every error is: in the format asked when the request's format was
        readable, else in plain or the asked format, as its media type says (a
        4xx body that is no envelope at all is then a refusal of what was sent,
        left to the carrier's own check, as ``ServerContext.judge`` leaves it)."""
        assert made.malformed is not None
        item, ctx = made.malformed, self.ctx
        prediction = self.model.predict(made.presented)
        ex = ctx.send(item.spec, item.answer, account=ctx.account)
        new = ex.new_key or ex.observed_key
        if item.answer is None:
            new = self._key_in(ex, ctx.account)
            if new is None and 200 <= ex.status < 500 and ex.status not in UNREAD:
                fmt = _labelled(ex, made.asks)
                ids = validate_body(ex.body, fmt).requirement_ids
                envelope = all(rid.startswith("RK-ERR-") for rid in ids)
                rule = "RK-ERR-005" if envelope else None  # a 4xx that is no envelope: unjudged
                ctx.judge(ex, fmt, account=ctx.account, error_rule=rule)
        ctx.sequence.predict(item.spec, prediction.expects_key, prediction.describe())
        if new is None and not is_refusal(ex):
            self.model.lose(MAIN)  # an unreadable answer may have rotated the key
            return None
        return self._compare(index, made, prediction, ex, new)


def _labelled(ex: Exchange, asked: Format) -> Format:
    """The format an error to an unreadable request is judged in: plain when
    its media type says text/plain, else the format asked."""
    media = ex.headers.get("content-type", "").split(";")[0].strip().lower()
    return Format.PLAIN if media == "text/plain" else asked
