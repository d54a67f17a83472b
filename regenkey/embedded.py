"""Throwaway accounts for the embedded reference server (served with
``conformance.transport.loopback.serving``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxAccount:
    user_id: str
    password: str


def throwaway_accounts() -> tuple[SandboxAccount, SandboxAccount]:
    """Two fresh accounts: a plain password for most checks, and one that needs
    URL-encoding everywhere (space, +, &, =, %41, non-ASCII) for RK-PARAM-002."""
    plain = SandboxAccount("regenkey-sandbox", f"Sandbox-{secrets.token_hex(8)}")
    tricky = SandboxAccount("regenkey-tricky", f"Tr1cky {secrets.token_hex(4)}+&=%41ü")
    return plain, tricky
