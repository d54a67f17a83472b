"""Broken servers for the model-based lifecycle (issue 15): faults that only a
stateful request sequence shows (listed in :data:`tests.servers.broken.BROKEN`)."""

from __future__ import annotations

from collections.abc import Callable

from reference_impl.server import MemoryStore, build_app
from tests.servers.breaker import ASGI, Breaker, Req, Resp

Make = Callable[[MemoryStore, object], ASGI]


def keys_shown_as(
    fake_for: Callable[[str, dict[str, str], MemoryStore, set[str]], str],
) -> Make:
    """The client sees ``fake_for(...)`` instead of each issued key; the
    server maps each fake back to the real key it stands for."""

    def make(store: MemoryStore, accounts: object) -> ASGI:
        breaker = Breaker(build_app(store))
        real_of: dict[str, str] = {}
        valid_before: set[str] = set()

        def on_request(req: Req) -> Resp | None:
            valid_before.clear()
            valid_before.update(f for f, r in real_of.items() if store.authenticate_key(r))
            key = req.header("apikey")
            if key and key in real_of:
                req.set_header("apiKey", real_of[key])
            return None

        def on_response(req: Req, resp: Resp) -> None:
            record = resp.record
            if record is not None and record.is_success and record.api_key:
                fake = fake_for(record.api_key, real_of, store, valid_before)
                real_of[fake] = record.api_key
                resp.body = resp.body.replace(record.api_key.encode(), fake.encode())

        breaker.on_request, breaker.on_response = on_request, on_response
        return breaker

    return make


def _uuid_shaped(digits: str) -> str:
    return digits[:12] + "4" + digits[13:16] + "8" + digits[17:32]


def _counter_key(real: str, real_of: dict[str, str], store: MemoryStore, before: set[str]) -> str:
    """Keys from a counter, dressed as a version-4 UUID."""
    return _uuid_shaped(f"{0x5EED0000 + len(real_of):032x}")


def reissue_revoked(store: MemoryStore, accounts: object) -> ASGI:
    """A GET that regenerates by credentials returns the key the account was
    issued before its current one (revoked), valid again."""
    breaker = Breaker(build_app(store))
    real_of: dict[str, str] = {}
    shown_to: dict[str, list[str]] = {}  # account -> the keys it was shown, in order

    def on_request(req: Req) -> Resp | None:
        key = req.header("apikey")
        if key and key in real_of:
            req.set_header("apiKey", real_of[key])
        return None

    def on_response(req: Req, resp: Resp) -> None:
        record = resp.record
        if record is None or not record.is_success or not record.api_key:
            return
        history = shown_to.setdefault(store.authenticate_key(record.api_key) or "", [])
        shown = record.api_key
        if req.method == "GET" and not req.header("apikey") and len(history) >= 2:
            shown = history[-2]
            resp.body = resp.body.replace(record.api_key.encode(), shown.encode())
        history.append(shown)
        real_of[shown] = record.api_key

    breaker.on_request, breaker.on_response = on_request, on_response
    return breaker


def header_rotation_revokes_others(users: tuple[str, ...]) -> Make:
    """A regeneration by the apiKey header also replaces every other account's key."""

    def make(store: MemoryStore, accounts: object) -> ASGI:
        def fault(req: Req, resp: Resp) -> None:
            record = resp.record
            if req.header("apikey") and record is not None and record.is_success:
                owner = store.authenticate_key(record.api_key or "")
                for other in users:
                    if other != owner and store.current_key_digest(other) is not None:
                        store.rotate(other)

        return Breaker(build_app(store), on_response=fault)

    return make


def head_rotates(store: MemoryStore, accounts: object) -> ASGI:
    """A HEAD with a valid key replaces it, answered 405 like any HEAD."""

    def fault(req: Req) -> Resp | None:
        key = req.header("apikey")
        if req.method == "HEAD" and key:
            store.rotate_by_key(key)
        return None

    return Breaker(build_app(store), on_request=fault)


#: Keys from a counter, dressed as version-4 UUIDs (RK-KEY-003).
counter_keys = keys_shown_as(_counter_key)
