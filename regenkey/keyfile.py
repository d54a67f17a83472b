"""The key file of a live run: the newest key, written atomically, mode 0600.

A live run rotates a real account's key. Each new key is written here
before the next request goes out, so the user can never lose access.

The write goes to a temporary file beside the key file (``.<name>.new-*``,
mode 0600), which then replaces it. A run killed between the two leaves that
file behind holding the newest key: :meth:`KeyFile.leftovers` finds such
files, and ``check-server --live`` names them before it sends anything. They
are never deleted by the kit, since one may hold the only working key.

:meth:`KeyFile.preflight` proves the file can be written before the first
request; :meth:`KeyFile.save` turns any failure to write a new key into
:class:`KeyNotSaved`, which stops the run at once: the command then prints
that key to the terminal as the last resort (the only place a key is ever
printed unasked) and exits 2.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


class KeyNotSaved(BaseException):
    """A new key could not be written: the run must stop at once, so no further
    request can revoke the key only this process knows.

    It derives from BaseException so that no ``except Exception`` on the way
    (a check's kit-error handler) can swallow it and carry on rotating.
    """

    def __init__(self, key: str, path: Path, reason: str) -> None:
        super().__init__(f"the new key could not be written to {path}: {reason}")
        self.key = key
        self.path = path
        self.reason = reason


LAST_RESORT = "NEW API KEY (printed once, because it could not be saved; store it now)"


def print_unsaved_key(error: KeyNotSaved, command: str) -> None:
    """The single, deliberate place a key is printed: the last copy of it."""
    from regenkey.progress import close_all

    close_all()  # a live progress line ends first: the key gets lines of its own
    print(
        f"regenkey {command}: STOPPED: {error}. The previous key no longer works.\n"
        f"{LAST_RESORT}: {error.key}",
        file=sys.stderr,
        flush=True,
    )


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def preflight(self) -> str | None:
        """Prove, before anything is sent, that a key can be saved here: create,
        fsync and remove a temporary file beside the key file, as :meth:`write`
        would. The problem in words, or None."""
        if self.path.is_dir():
            return f"{self.path} is a directory"
        try:
            directory = self._directory
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=self._temp_prefix, dir=directory)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, b"preflight\n")
                os.fsync(fd)
            finally:
                os.close(fd)
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            return f"{self.path} cannot be written ({exc.strerror or type(exc).__name__})"
        return None

    def save(self, key: str) -> None:
        """:meth:`write`, or :class:`KeyNotSaved` (which stops the run)."""
        try:
            self.write(key)
        except OSError as exc:
            raise KeyNotSaved(key, self.path, exc.strerror or type(exc).__name__) from None

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
