"""The members' outputs as tables (会员营销结果表), written through the governed door.

    import workbench as wb
    from workbench.members.output import member_outputs, write_member_outputs
    with wb.session("u_pipeline", read_only=False) as s:
        frames = member_outputs(s, "2025-12-31")             # segments, values, calls, pairing, scalper cases
        write_member_outputs(s, frames, "2025-12-31")        # one transaction; a re-run replaces its rows

| table | one set per | rows |
|---|---|---|
| ``marts.member_segments`` | as_of | RFM scores and segment per member (:mod:`.rfm`) |
| ``marts.member_values`` | as_of | P(alive), expected purchases and spend, CLV per member (:mod:`.value`) |
| ``marts.member_calls`` | as_of | the call list per home store, opening lines and products (:mod:`.reactivation`) |
| ``marts.pairing_suggestions`` | as_of | top-k pairing suggestions per SKC (:mod:`.pairing`) |
| ``marts.scalper_cases`` | period | scalper cases with evidence (:mod:`.scalpers`) |

Every row fits its contract in :mod:`workbench.warehouse.schema` (``MEMBER_OUTPUTS``) before anything is
written; the session fills ``run_id``. Names and phones on the call list are what the writer's session
sees: masked for every role but admin, and masked again on read for all but admin. The member tables carry
``home_store_id``, so a store manager reads their own store's members only (the row policy).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pyarrow as pa

from workbench.governance import writes
from workbench.members.pairing import PairingSettings, load_pairing_settings, pairing_suggestions
from workbench.members.reactivation import call_lists
from workbench.members.rfm import member_rfm
from workbench.members.scalpers import ScalperSettings, scalper_cases
from workbench.members.summary import member_day
from workbench.members.value import member_values
from workbench.warehouse.schema import OUTPUTS

__all__ = ["TABLES", "to_rows", "member_outputs", "write_member_outputs", "read_output", "product_text"]

TABLES = {"segments": "marts.member_segments", "values": "marts.member_values", "calls": "marts.member_calls",
          "pairing": "marts.pairing_suggestions", "scalpers": "marts.scalper_cases"}


def to_rows(table: str, frame: pd.DataFrame, **fixed: Any) -> pa.Table:
    """``frame`` plus the ``fixed`` columns (as_of ...) as rows of ``table``'s contract; ValueError listing misfits."""
    spec = OUTPUTS[table]
    names = [c for c in spec.column_names if c != writes.RUN_ID]
    data = frame.assign(**fixed) if len(frame) else frame.reindex(columns=[*frame.columns, *fixed])
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise ValueError(f"the rows for {table} lack {', '.join(missing)}")
    repeated = int(data.duplicated(list(spec.key)).sum())
    if repeated:
        raise ValueError(f"{repeated} row(s) repeat a key of {table} ({', '.join(spec.key)})")
    schema = pa.schema([f for f in spec.arrow_schema() if f.name != writes.RUN_ID])
    data = data[names].copy()
    data.attrs = {}
    for field in schema:  # the engine hands dates back as timestamps
        if pa.types.is_date(field.type):
            data[field.name] = pd.to_datetime(data[field.name]).dt.date
    arrow = pa.Table.from_pandas(data, preserve_index=False)
    problems = writes.mismatches(arrow, spec.ibis_schema())
    if problems:
        raise ValueError(f"the rows do not fit {table}: " + "; ".join(problems))
    return arrow.cast(schema)


def product_text(calls: pd.DataFrame, n: int) -> pd.Series:
    """The call list's product columns as one text: ``code name (size, price); ...``."""
    def one(row: pd.Series) -> str:
        items = [f"{row[f'product_{i}_code']} {row[f'product_{i}_name']} ({row[f'product_{i}_size']}, "
                 f"{row[f'product_{i}_price']:.0f})" for i in range(1, n + 1) if pd.notna(row.get(f"product_{i}_code"))]
        return "; ".join(items)
    return calls.apply(one, axis=1) if len(calls) else pd.Series([], dtype=object)


def _homes(session: Any) -> pd.DataFrame:
    return session.table("core.members").select("member_id", "home_store_id").to_pandas()


def _calls(session: Any, as_of: dt.date) -> pd.DataFrame:
    calls = call_lists(session, as_of)
    c = calls.calls
    stores = session.table("core.stores").select("store_code", home_store_id="store_id").to_pandas()
    c = c.merge(stores, on="store_code").assign(products=product_text(c, calls.settings.products).to_numpy())
    return c.assign(rank=c.groupby("store_code").cumcount() + 1)


def member_outputs(session: Any, as_of: Any, *, scalper_start: Any = None, months: int = 12,
                   pairing: PairingSettings | None = None, scalpers: ScalperSettings | None = None
                   ) -> dict[str, pd.DataFrame]:
    """Every members' output at ``as_of`` as the session sees it (keys of :data:`TABLES`); the scalper cases over
    ``scalper_start`` (default: 90 days before) .. ``as_of``."""
    day = member_day(as_of)
    pairing = pairing or load_pairing_settings()
    homes = _homes(session)
    segments = member_rfm(session, day).to_pandas().merge(homes, on="member_id", how="left")
    values = member_values(session, day, months=months).members.merge(homes, on="member_id", how="left")
    top = pairing_suggestions(session, day, settings=pairing).to_pandas()
    start = member_day(scalper_start) if scalper_start is not None else day - dt.timedelta(days=89)
    cases = scalper_cases(session, start, day, scalpers)
    cases.attrs["period"] = (start, day)
    return {"segments": segments, "values": values.assign(months=months), "calls": _calls(session, day),
            "pairing": top.assign(window_start=day - dt.timedelta(days=pairing.window_days - 1)), "scalpers": cases}


def write_member_outputs(session: Any, frames: dict[str, pd.DataFrame], as_of: Any) -> dict[str, int]:
    """Replace the as-of date's rows of every table in ``frames`` (the scalper cases': their period, from
    ``frame.attrs["period"]`` as :func:`member_outputs` sets it), all in one transaction."""
    day = member_day(as_of)
    rows, where = {}, {}
    for key, frame in frames.items():
        table = TABLES[key]
        if key == "scalpers":
            period = frame.attrs.get("period") or (day - dt.timedelta(days=89), day)
            rows[table] = to_rows(table, frame, period_start=period[0], period_end=period[1])
            where[table] = {"period_start": period[0], "period_end": period[1]}
        else:
            rows[table] = to_rows(table, frame, as_of=day)
            where[table] = {"as_of": day}
    with session.transaction():
        return {t: session.write(t, data, mode="replace_where", where=where[t]) for t, data in rows.items()}


def read_output(session: Any, key: str, as_of: Any = None) -> pd.DataFrame:
    """The rows of one output (a key of :data:`TABLES`) at ``as_of`` (default: the latest) the user may see."""
    table = TABLES[key]
    if not session.table_exists(table):
        return pd.DataFrame(columns=OUTPUTS[table].column_names)
    t = session.table(table)
    column = "period_end" if key == "scalpers" else "as_of"
    day = member_day(as_of) if as_of is not None else t[column].max().to_pandas()
    if day is None or pd.isna(day):
        return t.limit(0).to_pandas()
    return t.filter(t[column] == pd.Timestamp(day).date()).to_pandas()
