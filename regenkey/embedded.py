"""Throwaway accounts for the embedded reference server (served with
``conformance.transport.loopback.serving``)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.server.runner import Account


def throwaway_accounts() -> tuple[Account, Account]:
    """Two fresh accounts: a plain password for most checks, and one that needs
    URL-encoding everywhere (space, +, &, =, %41, non-ASCII) for RK-PARAM-002."""
    from conformance.server.runner import Account

    plain = Account("regenkey-sandbox", f"Sandbox-{secrets.token_hex(8)}")
    tricky = Account("regenkey-tricky", f"Tr1cky {secrets.token_hex(4)}+&=%41ü")
    return plain, tricky
