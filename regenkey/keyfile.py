"""The key file of a live run: the newest key, written atomically, mode 0600.

A live run rotates a real account's key. Each new key is written here
before the next request goes out, so the user can never lose access.

The write goes to a temporary file beside the key file (``.<name>.new-*``,
mode 0600), which then replaces it. A run killed between the two leaves that
file behind holding the newest key: :meth:`KeyFile.leftovers` finds such
files, and ``check-server --live`` names them before it sends anything. They
are never deleted by the kit, since one may hold the only working key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def _directory(self) -> Path:
        return self.path.parent if str(self.path.parent) else Path(".")

    @property
    def _temp_prefix(self) -> str:
        return f".{self.path.name}.new-"

    def leftovers(self) -> list[Path]:
        """Temporary files an interrupted write of this key file left behind, oldest first."""
        try:
            found = list(self._directory.glob(f"{self._temp_prefix}*"))
        except OSError:
            return []
        return sorted(found, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)

    def write(self, key: str) -> None:
        directory = self._directory
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self._temp_prefix, dir=directory)
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
