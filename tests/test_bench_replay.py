"""The limit's second baseline (bench/limit.py): check-server's own requests,
captured in memory and replayed as a bare loop, so that the server's hashing of
refused logins is on both sides of the ratio (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from bench import limit
from bench.common import ROOT, env, reference_server
from bench.suite import PASSWORD, REQUEST_LINE, USER

pytestmark = pytest.mark.slow  # two reference servers and a whole check-server run


def test_the_replay_sends_check_servers_requests_and_writes_no_secret() -> None:
    os.environ["REGENKEY_PASSWORD"] = PASSWORD
    try:
        sent = limit.captured(2, seed=3)
    finally:
        del os.environ["REGENKEY_PASSWORD"]
    assert len(sent) > 100  # the whole suite, not one check
    assert all(url.startswith("{base}/") for _, url, _, _ in sent)
    wrong = [
        s
        for s in sent
        if f"password={PASSWORD}x".encode() in (s[3] if isinstance(s[3], bytes) else b"")
    ]
    assert (
        wrong
    )  # a refused login the server must hash, captured with the real password's neighbour
    assert any(isinstance(body, list) for *_, body in sent)  # the chunked request too
    with reference_server([(USER, PASSWORD)]) as srv:
        before = srv.log_lines(REQUEST_LINE)
        figures = limit.replay(srv.url, sent)
        srv_seen = 0
        for _ in range(100):  # the access log is written every 10 ms: bounded wait
            srv_seen = srv.log_lines(REQUEST_LINE) - before
            if srv_seen >= len(sent) - figures["errors"]:
                break
            time.sleep(0.05)
    assert figures["requests"] == len(sent) and figures["rps"] > 0
    assert srv_seen >= len(sent) - figures["errors"] > 0


def test_the_replay_process_prints_figures_only() -> None:
    with reference_server([(USER, PASSWORD)]) as srv:
        done = subprocess.run(
            [sys.executable, "-m", "bench.limit", "replay", srv.url, "2", "1"],
            env=env(REGENKEY_PASSWORD=PASSWORD),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert set(figures) == {"requests", "seconds", "rps", "errors"}
    assert PASSWORD not in done.stdout + done.stderr
