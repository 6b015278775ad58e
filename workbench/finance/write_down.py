"""Consignment write-down (代销货存跌): the month's provision on consignment stock, by rules in configuration.

Finance values consignment stock (goods on the counters of department stores)
at cost, written down as its season ages and never above what it can still
fetch. The rules live in ``finance.consignment_write_down`` of
``workbench/conf/workbench.yaml``:

- ``age_rates``: from which season age (months since launch) which share of cost is written down;
- ``lower_of_cost_and_nrv``: the value is also capped at net realisable value (NRV):
  units × expected price × (1 − ``cost_to_sell``), the host store's commission and selling costs.

Per line (SKU × location): value before = units × unit cost; by age = before × (1 − rate); after = the
lower of that and NRV; the write-down is before − after, and ``rule`` says which one bound. Pure, so
the same month's stock gives the same lines and journal total on every run.

The monthly run (:func:`monthly_write_down`, then :func:`write`) reads the month's stock through the
governed session and writes ``marts.consignment_write_down``, replacing that month's lines only:

- counters: ``core.stores.store_type = 'consignment'``;
- stock: the ``core.inventory`` snapshot on or before the month end (snapshots are weekly), quality A,
  ``on_hand + in_transit`` (goods on the way to the counter are already its stock, at the company's risk);
- B units (次品) are left out and listed in ``WriteDownResult.b_units``: defective goods are provided
  for by the B-goods markdown rules, and counting them here too would provide for them twice;
- ``unit_cost`` from ``core.products`` (a role that cannot see it cannot run the write-down);
- season age: whole months completed from ``launch_date`` to the month end (0 before the launch, and 0
  for ``year_round_seasons`` such as BASIC, which are only capped at NRV);
- expected price: the ticket price in force at the month end (``core.price_changes``, channel
  ``full_price``, the latest ``effective_date`` on or before the month end), else the tag price.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.finance.conf import check_fields, finance_section
from workbench.finance.period import first_of_month

__all__ = ["WriteDownRules", "load_rules", "rules_from", "write_down", "journal_total", "STOCK_COLUMNS",
           "describe", "largest", "post",
           "WriteDownResult", "monthly_write_down", "write", "TABLE"]

STOCK_COLUMNS = ("sku_id", "store_id", "units", "unit_cost", "age_months", "expected_price")
FIELDS = ("age_rates", "lower_of_cost_and_nrv", "cost_to_sell", "year_round_seasons")


@dataclass(frozen=True)
class WriteDownRules:
    age_rates: tuple[tuple[float, float], ...]  # (from_months, rate), ascending, the first from 0
    lower_of_cost_and_nrv: bool = True
    cost_to_sell: float = 0.0
    year_round_seasons: tuple[str, ...] = ()  # e.g. BASIC (常青款): no season to age by, only the NRV cap


def load_rules(config_file: Path | None = None) -> WriteDownRules:
    """``finance.consignment_write_down`` of the settings file (``WB_CONFIG``)."""
    return rules_from(finance_section("consignment_write_down", config_file))


def rules_from(raw: Mapping[str, Any], where: str = "finance.consignment_write_down") -> WriteDownRules:
    """The rules from their configuration; a ValueError names the field to fix."""
    check_fields(raw, FIELDS, where)
    steps = raw.get("age_rates") or []
    try:
        rates = tuple((float(s["from_months"]), float(s["rate"])) for s in steps)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}.age_rates: give a list of {{from_months: M, rate: R}}, not {steps!r}") from None
    if not rates or rates[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(rates, rates[1:])):
        raise ValueError(f"{where}.age_rates must start at from_months 0 and rise: {steps!r}")
    if any(not 0 <= r <= 1 for _, r in rates):
        raise ValueError(f"{where}.age_rates: a rate is a share of cost between 0 and 1: {steps!r}")
    cost_to_sell = float(raw.get("cost_to_sell", 0.0))
    if not 0 <= cost_to_sell < 1:
        raise ValueError(f"{where}.cost_to_sell is a share of the selling price, from 0 to below 1: {cost_to_sell}")
    year_round = raw.get("year_round_seasons") or []
    if isinstance(year_round, str) or not all(isinstance(x, str) for x in year_round):
        raise ValueError(f"{where}.year_round_seasons: give a list of season names, e.g. [BASIC], not {year_round!r}")
    return WriteDownRules(rates, bool(raw.get("lower_of_cost_and_nrv", True)), cost_to_sell, tuple(year_round))


def write_down(stock: pd.DataFrame, rules: WriteDownRules) -> pd.DataFrame:
    """One line per SKU × location: the rate by age, ``value_before``, ``value_by_age``, ``nrv``,
    ``value_after``, ``write_down`` and the ``rule`` that set the value."""
    lines = _checked(stock, rules)
    starts = np.array([m for m, _ in rules.age_rates])
    band = np.searchsorted(starts, lines["age_months"].to_numpy(float), side="right") - 1
    rate = np.array([r for _, r in rules.age_rates])[band]
    out = lines.assign(rate=rate, value_before=lines["units"] * lines["unit_cost"])
    out["value_by_age"] = out["value_before"] * (1 - rate)
    out["nrv"] = (out["units"] * out["expected_price"] * (1 - rules.cost_to_sell)
                  if rules.lower_of_cost_and_nrv else np.inf)
    by_nrv = out["nrv"] < out["value_by_age"]
    out["value_after"] = np.where(by_nrv, out["nrv"], out["value_by_age"])
    out["write_down"] = out["value_before"] - out["value_after"]
    labels = [_age_label(rules.age_rates, b) for b in range(len(starts))]
    out["rule"] = np.where(by_nrv, "net realisable value", np.array(labels, dtype=object)[band])
    return out.sort_values(["store_id", "sku_id"], kind="stable").reset_index(drop=True)


def journal_total(lines: pd.DataFrame) -> float:
    """The month's journal: the write-down over every line (CNY)."""
    return float(lines["write_down"].sum())


def _checked(stock: pd.DataFrame, rules: WriteDownRules) -> pd.DataFrame:
    needed = [c for c in STOCK_COLUMNS if c != "expected_price" or rules.lower_of_cost_and_nrv]
    missing = [c for c in needed if c not in stock.columns]
    if missing:
        raise ValueError(f"the consignment stock lacks the columns {missing}; give one row per SKU × location "
                         f"with {', '.join(needed)}")
    bad = stock[(stock["units"] < 0) | (stock["unit_cost"] < 0) | (stock["age_months"] < 0)
                | stock[needed].isna().any(axis=1)]
    if len(bad):
        raise ValueError(f"{len(bad)} stock line(s) have negative or missing values, e.g. "
                         f"{bad.head(3)[needed].to_dict('records')}: fix the stock before the write-down")
    if stock.duplicated(["sku_id", "store_id"]).any():
        raise ValueError("the consignment stock repeats a SKU × location: give one row each")
    return stock[needed].copy()


def _age_label(age_rates, band: int) -> str:
    start, rate = age_rates[band]
    end = f"-{age_rates[band + 1][0]:g}" if band + 1 < len(age_rates) else "+"
    return f"season age {start:g}{end} months: {rate:.0%}"


# --- the monthly run: read through the governed session, write marts.consignment_write_down -------------

TABLE = "marts.consignment_write_down"
MART_COLUMNS = ("month", "store_id", "sku_id", "units", "unit_cost", "age_months", "expected_price",
                "value_before", "value_after", "write_down", "rule")


@dataclass(frozen=True)
class WriteDownResult:
    """One month's write-down: the lines, the journal total, a summary and what was left out."""
    month: dt.date              # first day of the month (the mart's ``month``)
    snapshot_date: dt.date      # the stock snapshot valued (on or before the month end)
    lines: pd.DataFrame         # MART_COLUMNS + store_code, season, rate, nrv …
    journal_total: float        # CNY
    summary: pd.DataFrame       # per counter × season: units, value_before, write_down, value_after
    b_units: pd.DataFrame       # B units (次品) on the counters, left to the B-goods rules
    rules: WriteDownRules


def monthly_write_down(session, month, rules: WriteDownRules | None = None) -> WriteDownResult:
    """The write-down of the consignment counters' stock at the end of ``month`` ("2025-11" or a date).

    ``rules`` default to :func:`load_rules` (refused by name if the file is wrong: nothing is read or
    written then). A month whose end lies outside the stock snapshots raises a ``ValueError``.
    """
    rules = rules or load_rules()
    first = first_of_month(month)
    month_end = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    snapshot = _snapshot_for(session, first, month_end)
    stock, b_units = _counter_stock(session, snapshot, month_end)
    stock["age_months"] = _age_months(stock["launch_date"], month_end)
    stock.loc[stock["season"].isin(rules.year_round_seasons), "age_months"] = 0
    lines = write_down(stock[list(STOCK_COLUMNS)], rules)
    lines = lines.merge(stock[["store_id", "sku_id", "store_code", "season"]], on=["store_id", "sku_id"])
    lines.insert(0, "month", first)
    summary = (lines.groupby(["store_id", "store_code", "season"], as_index=False)
               [["units", "value_before", "write_down", "value_after"]].sum())
    return WriteDownResult(first, snapshot, lines, journal_total(lines), summary, b_units, rules)


def write(session, result: WriteDownResult) -> int:
    """Write the month's lines into ``marts.consignment_write_down``, replacing that month's; rows written."""
    if not session.config.can_write(session.role, TABLE):
        raise PermissionError(f"user {session.user.name!r} (role {session.role.name!r}) may not write {TABLE}; "
                              "run the write-down as a pipeline user (u_pipeline)")
    if result.lines.empty:
        raise ValueError(f"no consignment stock at {result.snapshot_date}: nothing to write for {result.month:%Y-%m}")
    return session.write(TABLE, _mart_rows(result.lines), mode="replace_where", where={"month": result.month})


def describe(result: WriteDownResult) -> str:
    """The month's write-down in a few lines, for the notebook and the run log."""
    lines = result.lines
    said = [f"Consignment write-down {result.month:%Y-%m} (stock snapshot {result.snapshot_date}): "
            f"{lines['store_id'].nunique()} counter(s), {len(lines):,} lines, {int(lines['units'].sum()):,} units",
            f"  at cost {lines['value_before'].sum():,.2f} CNY, after {lines['value_after'].sum():,.2f} CNY; "
            f"journal total {result.journal_total:,.2f} CNY"]
    if len(result.b_units):
        said.append(f"  {int(result.b_units['units'].sum()):,} B-goods units on the counters are left to the "
                    "B-goods rules (finance.b_goods)")
    return "\n".join(said)


def largest(result: WriteDownResult, n: int = 20) -> pd.DataFrame:
    """The ``n`` lines with the largest write-down (ties by counter and SKU, so a re-run lists the same)."""
    hit = result.lines[result.lines["write_down"] > 0]
    return hit.sort_values(["write_down", "store_id", "sku_id"], ascending=[False, True, True]).head(n)


def post(session, result: WriteDownResult) -> str:
    """Write the month's lines (:func:`write`) and say what the journal carries."""
    rows = write(session, result)
    return f"{rows:,} lines written to {TABLE} for {result.month:%Y-%m}; journal total {result.journal_total:,.2f} CNY"


def _snapshot_for(session, first: dt.date, month_end: dt.date) -> dt.date:
    """The last stock snapshot on or before the month end; the month must end inside the data."""
    inv = session.table("core.inventory")
    span = inv.aggregate(first=inv.snapshot_date.min(), last=inv.snapshot_date.max()).to_pandas().iloc[0]
    if pd.isna(span["last"]):
        raise ValueError("core.inventory has no stock snapshots you may see: nothing to write down")
    lo, hi = pd.Timestamp(span["first"]).date(), pd.Timestamp(span["last"]).date()
    if month_end > hi or month_end < lo:
        raise ValueError(f"month {first:%Y-%m} ends outside the stock data ({lo} .. {hi}): "
                         f"pick a month ending between them")
    day = inv.filter(inv.snapshot_date <= month_end).snapshot_date.max().to_pandas()
    return pd.Timestamp(day).date()


def _counter_stock(session, snapshot: dt.date, month_end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality A stock per counter × SKU with cost, launch and ticket price; and the B units apart."""
    products = session.table("core.products")
    if "unit_cost" not in products.columns:
        raise PermissionError(f"user {session.user.name!r} may not see core.products.unit_cost: the write-down "
                              "values stock at cost; run it as finance or a pipeline user")
    stores = session.table("core.stores")
    counters = stores.filter(stores.store_type == "consignment").select("store_id", "store_code")
    inv = session.table("core.inventory")
    inv = inv.filter(inv.snapshot_date == snapshot)
    inv = inv.join(counters, "store_id").mutate(units=inv.on_hand.fill_null(0) + inv.in_transit.fill_null(0))
    inv = inv.filter(inv.units > 0)
    prices = session.table("core.price_changes")
    prices = prices.filter((prices.channel == "full_price") & (prices.effective_date <= month_end))
    latest = prices.group_by("skc_id").aggregate(effective_date=prices.effective_date.max())
    ticket = prices.join(latest, ["skc_id", "effective_date"]).select("skc_id", ticket_price=prices.price)
    items = products.select("sku_id", "skc_id", "season", "launch_date", "unit_cost", "full_price")
    expected = ibis.coalesce(ticket.ticket_price, items.full_price)  # no ticket price yet: the tag price
    items = items.left_join(ticket, "skc_id").select("sku_id", "season", "launch_date", "unit_cost",
                                                     expected_price=expected)
    a = inv.filter(inv.quality == "A").select("store_id", "store_code", "sku_id", "units").join(items, "sku_id")
    stock = a.order_by(["store_id", "sku_id"]).to_pandas()
    b = inv.filter(inv.quality != "A").group_by(["store_id", "store_code", "sku_id", "quality"]).aggregate(
        units=inv.units.sum())
    return stock, b.order_by(["store_id", "sku_id"]).to_pandas()


def _age_months(launch: pd.Series, month_end: dt.date) -> pd.Series:
    """Whole months completed from the launch to the month end; 0 before the launch."""
    launch = pd.to_datetime(launch)
    end = pd.Timestamp(month_end)
    months = (end.year - launch.dt.year) * 12 + (end.month - launch.dt.month) - (end.day < launch.dt.day)
    return months.clip(lower=0).astype(int)


def _mart_rows(lines: pd.DataFrame) -> pa.Table:
    """The lines cast to the contract (``schema.OUTPUTS``), without ``run_id`` (the session fills it)."""
    from workbench.warehouse.schema import OUTPUTS

    schema = ibis.schema({n: t for n, t in OUTPUTS[TABLE].ibis_schema().items() if n != "run_id"}).to_pyarrow()
    frame = lines[list(MART_COLUMNS)].copy()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return pa.Table.from_pandas(frame, preserve_index=False).select(schema.names).cast(schema)
