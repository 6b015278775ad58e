"""Inventory for management (财务经营汇报库存视角): stock at cost and at retail by age since receipt.

**Receipt age, FIFO.** The warehouse keeps stock snapshots (``core.inventory``) and every movement
(``core.transfers``), not a lot per unit. So the age of the units on hand is derived: goods leave a
location first in, first out, hence *the units on hand are the latest receipts there*. For a snapshot
row of ``on_hand`` units, the receipts at that location and SKU up to the snapshot day are taken newest
first until they cover ``on_hand``; each slice keeps its receive date. Units that the receipts in the
log do not cover (stock carried in before the log starts, or customer returns) are dated on the day
of the first record (``opening``), so their age is a lower bound. Each quality (A, B-goods 次品) is
aged on its own in the same way. Only units on hand are aged: in-transit units have not been
received yet.

**Buckets and slow stock** come from ``finance.stock_age``: ``buckets`` (from which day since receipt
which label, default 0-90, 91-180, 181-365, >365) and ``slow_from_days``: units on hand at least that
long are slow stock (滞销库存); their cost is the cash tied up in them.

**Values.** At retail: units × tag price (``products.full_price``); at cost: units × landed unit cost
(``products.unit_cost``), left out when the session hides costs. Consignment counters' stock
(``consignment``) and B-goods (``quality`` B) are their own rows, so they show separately and still add
up to the snapshot. Weeks of cover (可销周数) is the metrics layer's one definition
(:data:`workbench.metrics.METRICS` ``weeks_of_cover``), taken at the same snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.dates import parse_day
from workbench.finance.conf import check_fields, finance_section
from workbench.finance.period import by_columns, checked_by

__all__ = ["StockAgeRules", "load_rules", "rules_from", "fifo_ages", "stock_by_age", "stock_summary",
           "stock_age_report", "stock_summary_report", "snapshot_on", "by_age_bucket", "BY"]

BY = ("store", "region", "brand", "channel", "season")
FIELDS = ("buckets", "slow_from_days")
_ROW = ["snapshot_date", "store_id", "sku_id", "quality"]


@dataclass(frozen=True)
class StockAgeRules:
    buckets: tuple[tuple[int, str], ...] = ((0, "0-90"), (91, "91-180"), (181, "181-365"), (366, ">365"))
    slow_from_days: int = 181


def load_rules(config_file: Path | None = None) -> StockAgeRules:
    """``finance.stock_age`` of the settings file."""
    return rules_from(finance_section("stock_age", config_file))


def rules_from(raw: Mapping[str, Any], where: str = "finance.stock_age") -> StockAgeRules:
    check_fields(raw, FIELDS, where)
    steps = raw.get("buckets") or []
    try:
        buckets = tuple((int(b["from_days"]), str(b["label"])) for b in steps)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}.buckets: give a list of {{from_days: D, label: L}}, not {steps!r}") from None
    if not buckets or buckets[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(buckets, buckets[1:])):
        raise ValueError(f"{where}.buckets must start at from_days 0 and rise: {steps!r}")
    slow = raw.get("slow_from_days", 181)
    if not isinstance(slow, int) or slow < 0:
        raise ValueError(f"{where}.slow_from_days is a whole number of days since receipt, not {slow!r}")
    return StockAgeRules(buckets, slow)


def fifo_ages(on_hand: ir.Table, receipts: ir.Table, opening: Any) -> ir.Table:
    """Slices of each stock row by receive date: ``snapshot_date, store_id, sku_id, quality, received,
    units, age_days``; the slices of a row add up to its ``on_hand``.

    ``on_hand``: snapshot rows (:data:`_ROW` + ``on_hand``); ``receipts``: ``store_id, sku_id,
    receive_date, qty`` (units arriving at the location). Units not covered by a receipt are dated
    ``opening``.
    """
    opening = parse_day(opening)
    stock = on_hand.filter(on_hand.on_hand > 0).select(*_ROW, "on_hand")
    daily = receipts.group_by("store_id", "sku_id", "receive_date").aggregate(qty=receipts.qty.sum())
    j = stock.join(daily, [stock.store_id == daily.store_id, stock.sku_id == daily.sku_id,
                           daily.receive_date <= stock.snapshot_date]).select(*_ROW, "on_hand", "receive_date", "qty")
    newest_first = ibis.window(group_by=[j[c] for c in _ROW], order_by=ibis.desc(j.receive_date), rows=(None, 0))
    newer = j.qty.sum().over(newest_first) - j.qty  # units received after this receipt, up to the snapshot
    sliced = j.mutate(units=ibis.least(j.qty, ibis.greatest(j.on_hand - newer, 0)))
    sliced = sliced.filter(sliced.units > 0).select(*_ROW, received=sliced.receive_date,
                                                    units=sliced.units.cast("int64"))
    covered = sliced.group_by(_ROW).aggregate(covered=sliced.units.sum())
    rest = stock.left_join(covered, _ROW).select(*_ROW, units=(stock.on_hand - covered.covered.fill_null(0)).cast("int64"))
    rest = rest.filter(rest.units > 0).select(*_ROW, received=ibis.literal(opening), units=rest.units)
    out = sliced.union(rest)
    return out.mutate(age_days=out.snapshot_date.delta(out.received, unit="day").cast("int32"))


def stock_by_age(aged: ir.Table, stores: ir.Table, products: ir.Table, by: Iterable[str] = ("store",),
                 rules: StockAgeRules = StockAgeRules()) -> ir.Table:
    """Per ``by`` × ``consignment`` × ``quality`` × ``age_bucket``: ``units``, ``retail_value``,
    ``cost_value`` (when ``products`` has ``unit_cost``), and the slow part of each (``slow_*``)."""
    by = checked_by(by, BY)
    rows = _valued(aged, stores, products, rules)
    keys = [*by_columns(by), "consignment", "quality", "age_bucket", "bucket_order"]
    values = [c for c in ("units", "retail_value", "cost_value") if c in rows.columns]
    slow = rows.age_days >= rules.slow_from_days
    out = rows.group_by(keys).aggregate(**{v: rows[v].sum() for v in values},
                                        **{f"slow_{v}": slow.ifelse(rows[v], 0).sum() for v in values})
    return out.order_by([k for k in keys if k != "age_bucket"]).drop("bucket_order")


def stock_summary(aged: ir.Table, stores: ir.Table, products: ir.Table, by: Iterable[str] = ("store",),
                  rules: StockAgeRules = StockAgeRules(), cover: ir.Table | None = None) -> ir.Table:
    """Per ``by``: ``units``, ``retail_value``, ``cost_value``, the slow stock and its share, B-goods and
    consignment apart (``b_goods_*``, ``consignment_*``) and, given ``cover`` (``by`` columns +
    ``weeks_of_cover``), the weeks of cover. ``slow_cost_value`` is the cash tied in slow stock."""
    by = checked_by(by, BY)
    rows = _valued(aged, stores, products, rules)
    cols = by_columns(by)
    values = [c for c in ("units", "retail_value", "cost_value") if c in rows.columns]
    parts = {"slow": rows.age_days >= rules.slow_from_days, "b_goods": rows.quality == "B",
             "consignment": rows.consignment}
    sums = {v: rows[v].sum() for v in values}
    sums |= {f"{p}_{v}": cond.ifelse(rows[v], 0).sum() for p, cond in parts.items() for v in values}
    out = rows.group_by(cols).aggregate(**sums) if cols else rows.aggregate(**sums)
    lead = "cost_value" if "cost_value" in values else "retail_value"
    out = out.mutate(slow_share=out[f"slow_{lead}"].cast("float64") / out[lead].cast("float64").nullif(0))
    if cover is not None:
        out = out.left_join(cover.select(*cols, "weeks_of_cover"), cols).select(*out.columns, "weeks_of_cover") \
            if cols else out.cross_join(cover.select("weeks_of_cover"))
    return out.order_by(cols) if cols else out


def by_age_bucket(by_age: pd.DataFrame, rows: str, rules: StockAgeRules | None = None) -> pd.DataFrame:
    """:func:`stock_by_age` (as pandas) turned into one row per value of ``rows`` (e.g. ``season``) and one
    column per age bucket in the configured order, at cost when the reader sees cost, else at retail."""
    value = "cost_value" if "cost_value" in by_age.columns else "retail_value"
    order = [label for _, label in (rules or load_rules()).buckets]
    table = by_age.pivot_table(index=rows, columns="age_bucket", values=value, aggfunc="sum", fill_value=0.0)
    return table.reindex(columns=order, fill_value=0.0).rename_axis(columns=None).reset_index()


def snapshot_on(inventory: ir.Table, as_of: Any) -> dt.date:
    """The last stock snapshot on or before ``as_of``; a ValueError says which days have one."""
    day = parse_day(as_of)
    d = inventory.snapshot_date
    span = inventory.aggregate(first=d.min(), last=d.max(where=d <= day)).execute()
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if last is None or last != last:  # NaT
        held = f"the first is {first:%Y-%m-%d}" if first is not None and first == first else "there are none you may read"
        raise ValueError(f"no stock snapshot on or before {day}: {held}; choose an as-of date on or after it")
    return parse_day(last)


def stock_age_report(session: Any, as_of: Any, by: Iterable[str] = ("store",),
                     rules: StockAgeRules | None = None) -> ir.Table:
    """:func:`stock_by_age` at the last snapshot on or before ``as_of``, read through ``session``."""
    return stock_by_age(_aged(session, as_of), session.table("core.stores"), session.table("core.products"),
                        by, rules or load_rules())


def stock_summary_report(session: Any, as_of: Any, by: Iterable[str] = ("store",),
                         rules: StockAgeRules | None = None) -> ir.Table:
    """:func:`stock_summary` at the last snapshot on or before ``as_of``, with weeks of cover."""
    by = checked_by(by, BY)
    day = snapshot_on(session.table("core.inventory"), as_of)
    return stock_summary(_aged(session, day), session.table("core.stores"), session.table("core.products"),
                         by, rules or load_rules(), _cover(session, day, by))


def _aged(session: Any, as_of: Any) -> ir.Table:
    inventory, transfers = session.table("core.inventory"), session.table("core.transfers")
    day = snapshot_on(inventory, as_of)
    opening = inventory.snapshot_date.min().execute()
    received = transfers.filter(transfers.receive_date.notnull() & transfers.to_store_id.notnull())
    receipts = received.select(store_id=received.to_store_id, sku_id=received.sku_id,
                               receive_date=received.receive_date, qty=received.qty)
    return fifo_ages(inventory.filter(inventory.snapshot_date == day), receipts, opening)


def _cover(session: Any, day: dt.date, by: list[str]) -> ir.Table:
    """Weeks of cover by the metrics layer's definition, at the same snapshot, keyed like the report."""
    from workbench.metrics import compute

    to_metric = {"store": ["store_id", "store_code"], "region": ["region"], "brand": ["brand"],
                 "channel": ["store_type"], "season": ["season"]}
    dims = [d for name in by for d in to_metric[name]]
    t = compute(session, ["weeks_of_cover"], by=dims, start=day, end=day)
    return t.rename(channel="store_type") if "channel" in by else t


def _valued(aged: ir.Table, stores: ir.Table, products: ir.Table, rules: StockAgeRules) -> ir.Table:
    has_cost = "unit_cost" in products.columns
    prod = products.select("sku_id", "brand", "season", "full_price", *(["unit_cost"] if has_cost else []))
    st = stores.select("store_id", "store_code", "region", channel=stores.store_type)
    j = aged.join(st, "store_id").join(prod, "sku_id")  # inner: the reader's scope decides the stores
    order = ibis.cases(*[(j.age_days >= start, i) for i, (start, _) in reversed(list(enumerate(rules.buckets)))],
                       else_=0)
    label = ibis.cases(*[(j.age_days >= start, name) for start, name in reversed(rules.buckets)],
                       else_=rules.buckets[0][1])
    values = {"retail_value": j.units * j.full_price}
    if has_cost:
        values["cost_value"] = j.units * j.unit_cost
    return j.mutate(consignment=j.channel == "consignment", age_bucket=label, bucket_order=order, **values)
