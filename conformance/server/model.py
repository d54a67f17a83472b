"""The state model that is the oracle of the lifecycle machine (issue 15).

Per account the model holds its credentials, its current key and every key
ever issued (the revoked ones). For a request, described by what it
presents (:class:`Presented`), :meth:`Model.predict` says what a conformant
server must answer: a success with a *new* key for one account, or a
refusal, each :class:`Branch` naming the requirement that says so. Where the
page leaves the answer to the implementation (RK-AUTH-009: a non-empty
header beside credentials; RK-HTTP-008 is only a SHOULD, so another method
may be treated as a POST) the prediction holds several branches, and
:meth:`Model.observe` follows the one the server took.

The model also remembers, per account, what happened since its current key
was issued (:attr:`AccountState.since`): when that key stops working, those
events are the suspects (RK-ROT-006 a refused GET or POST, RK-ROT-008 a
rotation of another account, RK-ROT-009 a request of another method), and
none at all means the issued key never worked (RK-ROT-003).

Pure Python: no I/O, no randomness.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: Methods a server must read (RK-HTTP-002, RK-HTTP-003); others may be refused.
READ_METHODS = ("GET", "POST")
#: A HEAD answer has no body, so it can never deliver a key.
BODYLESS = ("HEAD",)

REFUSED_REQUEST = "RK-ROT-006"
OTHER_ACCOUNT = "RK-ROT-008"
OTHER_METHOD = "RK-ROT-009"
NEVER_WORKED = "RK-ROT-003"


@dataclass(frozen=True)
class Presented:
    """What one request presents, as the model reads it: the method, and the
    first ``userId``, ``password`` and ``apiKey`` header values (None: absent,
    "": empty)."""

    method: str
    user_id: str | None = None
    password: str | None = None
    key: str | None = None

    @property
    def has_credentials(self) -> bool:
        return bool(self.user_id) or bool(self.password)


@dataclass(frozen=True)
class Branch:
    """One answer a conformant server may give: ``rotates`` names the account
    whose key is replaced (None: a refusal); ``rid`` the requirement that says
    so; ``why`` the reason, in words."""

    rotates: str | None
    rid: str
    why: str


@dataclass(frozen=True)
class Prediction:
    branches: tuple[Branch, ...]

    @property
    def expects_key(self) -> bool | None:
        """True: every branch issues a key; False: none does; None: either."""
        rotating = {b.rotates is not None for b in self.branches}
        return rotating.pop() if len(rotating) == 1 else None

    @property
    def refusal(self) -> Branch | None:
        return next((b for b in self.branches if b.rotates is None), None)

    @property
    def rotation(self) -> Branch | None:
        return next((b for b in self.branches if b.rotates is not None), None)

    def describe(self) -> str:
        """The expected answer, as a step's comment says it."""
        return " or ".join(f"{_answer(b)} ({b.rid}: {b.why})" for b in self.branches)


def _answer(branch: Branch) -> str:
    return "a success with a new apiKey" if branch.rotates else "a refusal: no new apiKey"


@dataclass(frozen=True)
class Event:
    """Something that happened to an account's current key since it was
    issued: step ``step`` of the sequence, suspect under ``rid`` if the key
    died (None: a use of the key that worked)."""

    step: int
    rid: str | None


@dataclass
class AccountState:
    name: str
    user_id: str
    password: str
    current: str | None = None
    revoked: list[str] = field(default_factory=list)
    since: list[Event] = field(default_factory=list)
    credentials_refused: bool = False  # a wrong password was tried: a lockout is possible

    def suspects(self) -> list[Event]:
        return [e for e in self.since if e.rid is not None]


@dataclass(frozen=True)
class Observation:
    """What :meth:`Model.observe` concluded: the branch the server took, or
    the one it broke (``broken``: the requirement, ``expected``/``actual``)."""

    branch: Branch | None
    broken: str | None = None
    expected: str = ""
    actual: str = ""
    survived: tuple[str, ...] = ()  # suspects the key that authenticated outlived


class Model:
    """Accounts, their keys, and what a conformant server answers."""

    def __init__(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.owner: dict[str, str] = {}  # every key ever issued -> its account
        self.uncertain: set[str] = set()  # keys that may or may not still be valid

    # --- state -----------------------------------------------------------------
    def add(self, name: str, user_id: str, password: str, issued: Iterable[str] = ()) -> None:
        """An account; ``issued`` the keys it was given before, oldest first
        (all but the last are revoked; the last may still be current)."""
        state = AccountState(name, user_id, password, revoked=list(issued))
        self.accounts[name] = state
        for key in issued:
            self.owner.setdefault(key, name)

    def lose(self, name: str, dead: bool = False) -> None:
        """The account's key may have changed unseen: it is not known any more.
        A ``dead`` key (refused) counts as revoked; any other is uncertain:
        never presented again, and no fault if it comes back."""
        state = self.accounts[name]
        if state.current is not None:
            (state.revoked.append if dead else self.uncertain.add)(state.current)
        state.current, state.since = None, []

    def revoked_keys(self) -> list[str]:
        return [k for a in self.accounts.values() for k in a.revoked]

    def key_account(self, key: str) -> AccountState | None:
        """The account whose current key ``key`` is (exact: keys are case-sensitive)."""
        return next((a for a in self.accounts.values() if a.current == key), None)

    def credential_account(self, user_id: str, password: str) -> AccountState | None:
        return next(
            (a for a in self.accounts.values() if a.user_id == user_id and a.password == password),
            None,
        )

    # --- prediction ----------------------------------------------------------
    def predict(self, p: Presented) -> Prediction:
        if p.method in BODYLESS:
            return Prediction((Branch(None, OTHER_METHOD, f"a {p.method} answer has no body"),))
        if p.method not in READ_METHODS:
            # RK-HTTP-008 (405) is a SHOULD: a server may answer it as a POST.
            as_post = self.predict(Presented("POST", p.user_id, p.password, p.key))
            refusal = Branch(None, OTHER_METHOD, f"{p.method} is not GET or POST")
            return Prediction(_unique((refusal, *as_post.branches)))
        header = self._by_header(p.key) if p.key else None
        credentials = self._by_credentials(p)
        if header is not None and p.has_credentials and p.user_id and p.password:
            # RK-AUTH-009: which one a server uses is implementation-defined.
            return Prediction(_unique((header, credentials)))
        if header is not None:
            return Prediction((header,))  # empty fields count as absent (RK-AUTH-008)
        return Prediction((credentials,))

    def _by_header(self, key: str) -> Branch:
        account = self.key_account(key)
        if account is not None:
            return Branch(account.name, "RK-AUTH-002", f"the current key of {account.name}")
        if key in self.owner and key not in self.uncertain:
            return Branch(None, "RK-ROT-002", f"a revoked key of {self.owner[key]}")
        return Branch(None, "RK-AUTH-006", "a key never issued")

    def _by_credentials(self, p: Presented) -> Branch:
        if not p.user_id and not p.password:
            rid = "RK-AUTH-004"
            return Branch(None, rid, "no credentials" + (", an empty apiKey" if p.key else ""))
        if not p.user_id or not p.password:
            return Branch(None, "RK-AUTH-005", "only one of userId and password")
        account = self.credential_account(p.user_id, p.password)
        if account is None:
            return Branch(None, "RK-AUTH-005", "a wrong password or an unknown userId")
        rid = "RK-AUTH-007" if p.key == "" else "RK-AUTH-001"
        return Branch(account.name, rid, f"the credentials of {account.name}")

    # --- observation -----------------------------------------------------------
    def observe(
        self, step: int, p: Presented, prediction: Prediction, new_key: str | None
    ) -> Observation:
        """The server answered ``p`` (step ``step``) with ``new_key`` (None: no
        key). Follows the branch it took, or names the requirement it broke;
        either way the state is what the server now holds."""
        if new_key is None:
            refusal = prediction.refusal
            if refusal is not None:
                self._note(step, p)
                return Observation(refusal)
            branch = prediction.branches[0]
            return Observation(None, branch.rid, _answer(branch), "a refusal: no new apiKey")
        rotation = prediction.rotation
        if rotation is None:
            branch = prediction.branches[0]
            self._rotate(step, self._implied(p), new_key)
            expected = f"a refusal: no new apiKey ({branch.why})"
            return Observation(None, branch.rid, expected, "a success with a new apiKey")
        assert rotation.rotates is not None
        survived: tuple[str, ...] = ()
        if rotation.rid == "RK-AUTH-002" and len(prediction.branches) == 1:
            events = self.accounts[rotation.rotates].suspects()
            survived = tuple(sorted({e.rid for e in events if e.rid}))
        reused = self._reused(rotation.rotates, new_key)
        self._rotate(step, rotation.rotates, new_key)
        if reused is not None:
            rid, what = reused
            return Observation(None, rid, "a key never issued before", what)
        return Observation(rotation, survived=survived)

    def _reused(self, name: str, key: str) -> tuple[str, str] | None:
        state = self.accounts[name]
        if key == state.current:
            return "RK-ROT-001", "the account's current key again"
        if key in self.uncertain:
            return None
        if key in self.owner:
            other = self.owner[key]
            whose = "its own" if other == name else f"{other}'s"
            current = self.accounts[other].current == key
            return "RK-ROT-007", f"{whose} {'current' if current else 'revoked'} key"
        return None

    def _implied(self, p: Presented) -> str:
        """The account a wrongly accepted request most likely rotated."""
        if p.key and p.key in self.owner:
            return self.owner[p.key]
        same = [a for a in self.accounts.values() if p.user_id and a.user_id == p.user_id]
        return (same or list(self.accounts.values()))[0].name

    def _rotate(self, step: int, name: str, key: str) -> None:
        state = self.accounts[name]
        if state.current is not None and state.current != key:
            state.revoked.append(state.current)
        state.current, state.since = key, []
        self.owner.setdefault(key, name)
        for other in self.accounts.values():
            if other.name != name and other.current is not None:
                other.since.append(Event(step, OTHER_ACCOUNT))

    def _note(self, step: int, p: Presented) -> None:
        """A request that rotated nothing: a suspect for every account's key."""
        rid = REFUSED_REQUEST if p.method in READ_METHODS else OTHER_METHOD
        for state in self.accounts.values():
            if state.current is not None:
                state.since.append(Event(step, rid))
        if p.user_id and p.password and self.credential_account(p.user_id, p.password) is None:
            for state in self.accounts.values():
                if state.user_id == p.user_id:
                    state.credentials_refused = True

    def dead_key_cause(self, name: str) -> tuple[str, list[Event]]:
        """The account's current key no longer works: the requirement its death
        breaks, and the suspect events (the last one's id when several)."""
        suspects = self.accounts[name].suspects()
        return (suspects[-1].rid or NEVER_WORKED, suspects) if suspects else (NEVER_WORKED, [])


def _unique(branches: Iterable[Branch]) -> tuple[Branch, ...]:
    seen: dict[tuple[str | None, str], Branch] = {}
    for b in branches:
        seen.setdefault((b.rotates, b.rid), b)
    return tuple(seen.values())
