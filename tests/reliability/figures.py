"""Each reliability test writes its measured figure to reports/reliability.json.

The file is merged, never overwritten: read what is there, set one key,
write atomically (a temporary file renamed over it), under a lock so that
tests running in parallel processes do not lose each other's figures.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).resolve().parents[2] / "reports"
FIGURES = REPORTS / "reliability.json"


def record(key: str, figure: dict[str, Any], path: Path = FIGURES) -> None:
    """Set ``key`` to ``figure`` (stamped with the time) in the JSON file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {**figure, "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                document = {}
        except (FileNotFoundError, ValueError):
            document = {}
        document[key] = entry
        fd, tmp = tempfile.mkstemp(prefix=".reliability-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
