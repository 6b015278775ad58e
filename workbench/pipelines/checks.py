"""Data checks on a step's output tables: expectations on the rows of the run's as-of date.

A notebook that ran without error can still have written nonsense (no rows,
nulls, negative forecasts, a plan repeating its key, stale dates). A step's
``checks:`` say what its outputs must look like; the runner evaluates them
after the notebook succeeded (``verify``), and a failed expectation fails the
step like an error would: its dependants are skipped, the alert goes out, and
up to ``save_rows`` offending rows are saved as CSV next to the archived
notebook, named in the history's error.

The counts run in the engine (ibis expressions through the governed door,
as the pipeline user), so a check on millions of rows pulls only the few
offending rows it saves. The session is opened after the notebook's kernel
has ended and closed at once: DuckDB lets one process hold the file.

Kinds (pipelines/README.md, "Data checks"): ``row_count`` (min, max),
``not_null`` (columns), ``range`` (columns, min, max), ``unique`` (columns,
default the table's key), ``freshness`` (column, within_days).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.pipelines.keys import PipelineError, Reader

log = logging.getLogger("workbench.pipelines")

SAVE_ROWS = 100  # offending rows kept per failed check, unless the check says save_rows
COMMON = ("check", "table", "name", "save_rows")
KINDS: dict[str, tuple[str, ...]] = {  # the keys each kind takes besides COMMON
    "row_count": ("min", "max"),
    "not_null": ("columns",),
    "range": ("columns", "min", "max"),
    "unique": ("columns",),
    "freshness": ("column", "within_days"),
}
NUMERIC = ("int", "uint", "float", "decimal")
DATES = ("date", "timestamp")


@dataclass(frozen=True)
class Check:
    """One expectation on one output table, as read from a step's ``checks:``."""

    kind: str
    table: str
    columns: tuple[str, ...] = ()  # freshness: its one column
    min: float | None = None
    max: float | None = None
    within_days: int | None = None
    name: str = ""  # how messages name it; default: kind, table and columns
    save_rows: int = SAVE_ROWS

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.kind} on {self.table}" + (f" ({', '.join(self.columns)})" if self.columns else "")


@dataclass(frozen=True)
class Failure:
    check: Check
    message: str  # what is wrong, with counts
    rows: pd.DataFrame | None = None  # the offending rows (up to save_rows), if the kind has any


# ---------------------------------------------------------------- reading the YAML


def parse_checks(item: Reader, raw: list[dict], outputs: tuple[str, ...]) -> tuple[Check, ...]:
    """The step's checks, validated against the tables' contracts; PipelineError naming the check."""
    return tuple(_parse(Reader(f"{item.where}, check {i}", spec, file=item.file), outputs)
                 for i, spec in enumerate(raw, start=1))


def _parse(doc: Reader, outputs: tuple[str, ...]) -> Check:
    kind = doc.text("check")
    if kind not in KINDS:
        raise PipelineError(f"{doc.where}: unknown check {kind!r}; the checks are {', '.join(KINDS)}")
    doc.only(*COMMON, *KINDS[kind])
    table = _table(doc, outputs)
    columns = _columns(doc, kind, table)
    low, high = (doc.number(k, None, minimum=float("-inf")) for k in ("min", "max"))
    if kind in ("row_count", "range") and low is None and high is None:
        raise PipelineError(f"{doc.where}: {kind} needs min, max or both")
    if low is not None and high is not None and low > high:
        raise PipelineError(f"{doc.where}: min {low:g} is above max {high:g}")
    within = doc.integer("within_days", 0) if kind == "freshness" else None
    return Check(kind, table, columns, low, high, within, name=doc.text("name", default=""),
                 save_rows=doc.integer("save_rows", SAVE_ROWS))


def _table(doc: Reader, outputs: tuple[str, ...]) -> str:
    """The table checked: named, or the step's only output."""
    from workbench.warehouse.schema import OUTPUTS

    table = doc.text("table", default=None)
    if table is None:
        if len(outputs) != 1:
            raise PipelineError(f"{doc.where}: say which table it checks (table: marts.NAME); the step has "
                                f"{len(outputs)} outputs, so there is no default")
        return outputs[0]
    if table not in OUTPUTS:
        raise PipelineError(f"{doc.where}: unknown table {table!r}; checks read output tables of "
                            f"workbench/warehouse/schema.py ({', '.join(sorted(OUTPUTS))})")
    return table


def _columns(doc: Reader, kind: str, table: str) -> tuple[str, ...]:
    """The columns a check reads, each in the table's contract and of a type the check can compare."""
    from workbench.warehouse.schema import OUTPUTS

    spec = OUTPUTS[table]
    if kind == "row_count":
        return ()
    if kind == "freshness":
        columns = (doc.text("column"),)
    else:
        columns = tuple(doc.texts("columns")) or (spec.key if kind == "unique" else ())
        if not columns:
            raise PipelineError(f"{doc.where}: {kind} needs columns: [NAME, ...]")
    types = {c.name: c.dtype for c in spec.columns}
    for column in columns:
        if column not in types:
            raise PipelineError(f"{doc.where}: {table} has no column {column!r} "
                                f"(its columns: {', '.join(spec.column_names)})")
        wanted = {"range": (NUMERIC, "numeric"), "freshness": (DATES, "date or timestamp")}.get(kind)
        if wanted and not types[column].startswith(wanted[0]):
            raise PipelineError(f"{doc.where}: {kind} needs a {wanted[1]} column; {column} is {types[column]}")
    return columns


# ---------------------------------------------------------------- running them


def evaluate(session, check: Check, as_of: dt.date) -> Failure | None:
    """Check the rows of ``as_of`` (the whole table if it has no as_of column); None when it holds."""
    if not session.table_exists(check.table):
        return Failure(check, f"{check.table} does not exist: the step wrote nothing to it")
    t = session.table(check.table)
    missing = [c for c in check.columns if c not in t.columns]
    if missing:
        return Failure(check, f"{check.table} has no column {', '.join(map(repr, missing))} (its columns: "
                              f"{', '.join(t.columns)}); fix the check in the pipeline file")
    if "as_of" in t.columns:
        t = t.filter(t.as_of == as_of)
    return _EVALUATE[check.kind](t, check, as_of)


def _row_count(t, check: Check, as_of: dt.date) -> Failure | None:
    n = int(t.count().execute())
    if (check.min is not None and n < check.min) or (check.max is not None and n > check.max):
        return Failure(check, f"{n} rows for as-of {as_of}, expected {_bounds(check)}")
    return None


def _not_null(t, check: Check, as_of: dt.date) -> Failure | None:
    import ibis

    nulls = t.aggregate(**{c: t[c].isnull().sum() for c in check.columns}).to_pandas().iloc[0]
    if not nulls.sum():
        return None
    bad = t.filter(ibis.or_(*(t[c].isnull() for c in check.columns)))
    counts = ", ".join(f"{c}: {int(n)}" for c, n in nulls.items() if n)
    return _offending(t, bad, check, f"have a null ({counts})")


def _range(t, check: Check, as_of: dt.date) -> Failure | None:
    import ibis

    outside = []
    for c in check.columns:
        if check.min is not None:
            outside.append(t[c] < check.min)
        if check.max is not None:
            outside.append(t[c] > check.max)
    bad = t.filter(ibis.or_(*outside))
    return _offending(t, bad, check, f"are out of range (expected {_bounds(check)})")


def _unique(t, check: Check, as_of: dt.date) -> Failure | None:
    keys = list(check.columns)
    repeated = t.group_by(keys).aggregate(_n=t.count()).filter(lambda g: g._n > 1).select(*keys)
    bad = t.join(repeated, keys).order_by(keys)
    return _offending(t, bad, check, f"repeat a value of ({', '.join(keys)}) that should be unique")


def _freshness(t, check: Check, as_of: dt.date) -> Failure | None:
    column = check.columns[0]
    newest = t[column].max().execute()
    if newest is None or pd.isna(newest):
        return Failure(check, f"no {column} for as-of {as_of}: the table has no rows for it")
    newest = pd.Timestamp(newest).date()
    age = (as_of - newest).days
    if age <= check.within_days:
        return None
    return Failure(check, f"the newest {column} is {newest}, {age} days before the as-of date {as_of}; "
                          f"expected within {check.within_days} days")


def _offending(t, bad, check: Check, what: str) -> Failure | None:
    """A failure counting ``bad`` among ``t``'s rows, with the first ``save_rows`` of them; None if none."""
    n = int(bad.count().execute())
    if not n:
        return None
    total = int(t.count().execute())
    rows = bad.limit(check.save_rows).to_pandas() if check.save_rows else None
    return Failure(check, f"{n} of {total} rows {what}", rows)


_EVALUATE = {"row_count": _row_count, "not_null": _not_null, "range": _range, "unique": _unique,
             "freshness": _freshness}


def _bounds(check: Check) -> str:
    if check.min is not None and check.max is not None:
        return f"between {check.min:g} and {check.max:g}"
    return f"at least {check.min:g}" if check.min is not None else f"at most {check.max:g}"


def save(failure: Failure, folder: Path, stem: str, number: int) -> Path | None:
    """Write the failure's offending rows as ``<stem>.check<number>-<kind>.csv``; the file, or None."""
    if failure.rows is None or failure.rows.empty:
        return None
    path = folder / f"{stem}.check{number}-{failure.check.kind}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    failure.rows.to_csv(path, index=False)
    return path


def verify(session_factory, checks: tuple[Check, ...], as_of: dt.date, folder: Path, stem: str) -> str | None:
    """Run every check in one session; None if all hold, else a one-line error naming each failed check.

    ``session_factory()`` opens the governed session (a context manager) the
    checks read through. A check that cannot run (engine error, grant
    missing) counts as failed: an unverified output must not feed the next step.
    """
    found: list[tuple[int, Failure]] = []
    try:
        with session_factory() as s:
            for number, check in enumerate(checks, start=1):
                failure = evaluate(s, check, as_of)
                if failure:
                    found.append((number, failure))
    except Exception as err:  # the engine's and the door's errors vary; each makes the checks unverified
        log.exception("the data checks of %s could not run", stem)
        return f"data checks could not run: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return "; ".join(_summary(n, f, save(f, folder, stem, n)) for n, f in found) or None


def _summary(number: int, failure: Failure, saved: Path | None) -> str:
    rows = f" (rows: {saved})" if saved else ""
    return f"check {number} {failure.check.label} failed: {failure.message}{rows}"

