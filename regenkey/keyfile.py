"""The key file of a live run: the newest key, written atomically, mode 0600.

A live run rotates a real account's key. Each new key is written here
before the next request goes out, so the user can never lose access.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, key: str) -> None:
        directory = self.path.parent if str(self.path.parent) else Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".regenkey-key-", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="ascii").strip() or None
        except FileNotFoundError:
            return None
