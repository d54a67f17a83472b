"""Which proxy a command's requests go through: only one it was given.

The kit never reads ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` (a
sandbox password would travel in cleartext to whatever they name). A live
(non-loopback) target is reached through ``--proxy URL`` when given, and the
command says so; a loopback target never goes through a proxy.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def shown(proxy: str) -> str:
    """The proxy URL for the terminal, any user:password in it masked."""
    parts = urlsplit(proxy)
    if parts.username is None:
        return proxy
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def choose_proxy(proxy: str | None, base_url: str) -> tuple[str | None, list[str], str | None]:
    """(the proxy to use, lines to tell the user, a usage problem or None)."""
    from conformance.transport.exchange import is_loopback

    if proxy is not None:
        parts = urlsplit(proxy)
        if parts.scheme != "http" or not parts.hostname:
            return None, [], f"--proxy must be an http://host:port URL, not {shown(proxy)!r}"
        try:
            parts.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            return None, [], f"--proxy has an invalid port: {shown(proxy)!r}"
        if is_loopback(base_url):
            return None, [f"Not using --proxy {shown(proxy)}: {base_url} is loopback"], None
        return proxy, [f"Requests to {base_url} go through the proxy {shown(proxy)}"], None
    found = sorted({n.upper() for n in PROXY_VARIABLES if os.environ.get(n)})
    if found and not is_loopback(base_url):
        note = f"Not using {', '.join(found)} from the environment (pass --proxy to use a proxy)"
        return None, [note], None
    return None, [], None
