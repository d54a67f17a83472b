"""Write what a run found: ``report.json``, ``junit.xml``, ``report.html`` and
the lifecycle reproduction scripts, into one directory.

Each file is written atomically (temporary file in the same directory, mode
0600, fsync, ``os.replace``), so a reader never sees half a report and a
symlink planted at a report's name is replaced, never followed. The writers
are :mod:`conformance.reporting.document`, :mod:`~conformance.reporting.junit`,
:mod:`~conformance.reporting.html` and :mod:`~conformance.reporting.scripts`;
all of them read the one :attr:`RunResult.verdict`. See ``docs/REPORTS.md``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conformance.judging.redaction import Redactor
from conformance.judging.results import RunResult
from conformance.reporting import scripts as report_scripts
from conformance.reporting.document import report_json
from conformance.reporting.html import report_html
from conformance.reporting.junit import junit_xml
from conformance.reporting.text import cleaner

FILES = {"json": "report.json", "junit": "junit.xml", "html": "report.html"}


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_reports(result: RunResult, directory: Path, redactor: Redactor) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html; return them by kind."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    contents = {
        "json": report_json(result, redactor),
        "junit": junit_xml(result, redactor),
        "html": report_html(result, redactor).encode("utf-8"),
    }
    written: dict[str, Path] = {}
    for kind, data in contents.items():
        path = directory / FILES[kind]
        _write_atomically(path, data)
        written[kind] = path
    for name, script in report_scripts.replay_scripts(result, cleaner(redactor)).items():
        path = directory / name  # beside report.html, which links to it
        _write_atomically(path, script.encode("utf-8", "backslashreplace"))
        path.chmod(0o700)
        written[name] = path
    return written
