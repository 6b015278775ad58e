"""The common shape of a risk case: every check returns one row per case with these columns.

A case says what happened (``evidence``, in words an auditor can follow),
where (``store_id``, ``event_date``), to which records (``ticket_id``,
``sku_id``), who was involved (``member_id``, ``cashier_id``) and how much
money is at stake (``amount_at_risk``, CNY), so every check's list can be
ranked the same way and written to one table (``marts.risk_cases``).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

__all__ = ["CASE_SCHEMA", "cases", "in_period", "text"]

CASE_SCHEMA = ibis.schema({
    "check_name": "string", "case_key": "string", "event_date": "date", "store_id": "int32", "ticket_id": "int64",
    "member_id": "int64", "cashier_id": "int32", "sku_id": "int32", "amount_at_risk": "float64", "evidence": "string",
})


def cases(t: ir.Table, check_name: str, **columns: ir.Value) -> ir.Table:
    """``t`` as cases of ``check_name``: the given columns cast to :data:`CASE_SCHEMA`, the rest null."""
    unknown = sorted(set(columns) - set(CASE_SCHEMA.names))
    if unknown:
        raise ValueError(f"not case columns: {unknown}; the case columns are {', '.join(CASE_SCHEMA.names)}")
    values = {"check_name": ibis.literal(check_name)}
    for name, dtype in CASE_SCHEMA.items():
        if name != "check_name":
            values[name] = (columns[name] if name in columns else ibis.null()).cast(dtype)
    values["amount_at_risk"] = values["amount_at_risk"].round(2)
    return t.select(**values)


def in_period(t: ir.Table, column: str, start: date, end: date) -> ir.Table:
    """Rows of ``t`` whose ``column`` lies in [start, end] (both days included)."""
    return t.filter(t[column].between(start, end))


def text(*parts) -> ir.StringValue:
    """Evidence text from literals and columns; numbers shown as they are (amounts round to cents first)."""
    out = ibis.literal("")
    for part in parts:
        out = out + (ibis.literal(part) if isinstance(part, str) else part.cast("string"))
    return out
