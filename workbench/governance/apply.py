"""Apply a user's policies to an ibis table: row filter, hidden columns, masks.

The result is an ordinary ibis expression, so the work runs in the engine
(DuckDB, Spark ...) and the same expression compiles to the SQL the guard
splices into raw queries. Masks use portable string operations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import ibis
import ibis.expr.types as ir

from workbench.governance.policies import ColumnRule
from workbench.governance.scope import Scope, row_predicate


def _text(col: ir.Value) -> ir.StringValue:
    return col if col.type().is_string() else col.cast("string")


def mask_name(col: ir.Value) -> ir.StringValue:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: keep the first character, star the rest."""
    col = _text(col)
    return col.left(1) + col.substr(1).re_replace(".", "*")


def mask_phone(col: ir.Value) -> ir.StringValue:
    """13812345678 -> 138****5678; numbers too short to keep any part are starred whole."""
    col = _text(col)
    return ibis.ifelse(col.length() >= 8, col.left(3) + "****" + col.right(4), col.re_replace(".", "*"))


def mask_redact(col: ir.Value) -> ir.StringValue:
    """Any value -> ``***`` (nulls stay null, so missing data still shows as missing)."""
    return ibis.ifelse(col.isnull(), ibis.null("string"), ibis.literal("***"))


MASKS: Mapping[str, Callable[[ir.Value], ir.Value]] = {"name": mask_name, "phone": mask_phone, "redact": mask_redact}


@dataclass(frozen=True)
class Governed:
    """A governed table and what was done to it (for the audit log and ``wb tables``)."""

    table: ir.Table
    policies: tuple[str, ...]
    hidden: Mapping[str, str]  # column -> policy name
    masked: Mapping[str, str]  # column -> policy name


def govern(
    table: ir.Table,
    scope: Scope,
    location_columns: Mapping[str, str],
    rules: Mapping[str, ColumnRule],
) -> Governed:
    """Filter rows to ``scope`` and apply the column ``rules`` (hide or mask)."""
    applied: list[str] = []
    pred = row_predicate(table, scope, location_columns)
    if pred is not None:
        # Filter before masking: predicates see true values, users never do.
        table = table.filter(pred)
        applied.append(f"row:{scope.policy}")
    hidden = {c: r.policy for c, r in rules.items() if r.action == "hide"}
    masked = {c: r.policy for c, r in rules.items() if r.action == "mask"}
    if hidden or masked:
        cols = [
            MASKS[rules[c].mask](table[c]).name(c) if c in masked else table[c]
            for c in table.columns
            if c not in hidden
        ]
        table = table.select(cols)
        applied += sorted({f"hide:{p}" for p in hidden.values()} | {f"mask:{p}" for p in masked.values()})
    return Governed(table, tuple(applied), hidden, masked)
