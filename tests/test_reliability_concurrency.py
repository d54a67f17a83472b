"""Concurrent regenerations on one account over real HTTP against a
`regenkey serve` process (SQLite store): every connection is open before the
first request is written, so all are in flight together.

Credentials: every caller gets a key, and exactly one of them is valid
afterwards (checked in the database by digest, and over HTTP: the others
are refused, that one works). The same key presented by every caller:
exactly one succeeds. 500 callers in `make soak`, 100 in `make test`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.reliability.burst import Reply, burst
from tests.reliability.figures import record
from tests.reliability.process import ServerProcess, server
from tests.reliability.raw import http_request

PATH = "/SMSApi/rest/regenerateAPIKey"
USER, PASSWORD = "busy-user", "Busy pa&ss 1"
CLOSE = ("Connection", "close")
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def _by_credentials() -> bytes:
    body = urlencode({"userId": USER, "password": PASSWORD, "format": "json"}).encode()
    return http_request("POST", PATH, [FORM, CLOSE], body)


def _by_key(key: str) -> bytes:
    return http_request("POST", PATH, [FORM, CLOSE, ("apiKey", key)], b"format=json")


def _key(reply: Reply) -> str | None:
    key = json.loads(reply.body).get("apiKey") if reply.status == 200 else None
    return key if isinstance(key, str) else None


def _stored_digest(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (digest,) = conn.execute("SELECT key_digest FROM accounts WHERE user_id = ?", (USER,))
        return str(digest[0])


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def run(tmp_path: Path, callers: int, key: str) -> None:
    with server(tmp_path, [(USER, PASSWORD)]) as proc:
        figure = _credentials_round(proc, tmp_path / "regenkey.sqlite3", callers)
        figure |= _same_key_round(proc, tmp_path / "regenkey.sqlite3", callers)
    record(key, {"callers": callers, **figure})


def _credentials_round(proc: ServerProcess, db: Path, callers: int) -> dict[str, object]:
    started = time.monotonic()
    replies = burst(proc.host, proc.port, [_by_credentials()] * callers)
    elapsed = time.monotonic() - started
    assert Counter(r.status for r in replies) == {200: callers}
    keys = [_key(r) for r in replies]
    issued = [k for k in keys if k]
    assert len(issued) == callers and len(set(issued)) == callers, "every caller gets its own key"
    valid = [k for k in issued if _digest(k) == _stored_digest(db)]
    assert len(valid) == 1, "exactly one valid key, one that a caller received"
    (survivor,) = valid
    others = [k for k in issued if k != survivor]
    refused = burst(proc.host, proc.port, [_by_key(k) for k in others])
    assert all(_key(r) is None and b'"error"' in r.body for r in refused), "the others are refused"
    assert _stored_digest(db) == _digest(survivor), "refusals rotate nothing"
    assert _key(burst(proc.host, proc.port, [_by_key(survivor)])[0]) is not None, "that one works"
    return {
        "credentials_seconds": round(elapsed, 2),
        "credentials_keys_issued": len(issued),
        "credentials_valid_after": len(valid),
        "credentials_others_refused": len(refused),
    }


def _same_key_round(proc: ServerProcess, db: Path, callers: int) -> dict[str, object]:
    (current,) = burst(proc.host, proc.port, [_by_credentials()])
    key = _key(current)
    assert key is not None
    started = time.monotonic()
    replies = burst(proc.host, proc.port, [_by_key(key)] * callers)
    elapsed = time.monotonic() - started
    winners = [k for k in map(_key, replies) if k]
    assert len(winners) == 1, f"{len(winners)} of {callers} requests with one key succeeded"
    assert _stored_digest(db) == _digest(winners[0])
    return {"same_key_seconds": round(elapsed, 2), "same_key_successes": len(winners)}


def test_100_concurrent_regenerations_leave_one_key(tmp_path: Path) -> None:
    run(tmp_path, 100, "concurrency_fast")


@pytest.mark.slow
def test_500_concurrent_regenerations_leave_one_key(tmp_path: Path) -> None:
    run(tmp_path, 500, "concurrency")
