"""The steps of a load that talk to the warehouse, all through the governed session.

Thin on purpose: the decisions are made by ``plan`` (pure). Here we only
ask the session what it knows (earlier loads of the same file, codes that
exist in core, the user's scope, keys already in raw) and write the outcome
in one transaction: good rows, quarantine rows and the log entry commit
together or not at all, so a failed load leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.ingest.contracts import CONTRACTS_FILE, Contract, header_key
from workbench.ingest.errors import IngestError
from workbench.ingest.plan import Plan, drop_existing, make_plan
from workbench.ingest.readers import file_sha256, read_file
from workbench.ingest.records import LOG_TABLE, QUARANTINE_TABLE, log_table, new_ingest_id, quarantine_table, utc_now, with_lineage
from workbench.ingest.validate import References

ProgressFactory = Callable[[str, int | None, str], Callable[[int], None]]  # (label, total, unit) -> update


@dataclass(frozen=True)
class PreviousLoad:
    ingest_id: str
    finished_at: dt.datetime
    user_name: str


@dataclass
class IngestResult:
    """What a load did (or, for a dry run, would do)."""

    table: str
    source_file: str
    ingest_id: str | None
    rows_read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    file_format: str = ""
    encoding: str | None = None
    problems: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    previous: PreviousLoad | None = None  # set when the file had been loaded before: nothing was done
    dry_run: bool = False


# --- asking the session ------------------------------------------------------------


def previous_load(session: Any, sha256: str, table: str) -> PreviousLoad | None:
    """The earlier load of these exact bytes into this table, if any."""
    if not session.table_exists(LOG_TABLE):
        return None
    log = session.table(LOG_TABLE)
    hit = (
        log.filter((log.file_sha256 == sha256) & (log.table_name == table))
        .order_by(log.finished_at)
        .select("ingest_id", "finished_at", "user_name")
        .limit(1)
        .to_pyarrow()
        .to_pylist()
    )
    return PreviousLoad(**hit[0]) if hit else None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [str(value)]
    return [str(v) for v in value]


def user_scope(session: Any) -> tuple[list[str] | None, str]:
    """The store codes this user may load (None: any), and how to say so in a message.

    The session resolves the user's row policy (own stores, or the stores of
    a region) into store codes; a session without that falls back to the
    user's ``stores`` attribute.
    """
    scope = getattr(session, "scope", None)
    if scope is not None:
        if scope.unrestricted:
            return None, ""
        return list(scope.store_codes), f"your stores: {scope.describe()}"
    stores = (getattr(session.user, "attributes", None) or {}).get("stores")
    return (None, "") if stores is None else (_as_list(stores), f"your stores: {', '.join(_as_list(stores))}")


def references(session: Any, contract: Contract) -> References:
    """Codes that exist in core (as this user sees them), and the values the user's scope allows."""
    known: dict[str, pa.Array] = {}
    cache: dict[tuple[str, str], pa.Array] = {}
    for rule in contract.columns:
        if rule.references is None:
            continue
        where = (rule.references.table, rule.references.column)
        if where not in cache:
            t = session.table(rule.references.table)
            cache[where] = t.select(rule.references.column).distinct().to_pyarrow().column(0).combine_chunks().cast(pa.string())
        known[rule.name] = cache[where]
    allowed, note = user_scope(session)
    scope = {} if allowed is None else {r.name: allowed for r in contract.columns if r.scope == "stores"}
    return References(known=known, scope=scope, scope_note=note)


def check_may_write(session: Any, contract: Contract) -> None:
    """Refuse before reading a million rows, not after: writes to the three tables, reads of what
    idempotence and the references need."""
    config, role = getattr(session, "config", None), getattr(session, "role", None)
    if config is None or role is None:
        return  # a session without grants to ask: the write itself will refuse
    no_write = [t for t in (contract.raw_table, QUARANTINE_TABLE, LOG_TABLE) if not config.can_write(role, t)]
    references = sorted({f"core.{c.references.table}" for c in contract.columns if c.references})
    no_read = [t for t in (contract.raw_table, LOG_TABLE, *references) if not config.can_read(role, t)]
    problems = ([f"no write grant for {', '.join(no_write)}"] if no_write else []) + ([f"no read grant for {', '.join(no_read)}"] if no_read else [])
    if problems:
        raise PermissionError(f"role {role.name!r} has {'; '.join(problems)}")
    if getattr(session, "read_only", False):
        raise PermissionError("the session is read-only")


def check_raw_table(session: Any, contract: Contract) -> None:
    """An existing ``raw.<table>`` must have the contract's columns: a contract edited after the
    first load (a column added) would otherwise fail half-way, after the file was read."""
    if not session.table_exists(contract.raw_table):
        return
    have = set(session.table(contract.raw_table).columns) - {"run_id"}
    want = contract.raw_schema()
    missing = [f for f in want if f.name not in have]
    extra = sorted(have - set(want.names))
    if missing:
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        ddl = "; ".join(f"ALTER TABLE {contract.raw_table} ADD COLUMN {f.name} {DuckDBType.to_string(ibis.dtype(f.type))}" for f in missing)
        raise IngestError(
            f"{contract.raw_table} was created under an earlier contract and lacks {', '.join(f.name for f in missing)}; "
            f"nothing was written. Ask an admin to add the column(s): {ddl}"
        )
    if extra:
        raise IngestError(
            f"{contract.raw_table} has column(s) {', '.join(extra)} that its contract no longer lists; "
            f"nothing was written. Restore them in {CONTRACTS_FILE.name}, or ask an admin to drop them from the table"
        )


def existing_rows(session: Any, contract: Contract, plan: Plan) -> pa.Table:
    """Rows of ``raw.<table>`` whose key is in the plan: found by a join in the engine, not by reading the table."""
    import ibis

    empty = contract.arrow_schema().append(pa.field("ingest_id", pa.string())).empty_table()
    if plan.good.num_rows == 0 or not session.table_exists(contract.raw_table):
        return empty
    raw = session.table(contract.raw_table)
    keys = ibis.memtable(plan.good.select(list(contract.key)))
    found = raw.semi_join(keys, list(contract.key)).select(*contract.column_names, "ingest_id").to_pyarrow()
    return found.cast(empty.schema)


def write(
    session: Any, contract: Contract, plan: Plan, log: pa.Table, ingest_id: str, at: dt.datetime,
    progress: Callable[[int], None] = lambda n: None,
) -> None:
    """Good rows, quarantine and the log entry in one transaction."""
    good = with_lineage(plan.good, contract, ingest_id, plan.raw.path.name, plan.good_source_row, at)
    quarantine = quarantine_table(plan.raw, plan.bad, contract, ingest_id, at)
    with session.transaction():
        for table, rows in ((contract.raw_table, good), (QUARANTINE_TABLE, quarantine), (LOG_TABLE, log)):
            if rows.num_rows or table == LOG_TABLE:
                session.write(table, rows, mode="append")
            progress(rows.num_rows)


# --- the whole load -------------------------------------------------------------------


def _status(plan: Plan) -> str:
    if plan.loaded == 0:
        return "nothing_loaded"
    return "partial" if plan.quarantined else "loaded"


def _no_progress(label: str, total: int | None, unit: str) -> Callable[[int], None]:
    return lambda n: None


def _header_test(contract: Contract) -> Callable[[list[str]], bool]:
    """A spreadsheet row is the header when it names at least one of the contract's columns."""
    spellings = {header_key(s) for c in contract.columns for s in (c.name, *c.aliases)}
    return lambda cells: any(header_key(c) in spellings for c in cells)


def ingest(
    session: Any,
    path: Path | str,
    contract: Contract,
    *,
    dry_run: bool = False,
    sheet: str | None = None,
    progress: ProgressFactory = _no_progress,
    today: dt.date | None = None,
) -> IngestResult:
    """Load one file into ``raw.<table>``; bad rows to ``raw.quarantine``; once per file content.

    Raises ``IngestError`` (nothing written) for a file that cannot be used
    at all, and ``PermissionError`` when the user may not write.
    """
    path = Path(path)
    started = utc_now()
    try:
        sha, size = file_sha256(path), path.stat().st_size
    except FileNotFoundError:
        raise IngestError(f"no file {path}; check the path") from None
    except IsADirectoryError:
        raise IngestError(f"{path} is a folder; give the path of one export file") from None
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}; check the path and its permissions") from None
    if not dry_run:
        check_may_write(session, contract)
    result = IngestResult(contract.table, path.name, None, dry_run=dry_run)
    result.previous = previous_load(session, sha, contract.table)
    if result.previous is not None:
        return result

    check_raw_table(session, contract)
    raw = read_file(path, progress(f"reading {path.name}", size, "B"), sheet=sheet, is_header=_header_test(contract))
    plan = make_plan(raw, contract, references(session, contract), today=today, progress=progress("checking rows", raw.table.num_rows, "row"))
    plan = drop_existing(plan, existing_rows(session, contract, plan))

    ingest_id = new_ingest_id(started)
    result.ingest_id = None if dry_run else ingest_id
    result.rows_read, result.loaded, result.quarantined, result.duplicates = raw.rows_read, plan.loaded, plan.quarantined, plan.duplicates
    result.file_format, result.encoding = raw.format, raw.encoding
    problems = plan.counts + Counter({"row could not be split into cells": len(raw.rejected)})
    result.problems = sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))
    assert result.rows_read == result.loaded + result.quarantined + result.duplicates, "every row read is loaded, quarantined or a duplicate"
    if dry_run:
        return result

    finished = utc_now()
    log = log_table(
        ingest_id=ingest_id, table_name=contract.table, source_file=path.name, source_path=str(path.resolve()),
        file_sha256=sha, file_bytes=size, file_format=raw.format, encoding=raw.encoding,
        rows_read=result.rows_read, rows_loaded=result.loaded, rows_quarantined=result.quarantined,
        rows_duplicate=result.duplicates, user_name=session.user.name, started_at=started, finished_at=finished,
        status=_status(plan),
    )
    write(session, contract, plan, log, ingest_id, finished, progress("writing", plan.loaded + plan.quarantined + 1, "row"))
    return result
