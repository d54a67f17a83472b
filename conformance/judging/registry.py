"""Checks register here, each naming the requirement ids it judges.

A check is a function named for the property that must hold
(``old_key_is_revoked``); the first line of its docstring starts with the id
it judges and paraphrases it. :func:`check` enforces both, so the catalogue,
the checks and the reports can never disagree about what a check is for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from conformance.errors import RegistryError
from conformance.spec.catalogue import Party, is_known, requirement

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class CheckSpec:
    """A registered check."""

    name: str
    requirement_ids: tuple[str, ...]
    party: Party
    summary: str
    func: Callable[..., Any]
    requires: tuple[str, ...] = ()
    destructive: bool = True  # may regenerate the key when the target is correct


_REGISTRY: dict[str, CheckSpec] = {}


def check(
    *requirement_ids: str,
    party: Party = Party.SERVER,
    requires: tuple[str, ...] = (),
    destructive: bool = True,
) -> Callable[[F], F]:
    """Register a check that judges ``requirement_ids`` for ``party``.

    ``requires`` names foundational requirements the check leans on: when one
    of them has already failed, the check is blocked (SKIP, naming the cause)
    instead of failing under its own ids for a fault that is not theirs.
    ``destructive=False`` marks a check that rotates no key on a correct
    target; live runs send those first.
    """
    if not requirement_ids:
        raise RegistryError("a check must name at least one requirement id")
    for rid in (*requirement_ids, *requires):
        if not is_known(rid):
            raise RegistryError(f"unknown requirement id: {rid}")

    def decorate(func: F) -> F:
        name = func.__name__
        if not _NAME.match(name):
            raise RegistryError(f"check name must be snake_case: {name}")
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise RegistryError(f"check registered twice: {name}")
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
        if not summary.startswith(requirement_ids[0]):
            raise RegistryError(f"{name}: docstring must start with {requirement_ids[0]}")
        for rid in requirement_ids:
            req = requirement(rid)
            if party is Party.SERVER and not req.applies_to_server():
                raise RegistryError(f"{name}: {rid} does not apply to servers")
            if party is Party.CLIENT and not req.applies_to_client():
                raise RegistryError(f"{name}: {rid} does not apply to clients")
        _REGISTRY[name] = CheckSpec(
            name, tuple(requirement_ids), party, summary, func, tuple(requires), destructive
        )
        return func

    return decorate


def registered_checks(party: Party | None = None) -> list[CheckSpec]:
    """The registered checks, in registration order."""
    return [c for c in _REGISTRY.values() if party is None or c.party is party]


def get_check(name: str) -> CheckSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no check named {name}") from None
