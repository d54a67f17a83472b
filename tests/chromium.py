"""Headless Chromium for the tests that look at a page as a person would."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """The browser's executable; the test skips, saying why, where there is none."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed: .ci/run installs Debian's chromium")
    return exe


def browse(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless run with its own profile (``--dump-dom``, ``--screenshot=…``)."""
    argv = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
