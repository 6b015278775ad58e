"""Split a file's rows into good and bad, and find repeated keys, as pure functions.

Tables in, tables out: nothing here touches the warehouse. What the
warehouse knows (which stores and products exist, which stores the user may
load) comes in as ``References``, so these rules are tested without one.

Per row, in order: each column's own rules (``coerce``), the user's scope,
foreign keys into core, then the contract's cross-field checks. A row with
any problem is bad and carries every reason found, so the person fixing it
sees all of them at once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.ingest.coerce import Issue, coerce, issue
from workbench.ingest.contracts import Check, Contract


@dataclass(frozen=True)
class References:
    """What the warehouse says about a file's codes, for one user.

    ``known``: column -> the values that exist in core (as this user sees them).
    ``scope``: column -> the values this user may load (absent: no limit).
    ``scope_note``: how the user's scope reads in a message, e.g. "stores S017".
    """

    known: Mapping[str, pa.Array] = field(default_factory=dict)
    scope: Mapping[str, Sequence[str]] = field(default_factory=dict)
    scope_note: str = ""


@dataclass
class RowCheck:
    """The outcome of checking rows one by one."""

    typed: pa.Table  # contract columns, typed; one row per input row (nulls where a value failed)
    bad: np.ndarray  # bool per input row
    reasons: pa.Array  # one string per bad row, in row order: every reason, joined with '; '
    counts: Counter  # rule in words -> rows failing it


def _reference_issues(contract: Contract, typed: dict[str, pa.Array], failed: dict[str, pa.Array | None], refs: References) -> list[Issue | None]:
    """Scope first, then existence; a value that already broke its column's own rules is not looked up."""
    found: list[Issue | None] = []
    for rule in contract.columns:
        values = typed[rule.name]
        if failed.get(rule.name) is not None:
            values = pc.if_else(failed[rule.name], pa.scalar(None, values.type), values)
        in_scope = None
        if rule.scope and rule.name in refs.scope:
            in_scope = pc.is_in(values, pa.array(list(refs.scope[rule.name]), pa.string()))
            note = f" ({refs.scope_note})" if refs.scope_note else ""
            found.append(issue(rule.name, f"is outside your scope{note}", pc.and_(pc.is_valid(values), pc.invert(in_scope)), values))
        if rule.references and rule.name in refs.known:
            unknown = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, refs.known[rule.name])))
            if in_scope is not None:
                unknown = pc.and_(unknown, in_scope)  # one reason is enough: out of scope says it
            found.append(issue(rule.name, f"is not a known {rule.references.what}", unknown, values))
    return found


def _check_issues(checks: Sequence[Check], typed: pa.Table) -> list[Issue | None]:
    """Cross-field rules, evaluated as SQL by an in-memory DuckDB over the Arrow table (no copy)."""
    if not checks or typed.num_rows == 0:
        return []
    found: list[Issue | None] = []
    con = duckdb.connect()
    try:
        con.register("file_rows", typed.append_column("__i", pa.array(np.arange(typed.num_rows))))
        for check in checks:
            failing = con.execute(f"SELECT __i FROM file_rows WHERE NOT coalesce(({check.rule}), TRUE)").fetchnumpy()
            index = np.asarray(failing["__i"], dtype=np.int64)
            if index.size == 0:
                continue
            mask = np.zeros(typed.num_rows, dtype=bool)
            mask[index] = True
            shown = typed.select(list(check.columns)).take(pa.array(index)).to_pylist()
            # Messages for the failing rows only; ``index`` maps a row to its message.
            messages = pa.array([check.message.format_map(row) for row in shown], pa.string())
            position = np.zeros(typed.num_rows, dtype=np.int64)
            position[index] = np.arange(index.size)
            found.append(Issue(check.name.replace("_", " "), pa.array(mask), "", text=messages, index=pa.array(position), quoted=False))
    finally:
        con.close()
    return found


def join_messages(messages: Sequence[pa.Array], separator: str = "; ") -> pa.Array:
    """Per row, the non-null messages joined with ``separator`` ('' when all are null).

    Not ``binary_join_element_wise(null_handling="skip")``: in pyarrow 25 it
    drops rows whose inputs are all null, shifting every row after them.
    """
    if len(messages) == 1:
        return pc.fill_null(messages[0], "")
    pieces = [pc.fill_null(pc.binary_join_element_wise(pa.scalar(separator), m, ""), "") for m in messages]
    joined = pc.binary_join_element_wise(*pieces, "")
    return pc.utf8_slice_codeunits(joined, len(separator), 1 << 30)


def check_rows(text: pa.Table, contract: Contract, refs: References, today: dt.date | None = None) -> RowCheck:
    """Type and check every row of ``text`` (canonical column names, all strings; optional columns may be absent)."""
    today = today or dt.date.today()
    n = text.num_rows
    typed: dict[str, pa.Array] = {}
    failed: dict[str, pa.Array | None] = {}
    found: list[Issue | None] = []
    for rule in contract.columns:
        if rule.name in text.column_names:
            column = text.column(rule.name).combine_chunks()
        else:
            column = pa.nulls(n, pa.string())
        coerced = coerce(rule, column, contract.null_values, today)
        typed[rule.name] = coerced.values
        failed[rule.name] = coerced.failed
        found += coerced.issues
    found += _reference_issues(contract, typed, failed, refs)
    table = pa.table(typed, schema=contract.arrow_schema())
    issues = [f for f in found if f is not None]
    # Cross-field checks see only the values that passed their own rules.
    issues += [f for f in _check_issues(contract.checks, table) if f is not None]

    bad = np.zeros(n, dtype=bool)
    counts: Counter = Counter()
    for f in issues:
        mask = np.asarray(f.mask.to_numpy(zero_copy_only=False), dtype=bool)
        bad |= mask
        counts[f.rule] += int(mask.sum())
    where = pa.array(np.flatnonzero(bad))
    reasons = join_messages([f.messages(where) for f in issues]) if issues else pa.array([], pa.string())
    return RowCheck(table, bad, reasons, counts)


# --- repeated keys ------------------------------------------------------------------


def _same(a: pa.Array, b: pa.Array) -> pa.Array:
    """Equal, with null equal to null."""
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    return pc.or_(pc.fill_null(pc.equal(a, b), False), both_null)


def differing_columns(a: pa.Table, b: pa.Table, columns: Sequence[str]) -> pa.Array:
    """Row by row, the names of the columns where ``a`` and ``b`` differ ('qty, amount'); null where equal."""
    parts = [
        pc.if_else(_same(a.column(c).combine_chunks(), b.column(c).combine_chunks()), pa.scalar(None, pa.string()), pa.scalar(c))
        for c in columns
    ]
    if not parts:
        return pa.nulls(a.num_rows, pa.string())
    joined = join_messages(parts, ", ")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)


@dataclass
class Matches:
    """Rows of ``rows`` whose key also occurs in ``earlier``."""

    rows: np.ndarray  # positions in ``rows``
    earlier: np.ndarray  # the matching positions in ``earlier``
    differ: pa.Array  # differing columns per match; null where the rows are identical

    @property
    def identical(self) -> np.ndarray:
        return self.rows[np.asarray(pc.is_null(self.differ).to_numpy(zero_copy_only=False), dtype=bool)]

    @property
    def conflicting(self) -> np.ndarray:
        return self.rows[np.asarray(pc.is_valid(self.differ).to_numpy(zero_copy_only=False), dtype=bool)]


def match_keys(rows: pa.Table, earlier: pa.Table, key: Sequence[str], columns: Sequence[str]) -> Matches:
    """Find rows whose key is already in ``earlier`` (keys unique there) and say whether they differ."""
    if rows.num_rows == 0 or earlier.num_rows == 0:
        empty = np.empty(0, dtype=np.int64)
        return Matches(empty, empty, pa.array([], pa.string()))
    left = rows.select(list(key)).append_column("__i", pa.array(np.arange(rows.num_rows)))
    right = earlier.select(list(key)).append_column("__j", pa.array(np.arange(earlier.num_rows)))
    pairs = left.join(right, list(key), join_type="inner").sort_by("__i")
    i = pairs.column("__i").to_numpy()
    j = pairs.column("__j").to_numpy()
    differ = differing_columns(rows.take(pa.array(i)), earlier.take(pa.array(j)), columns)
    return Matches(i, j, differ)


def _first_by_dictionary(rows: pa.Table, key: Sequence[str]) -> np.ndarray:
    """Exact: the key columns joined into one string and dictionary-encoded. Arrow numbers distinct
    keys in order of first appearance, so a row whose code exceeds every earlier code comes first."""
    parts = [pc.fill_null(pc.cast(rows.column(k).combine_chunks(), pa.string()), "\x00") for k in key]
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    codes = pc.dictionary_encode(joined).indices.to_numpy().astype(np.int64)
    seen_before = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    first_rows = np.flatnonzero(codes > seen_before)  # ordered by code
    return first_rows[codes]


def first_occurrences(rows: pa.Table, key: Sequence[str]) -> np.ndarray:
    """Per row, the position of the first row (in file order) with the same key.

    A 64-bit hash of the key (DuckDB, over the Arrow table without a copy)
    finds the few rows whose key may repeat; only those are compared exactly,
    so a file without repeats (the usual case) costs one hash pass.
    """
    n = rows.num_rows
    first = np.arange(n, dtype=np.int64)
    if n < 2:
        return first
    con = duckdb.connect()
    try:
        con.register("file_rows", rows.select(list(key)))
        columns = ", ".join(f'"{k}"' for k in key)
        hashes = con.execute(f"SELECT hash({columns}) AS h FROM file_rows").fetchnumpy()["h"]
    finally:
        con.close()
    _, inverse, counts = np.unique(np.asarray(hashes), return_inverse=True, return_counts=True)
    candidates = np.flatnonzero(counts[inverse] > 1)
    if candidates.size:
        first[candidates] = candidates[_first_by_dictionary(rows.take(pa.array(candidates)), key)]
    return first
