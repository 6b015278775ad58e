"""Which tables an attempt wrote: read from the audit log, not trusted from the pipeline file.

Every governed write leaves an audit record with the session's run id, and
a write inside a transaction is recorded ``ok`` only once it committed. So
the committed writes tagged with the run's id since the attempt started are
exactly what the attempt changed. A step's writes are staged and published
by the runner under the same run id; a failed attempt has none, unless its
notebook opened a session with ``stage=False`` and committed before failing
(the history says so).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def written_tables(audit_dir: Path, run_id: str, since: dt.datetime, *, ignore: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Tables with a committed write by ``run_id`` at or after ``since`` (naive UTC), sorted."""
    folder = Path(audit_dir)
    if not folder.is_dir():
        return ()
    # file times have their own rounding; the records' own times decide
    cutoff = since.replace(tzinfo=dt.timezone.utc).timestamp() - 1
    found: set[str] = set()
    for path in folder.glob("*.jsonl"):
        if path.stat().st_mtime < cutoff:
            continue
        found.update(_tables_in(path, run_id, since))
    return tuple(sorted(found - set(ignore)))


def _tables_in(path: Path, run_id: str, since: dt.datetime) -> set[str]:
    tables: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if run_id not in line:  # cheap filter before parsing
                continue
            try:
                rec = json.loads(line)
            except ValueError:  # a line being appended right now
                continue
            if (rec.get("run_id") == run_id and rec.get("action") == "write" and rec.get("status") == "ok"
                    and dt.datetime.fromisoformat(rec["ts"]) >= since):
                tables.update(rec.get("tables") or ())
    return tables
