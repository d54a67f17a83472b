"""kill -9 of `regenkey serve` in the middle of a regeneration load on a
SQLite database, then a restart on the same file.

Eight clients each rotate their own account's key in a chain (the key just
received authenticates the next request), with a little think time, so that
at the kill some have a request in flight and some do not. After the
restart, for every account, in order: each acknowledged key but the last is
refused, and the last one works, unless that client had a request in flight
whose rotation the server committed before it died (the answer never left);
then the database holds a key no client was ever given, and credentials
recover it. A client with nothing in flight always finds its last key
working. `PRAGMA integrity_check` is "ok" after every kill.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.reliability.figures import record
from tests.reliability.process import ServerProcess, start_server
from tests.reliability.raw import Connection, NoResponse, http_request

PATH = "/SMSApi/rest/regenerateAPIKey"
ACCOUNTS = [(f"crash-{i}", f"Crash pass {i}!") for i in range(8)]
FORM = ("Content-Type", "application/x-www-form-urlencoded")


@dataclass
class Chain:
    user_id: str
    password: str
    acknowledged: list[str] = field(default_factory=list)
    in_flight: bool = False


def regenerate(
    conn: Connection, *, key: str | None = None, chain: Chain | None = None
) -> str | None:
    if key is not None:
        data = http_request("POST", PATH, [FORM, ("apiKey", key)], b"format=json")
    else:
        assert chain is not None
        body = urlencode({"userId": chain.user_id, "password": chain.password, "format": "json"})
        data = http_request("POST", PATH, [FORM], body.encode())
    answer = json.loads(conn.request(data).body)
    return answer.get("apiKey") if answer.get("status") == "success" else None


def load(proc: ServerProcess, chain: Chain, stop: threading.Event, rng: random.Random) -> None:
    conn = Connection(proc.host, proc.port, timeout=10)
    end = time.monotonic() + 30
    while not stop.is_set() and time.monotonic() < end:
        last = chain.acknowledged[-1] if chain.acknowledged else None
        chain.in_flight = True
        try:
            key = regenerate(conn, key=last, chain=chain)
        except (NoResponse, ValueError):
            return  # the server died mid-request: this one stays in flight
        assert key is not None, "a chained regeneration was refused while the server was up"
        chain.acknowledged.append(key)
        chain.in_flight = False
        stop.wait(rng.uniform(0, 0.01))
    conn.close()


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:  # opening replays the WAL, as a restart would
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def digests(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT user_id, key_digest FROM accounts").fetchall())


def one_cycle(tmp_path: Path, rng: random.Random) -> dict[str, int]:
    db, log = tmp_path / "regenkey.sqlite3", tmp_path / "serve.log"
    chains = [Chain(u, p) for u, p in ACCOUNTS]
    proc = start_server(db, log, ACCOUNTS)
    stop = threading.Event()
    threads = [
        threading.Thread(target=load, args=(proc, c, stop, random.Random(rng.random())))
        for c in chains
    ]
    for thread in threads:
        thread.start()
    # Each chain's first request is a login that pays scrypt at the modern cost,
    # which a loaded machine can stretch past the pause: the kill waits for it.
    ready = time.monotonic() + 30
    while not all(c.acknowledged for c in chains) and time.monotonic() < ready:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.3, 1.0))
    stop.set()  # no client starts another request; those in flight stay in flight
    proc.kill9()
    for thread in threads:
        thread.join(timeout=15)
    assert integrity(db) == "ok"
    stored = digests(db)
    tally = {"acknowledged": 0, "last_works": 0, "in_flight_committed": 0, "idle_at_kill": 0}
    proc = start_server(db, log, ACCOUNTS)
    try:
        conn = Connection(proc.host, proc.port, timeout=10)
        for chain in chains:
            keys = chain.acknowledged
            assert keys, f"{chain.user_id}: no regeneration was acknowledged before the kill"
            tally["acknowledged"] += len(keys)
            tally["idle_at_kill"] += not chain.in_flight
            for n, old in enumerate(keys[:-1]):  # in order, oldest first
                assert regenerate(conn, key=old) is None, f"{chain.user_id}: key #{n} still works"
            last_is_current = stored[chain.user_id] == hashlib.sha256(keys[-1].encode()).hexdigest()
            if last_is_current:
                assert regenerate(conn, key=keys[-1]) is not None
                tally["last_works"] += 1
                continue
            # Only a rotation the server committed but never acknowledged may
            # have replaced the last acknowledged key.
            assert chain.in_flight, f"{chain.user_id}: the last acknowledged key was lost"
            assert regenerate(conn, key=keys[-1]) is None
            unknown = {hashlib.sha256(k.encode()).hexdigest() for k in keys}
            assert stored[chain.user_id] not in unknown
            assert regenerate(conn, chain=chain) is not None, "credentials recover the account"
            tally["in_flight_committed"] += 1
        conn.close()
    finally:
        proc.stop()
    assert integrity(db) == "ok"
    (db.parent / "serve.log").unlink()
    return tally


def run(tmp_path: Path, cycles: int, seed: int, key: str) -> None:
    rng = random.Random(seed)
    totals = {"acknowledged": 0, "last_works": 0, "in_flight_committed": 0, "idle_at_kill": 0}
    for _ in range(cycles):
        for name, value in one_cycle(tmp_path, rng).items():
            totals[name] += value
    record(
        key,
        {
            "cycles": cycles,
            "accounts": len(ACCOUNTS),
            "seed": seed,
            "integrity_check": "ok",
            **totals,
        },
    )


def test_kill9_mid_load_keeps_the_last_acknowledged_key(tmp_path: Path) -> None:
    run(tmp_path, cycles=1, seed=7, key="crash_fast")


@pytest.mark.slow
def test_kill9_mid_load_ten_times(tmp_path: Path) -> None:
    run(tmp_path, cycles=10, seed=8, key="crash")
