"""``marts.forecast``: the forecast as a table, one set of rows per as-of date, written through the door.

A scoring run writes SKU x store x day rows (P10 / P50 / P90, mean, NB
shape) tagged with its ``as_of``, the model version and the session's
``run_id``. The write is ``replace_where as_of = <day>`` in one transaction
(DESIGN invariant 5): a second run for the same as-of date replaces the
first one's rows, never adds to them, and a run that fails before or during
the write leaves the previous rows as they were. A run limited to some
stores replaces only those stores' rows of that day.

The contract is ``workbench.warehouse.schema.OUTPUTS["marts.forecast"]``:
the frame is checked and cast against it before anything is written, so
the table the first write creates has the contract's types. Who may write
it is the policy file's business (role ``pipeline`` writes ``marts.*``);
readers see it through their row policy on ``store_id`` like any other
table (a store manager reads their store's forecast only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from workbench.governance import writes
from workbench.warehouse.schema import OUTPUTS

TABLE = "marts.forecast"
SPEC = OUTPUTS[TABLE]
VALUES = ("p10", "p50", "p90", "mean", "nb_size")


def _day(value) -> dt.date:
    return pd.Timestamp(value).date()


def require_write(session) -> None:
    """Refuse early (before any training or scoring) when ``session`` cannot write the table."""
    if not session.config.can_write(session.role, TABLE):
        raise PermissionError(
            f"user {session.user.name!r} (role {session.role.name!r}) may not write {TABLE}; "
            f"run the scoring as a pipeline user (e.g. --user u_pipeline)"
        )
    if session.read_only:
        raise PermissionError(f"this session of {session.user.name!r} is read-only; open it with read_only=False to write {TABLE}")


def to_rows(forecast: pd.DataFrame, as_of, model_version: int | None) -> pa.Table:
    """The forecast as rows of the contract (without ``run_id``, which the session fills).

    Refuses an empty forecast, repeated keys, missing values in key or mean
    columns, and a forecast day outside ``as_of + 1 ..``, listing what is wrong.
    """
    as_of = _day(as_of)
    missing = [c for c in ("sku_id", "store_id", "date", *VALUES) if c not in forecast.columns]
    if missing:
        raise ValueError(f"the forecast lacks column(s) {missing}: make it with forecast.forecast_at")
    if forecast.empty:
        raise ValueError(f"the forecast for {as_of} is empty: nothing to write")
    frame = pd.DataFrame({
        "as_of": pd.Series([as_of] * len(forecast), dtype="object"),
        "model_version": pd.array([model_version] * len(forecast), dtype="Int32"),
        "sku_id": forecast["sku_id"].to_numpy(),
        "store_id": forecast["store_id"].to_numpy(),
        "date": pd.to_datetime(forecast["date"]).dt.date.to_numpy(),
        **{c: forecast[c].to_numpy(dtype="float64") for c in VALUES},
    })
    problems = []
    early = int((pd.to_datetime(frame["date"]) <= pd.Timestamp(as_of)).sum())
    if early:
        problems.append(f"{early} row(s) forecast a day on or before the as-of date {as_of}")
    repeated = int(frame.duplicated(list(SPEC.key)).sum())
    if repeated:
        problems.append(f"{repeated} repeated row(s) of key {', '.join(SPEC.key)}")
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN becomes null: the contract catches it
    arrow_schema, ibis_schema = _contract()
    problems += writes.mismatches(table, ibis_schema)
    if problems:
        raise ValueError(f"the forecast does not fit {TABLE}: " + "; ".join(problems))
    return table.select(arrow_schema.names).cast(arrow_schema)


def _contract():
    """The contract without ``run_id`` (the session fills it in): Arrow and ibis schemas."""
    import ibis

    full = SPEC.ibis_schema()
    schema = ibis.schema({n: t for n, t in full.items() if n != writes.RUN_ID})
    return schema.to_pyarrow(), schema


def write_forecast(session, forecast: pd.DataFrame, as_of, model_version: int | None, *,
                   stores: Iterable[int] | None = None) -> int:
    """Write ``forecast`` for ``as_of`` into ``marts.forecast``, replacing that day's rows; rows written.

    ``stores`` (store ids): the run covered only these stores, so only their
    rows of ``as_of`` are replaced (one transaction for all of them); every
    forecast row must be for one of them. Without it, every row of ``as_of``
    is replaced.
    """
    require_write(session)
    as_of = _day(as_of)
    rows = to_rows(forecast, as_of, model_version)
    if stores is None:
        return session.write(TABLE, rows, mode="replace_where", where={"as_of": as_of})
    stores = sorted({int(s) for s in stores})
    outside = sorted(set(rows.column("store_id").to_pylist()) - set(stores))
    if outside:
        raise ValueError(f"the forecast has rows for stores {outside[:10]} outside the run's stores {stores[:10]}")
    store_of_row = rows.column("store_id").to_numpy()
    written = 0
    with session.transaction():
        for store in stores:  # one replace per store of the run: a handful, in one transaction
            part = rows.filter(pa.array(store_of_row == store))
            if part.num_rows:  # a store without rows keeps its old ones (the door refuses empty replaces)
                written += session.write(TABLE, part, mode="replace_where", where={"as_of": as_of, "store_id": store})
    return written


def as_of_dates(session) -> list[dt.date]:
    """The as-of dates with a forecast the user can see, newest first."""
    if not session.table_exists(TABLE):
        return []
    t = session.table(TABLE)
    days = t.select("as_of").distinct().order_by(t.as_of.desc()).to_pandas()["as_of"]
    return [_day(d) for d in days]


def read_forecast(session, as_of=None, *, store_codes: Iterable[str] | None = None,
                  sku_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """The forecast rows of ``as_of`` (the latest as-of date when None) the user may see.

    ``store_codes`` (``S001``) and ``sku_codes`` (a SKU code, or an SKC code
    for all its sizes) narrow it; rows come with ``store_code``, ``sku_code``
    and ``skc_code``. Raises ``LookupError`` when there is no forecast to read.
    """
    dates = as_of_dates(session)
    if not dates:
        raise LookupError(f"no forecast in {TABLE} yet (or none you may see): "
                          "write one with `wb forecast score --as-of DATE`")
    day = dates[0] if as_of is None else _day(as_of)
    if day not in dates:
        shown = ", ".join(str(d) for d in dates[:5]) + (" ..." if len(dates) > 5 else "")
        raise LookupError(f"no forecast for as-of {day} in {TABLE}; there are: {shown}")
    t = session.table(TABLE)
    t = t.filter(t.as_of == day)
    stores = session.table("core.stores").select("store_id", "store_code")
    products = session.table("core.products").select("sku_id", "sku_code", "skc_code")
    if store_codes:
        stores = stores.filter(stores.store_code.isin(list(store_codes)))
    if sku_codes:
        codes = list(sku_codes)
        products = products.filter(products.sku_code.isin(codes) | products.skc_code.isin(codes))
    rows = t.join(stores, "store_id").join(products, "sku_id")
    columns = ["as_of", "store_code", "sku_code", "skc_code", "date", "p10", "p50", "p90", "mean", "nb_size",
               "model_version", "run_id", "store_id", "sku_id"]
    frame = rows.select(*columns).to_pandas()
    for column in ("as_of", "date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.sort_values(["store_code", "sku_code", "date"], kind="stable").reset_index(drop=True)
