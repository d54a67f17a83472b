"""The kit's exceptions, all under one base, :class:`KitError`: the catalogue or
the registry broken (the kit's own fault), the target broke (ERROR), the run's
own account was refused everywhere (ERROR), a check cannot go on (blocked:
SKIP), a parser command broke (ERROR), an exchange did not complete."""

from __future__ import annotations

__all__ = [
    "Blocked",
    "CatalogueError",
    "CredentialsRefused",
    "ExchangeError",
    "KitError",
    "ParserBroke",
    "RegistryError",
    "TargetError",
]


class KitError(Exception):
    """The base of every exception the kit raises on purpose: ``except KitError``
    catches them all, and nothing else."""


class CatalogueError(KitError, ValueError):
    """The catalogue file breaks its own rules."""


class RegistryError(KitError, ValueError):
    """A check was declared against the registry's rules."""


class ExchangeError(KitError):
    """The exchange did not complete: the target (or the network) broke it."""


class ParserBroke(KitError):
    """The parser command cannot be judged any further (ERROR)."""


class TargetError(KitError):
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


class Blocked(KitError):
    """A check cannot go on because an earlier response was unusable; ``causes``
    names the requirement ids at fault, when known (reports draw the chain)."""

    def __init__(self, message: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.causes = causes
