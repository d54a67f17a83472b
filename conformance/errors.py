"""What stops a server check: the target broke (ERROR), the run's own account
was refused everywhere (ERROR), or a check cannot go on (blocked: SKIP)."""

from __future__ import annotations

__all__ = ["Blocked", "CredentialsRefused", "TargetError"]


class TargetError(Exception):
    """The target could not be reached or broke the connection: an ERROR."""

    def stops_the_run_because(self) -> str:
        """Why the checks after this one are not run (each is an ERROR)."""
        return f"the target stopped answering ({self})"


class CredentialsRefused(TargetError):
    """The run's own account authenticated in no request form (nor by a key
    given): the user's setup is wrong, which says nothing about the target."""

    MESSAGE = (
        "the account's credentials were refused in every form: check --user-id / REGENKEY_PASSWORD"
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)

    def stops_the_run_because(self) -> str:
        return self.MESSAGE


class Blocked(Exception):
    """A check cannot go on because an earlier response was unusable; ``causes``
    names the requirement ids at fault, when known (reports draw the chain)."""

    def __init__(self, message: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.causes = causes
