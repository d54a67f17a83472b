"""Live progress (issue 18): one line redrawn in place on a terminal, moving
within a check too; plain lines, free of escape codes, everywhere else.

The terminal is a real pseudo-terminal (the ``pty`` module) around a real
``regenkey check-server`` judging the embedded reference server on 127.0.0.1.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import Redactor
from regenkey.progress import LiveProgress, PlainProgress, progress_for, wants_live

CLIENTS = Path(__file__).resolve().parent / "clients"
REGENKEY = str(Path(sys.executable).parent / "regenkey")
ESCAPE = re.compile(r"\x1b\[")
LIVE_LINE = re.compile(r"(\d+)/(\d+) done \| (\d+) requests? \|[^\r]*\| now: (\w+)")


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGENKEY_")}
    base.pop("NO_COLOR", None)
    return {**base, "TERM": "xterm-256color", **extra}


def _in_a_terminal(args: list[str], cwd: Path, env: dict[str, str], limit_s: float = 240) -> str:
    """Run ``regenkey ARGS`` with a pseudo-terminal as its stdin, stdout and
    stderr; everything it wrote, until it exits (bounded by ``limit_s``)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.chdir(cwd)
        os.execve(REGENKEY, [REGENKEY, *args], env)
    out = b""
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode("utf-8", "replace")


def test_on_a_terminal_one_line_updates_in_place_within_a_check(tmp_path: Path) -> None:
    # RK-SAFE-001's check sends hundreds of requests at this size: the line must move
    # while it runs (requests sent so far), not only when it ends.
    out = _in_a_terminal(
        ["check-server", "--max-examples", "400", "--seed", "7", "--report-dir", "r"],
        tmp_path,
        _env(),
    )
    assert "Verdict:" in out, out[-2000:]
    assert "\r" in out and ESCAPE.search(out), "no carriage return or cursor control"
    assert "\x1b[2K" in out  # the line is erased and redrawn in place
    assert not re.search(r"^\s*\[\s*\d+/\d+\] ", out, re.MULTILINE), "plain per-check lines"
    seen: dict[str, set[int]] = {}
    for done, total, sent, check in LIVE_LINE.findall(out):
        assert int(done) < int(total)
        seen.setdefault(check, set()).add(int(sent))
    assert any(len(counts) >= 2 for counts in seen.values()), seen  # moved within a check
    assert re.search(r"\d+:\d\d elapsed", out) and re.search(r"~\d+:\d\d left", out)
    final = re.findall(r"(\d+)/\1 done \| (\d+) requests \| \d+:\d\d elapsed", out)
    assert final, "the last line states the totals"
    summary = re.search(r"\n(\d+) requests, seed 7", out)
    assert summary and int(summary.group(1)) == int(final[-1][1])
    assert "Verdict: PASS" in out


def test_the_client_suite_draws_the_live_line_too(tmp_path: Path) -> None:
    client = f"{shlex.quote(sys.executable)} {shlex.quote(str(CLIENTS / 'pyclient.py'))}"
    out = _in_a_terminal(
        ["check-client", "--command", client, "--seed", "7", "--report-dir", "r"], tmp_path, _env()
    )
    assert "Verdict: PASS" in out, out[-2000:]
    assert "\r\x1b[2K" in out
    assert re.search(r"\d+/\d+ done \| \d+:\d\d elapsed \| ~\d+:\d\d left \| last: \d", out)
    assert re.search(r"(\d+)/\1 done \| \d+:\d\d elapsed\r", out), out[-3000:]
    assert not re.search(r"^\s*\[\s*\d+/\d+\] ", out, re.MULTILINE)


def _plain_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"^\s*\[\s*\d+/\d+\] ", line)]


def test_no_terminal_gets_plain_lines_and_no_escape_codes(tmp_path: Path) -> None:
    done = subprocess.run(
        [REGENKEY, "check-server", "--max-examples", "20", "--report-dir", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout
    lines = _plain_lines(done.stdout)
    assert len(lines) > 10 and lines[0].lstrip().startswith("[ 1/")


def test_no_color_and_a_dumb_terminal_get_the_plain_lines(tmp_path: Path) -> None:
    for extra in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        out = _in_a_terminal(
            ["check-server", "--max-examples", "10", "--report-dir", "r"], tmp_path, _env(**extra)
        )
        assert "Verdict:" in out, out[-2000:]
        assert not ESCAPE.search(out), (extra, out[:500])
        assert len(_plain_lines(out)) > 10, extra


class _Tty(io.StringIO):
    """A stream that says whether it is a terminal."""

    def __init__(self, answer: bool) -> None:
        super().__init__()
        self.answer = answer

    def isatty(self) -> bool:
        return self.answer


def test_wants_live_reads_the_terminal_no_color_and_term(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_live(_Tty(True)) and not wants_live(_Tty(False))
    assert isinstance(progress_for(Redactor(), _Tty(True)), LiveProgress)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_live(_Tty(True))
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_live(_Tty(True))
    assert isinstance(progress_for(Redactor(), _Tty(True)), PlainProgress)


def test_the_live_line_is_redacted_escaped_and_estimates() -> None:
    secret = "Sekret-Pass-9876"
    stream = _Tty(True)
    progress = LiveProgress(Redactor([secret]), stream)
    try:
        progress.on_send(f"check_{secret}\x1b[31m", 41)
        progress.on_send(f"check_{secret}\x1b[31m", 42)
        text = progress.text()
        assert secret not in text and "\x1b" not in text
        assert "42 requests" in text and "estimating" in text
        progress(5, 10, "a_check", "ok")
        assert "5/10 done" in progress.text() and " left" in progress.text()
        progress(10, 10, "last_check", "failures")  # the last one closes the line
    finally:
        progress.close()
    drawn = stream.getvalue()
    assert secret not in drawn and "\x1b[31m" not in drawn
    assert "10/10 done | 42 requests" in drawn and "1 not ok\n" in drawn  # line ended
