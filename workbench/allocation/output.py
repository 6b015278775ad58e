"""The plan as tables: ``marts.replenishment_plan``, ``marts.transfer_plan``, ``marts.initial_allocation``.

One set of rows per as-of date, written through the governed door with
``replace_where as_of = <day>`` in one transaction: re-running a day replaces
its plan (both tables together, or neither), and a failed run leaves the
previous plan in place. Every row starts ``proposed``; the allocation review
app approves or rejects it. Store managers read the rows of their stores
(either end of a move) through the row policy on ``from_store_id`` /
``to_store_id``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from workbench.governance import writes
from workbench.warehouse.schema import OUTPUTS

__all__ = ["PLAN_TABLES", "to_rows", "write_plan", "write_initial_allocation", "read_plan"]

PLAN_TABLES = ("marts.replenishment_plan", "marts.transfer_plan")
EXPLANATION = ("expected_units_gained", "expected_units_lost", "expected_margin", "freight", "net_benefit")


def to_rows(moves: pd.DataFrame, as_of: dt.date, table: str, strategy: str) -> pa.Table:
    """Moves (``planning.MOVE_COLUMNS``) as rows of ``table``'s contract (``run_id`` is the session's)."""
    missing = {"origin", "dest", "sku_id", "units", "reason"} - set(moves.columns)
    if missing:
        raise ValueError(f"the moves lack {sorted(missing)}: make them with workbench.allocation.planning.plan_day")
    if moves.empty:  # typed: an empty plan still replaces the day's old one
        return _contract(table).to_pyarrow().empty_table()
    if (moves["units"] <= 0).any():
        raise ValueError("a move has no units: drop moves of 0 units before writing the plan")
    lead = moves["lead_days"] if "lead_days" in moves else pd.Series(0, index=moves.index)
    frame = pd.DataFrame({
        "as_of": [as_of] * len(moves),
        "from_store_id": moves["origin"].to_numpy(), "to_store_id": moves["dest"].to_numpy(),
        "sku_id": moves["sku_id"].to_numpy(), "units": moves["units"].to_numpy(),
        "relation": moves.get("relation", pd.Series(None, index=moves.index, dtype="object")).to_numpy(),
        "ship_date": [as_of + dt.timedelta(days=1)] * len(moves),
        "arrive_date": [as_of + dt.timedelta(days=1 + int(d)) for d in lead],
        **{c: moves[c].to_numpy(float) if c in moves else [float("nan")] * len(moves) for c in EXPLANATION},
        "strategy": [strategy] * len(moves), "reason": moves["reason"].to_numpy(),
        "status": ["proposed"] * len(moves),
    })
    spec = OUTPUTS[table]
    repeated = int(frame.duplicated(list(spec.key)).sum())
    if repeated:
        raise ValueError(f"{repeated} move(s) repeat a {', '.join(spec.key)}: add their units up first")
    schema = _contract(table)
    data = pa.Table.from_pandas(frame, preserve_index=False)
    problems = writes.mismatches(data, schema)
    if problems:
        raise ValueError(f"the plan does not fit {table}: " + "; ".join(problems))
    return data.select(schema.to_pyarrow().names).cast(schema.to_pyarrow())


def _contract(table: str):
    import ibis

    full = OUTPUTS[table].ibis_schema()
    return ibis.schema({n: t for n, t in full.items() if n != writes.RUN_ID})


def _require_write(session, tables) -> None:
    for table in tables:
        if not session.config.can_write(session.role, table):
            raise PermissionError(f"user {session.user.name!r} (role {session.role.name!r}) may not write {table}; "
                                  "plan as a pipeline user (e.g. u_pipeline)")
    if session.read_only:
        raise PermissionError("this session is read-only; open it with read_only=False to write the plan")


def write_plan(session, moves: pd.DataFrame, as_of: dt.date, strategy: str = "workbench") -> dict[str, int]:
    """Replace the plan of ``as_of``: DC moves to ``replenishment_plan``, the rest to ``transfer_plan``."""
    _require_write(session, PLAN_TABLES)
    from_dc = moves["relation"].eq("dc") if "relation" in moves else pd.Series(False, index=moves.index)
    parts = {"marts.replenishment_plan": moves[from_dc], "marts.transfer_plan": moves[~from_dc]}
    rows = {table: to_rows(part, as_of, table, strategy) for table, part in parts.items()}  # check all, then write
    with session.transaction():
        return {table: session.write(table, data, mode="replace_where", where={"as_of": as_of})
                for table, data in rows.items()}


def write_initial_allocation(session, moves: pd.DataFrame, as_of: dt.date) -> int:
    """Replace the initial allocation (铺货) of ``as_of`` (moves from ``initial.initial_allocation``)."""
    table = "marts.initial_allocation"
    _require_write(session, [table])
    data = to_rows(moves.assign(relation="dc", expected_units_gained=moves.get("expected_units")), as_of, table,
                   "initial_allocation")
    return session.write(table, data, mode="replace_where", where={"as_of": as_of})


def read_plan(session, table: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """The rows of ``table`` for ``as_of`` (the latest as-of date when None) the user may see."""
    if not session.table_exists(table):
        return pd.DataFrame(columns=OUTPUTS[table].column_names)
    t = session.table(table)
    if as_of is None:
        latest = t.as_of.max().to_pandas()
        if latest is None or pd.isna(latest):
            return t.limit(0).to_pandas()
        as_of = pd.Timestamp(latest).date()
    return t.filter(t.as_of == as_of).to_pandas()
