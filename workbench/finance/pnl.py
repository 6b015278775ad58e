"""P&L by unit (经营损益): net sales down to contribution, by store, region, brand, channel and month.

Everything is first built at the finest grain the sources share, store × month × brand, then summed to
the ``by`` the reader asks for, so every cut adds up to the chain's figure:

- from the ticket lines (``core.sales``) of the period: ``units``, ``tag_value`` (吊牌额, tag price × qty),
  ``markdown`` (折让: the discount on lines without a promotion, i.e. standing markdowns) and
  ``promotion`` (促销折让: the whole discount on lines with a promotion), ``markdown_cost`` = both =
  tag value − net sales, ``net_sales`` (净销售额) and ``cogs`` (销售成本, ``cost_amount``);
- ``commission``: the host department store's cut of a consignment counter's sales
  (``core.stores.commission_rate`` × net sales; ``core.consignment_settlements`` is the host's own
  statement of it, reconciled by the risk checks, and is monthly per counter only, so it cannot be
  cut by brand);
- ``rent``, ``staff_cost``, ``other_cost`` from ``core.store_costs``, prorated by the share of each
  month's days in the period and spread over a store-month's brands by their net-sales share
  (``finance.pnl.allocate_store_costs_by``); a store-month without sales keeps them on a row whose
  brand is null;
- ``plan_net_sales`` / ``plan_units`` from ``core.sales_plan`` (store × month × brand), prorated likewise.

Then ``gross_margin`` = net sales − cogs (毛利), ``margin_rate``, ``contribution`` (贡献利润) = gross
margin − commission − store costs, ``plan_variance`` = net sales − plan and ``plan_attainment``
(达成率) = net sales / plan (null without a plan). Without cost columns (a store manager's session
hides ``cost_amount``) cogs, margin and contribution are left out, not guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import ibis
import ibis.expr.types as ir

from workbench.finance.conf import check_fields, finance_section
from workbench.finance.period import DIMS, by_columns, checked_by, month_overlap, parse_period

__all__ = ["PnlRules", "load_rules", "rules_from", "pnl", "pnl_report", "BY", "COLUMNS"]

BY = ("store", "region", "brand", "channel", "month")
FIELDS = ("allocate_store_costs_by", "exclude_store_types")
_ALLOCATIONS = ("net_sales", "equal")
_KEYS = ["store_id", "month", "brand"]
_SALES = ("units", "tag_value", "markdown", "promotion", "net_sales", "cogs")
_PLAN = ("plan_net_sales", "plan_units")
_COSTS = ("rent", "staff_cost", "other_cost")
COLUMNS = ("units", "tag_value", "markdown", "promotion", "markdown_cost", "net_sales", "cogs", "gross_margin",
           "margin_rate", "commission", *_COSTS, "store_costs", "contribution", *_PLAN, "plan_variance",
           "plan_attainment")  # in reading order; those that cannot be computed are left out


@dataclass(frozen=True)
class PnlRules:
    allocate_store_costs_by: str = "net_sales"
    exclude_store_types: tuple[str, ...] = ("dc",)


def load_rules(config_file: Path | None = None) -> PnlRules:
    """``finance.pnl`` of the settings file."""
    return rules_from(finance_section("pnl", config_file))


def rules_from(raw: Mapping[str, Any], where: str = "finance.pnl") -> PnlRules:
    check_fields(raw, FIELDS, where)
    how = raw.get("allocate_store_costs_by", "net_sales")
    if how not in _ALLOCATIONS:
        raise ValueError(f"{where}.allocate_store_costs_by is {how!r}: choose {' or '.join(_ALLOCATIONS)}")
    return PnlRules(how, tuple(raw.get("exclude_store_types", ("dc",)) or ()))


def pnl(sales: ir.Table, stores: ir.Table, products: ir.Table, store_costs: ir.Table | None,
        plan: ir.Table | None, start: Any, end: Any, by: Iterable[str] = ("store", "month"),
        rules: PnlRules = PnlRules()) -> ir.Table:
    """The P&L per group of ``by`` (of :data:`BY`) for ``start..end`` (days included), ordered by ``by``.

    Pure: ibis tables in (``core.sales``, ``core.stores``, ``core.products``, ``core.store_costs``,
    ``core.sales_plan``; the last two may be None), an ibis expression out.
    """
    first, last = parse_period(start, end)
    by = checked_by(by, BY)
    with_cost = "cost_amount" in sales.columns
    base = _sales_at_grain(sales, products, first, last, with_cost)
    if plan is not None:
        base = _stack(base, _plan_at_grain(plan, first, last))
    base = _sum_at_grain(base)
    if store_costs is not None:
        base = _with_store_costs(base, _costs_at_grain(store_costs, first, last), rules)
    rows = _with_stores(_fill(base), stores, rules)
    measures = [c for c in (*_SALES, "commission", *_COSTS, *_PLAN) if c in rows.columns]
    cols = by_columns(by)
    sums = {m: rows[m].sum() for m in measures}
    out = _derived(rows.group_by(cols).aggregate(**sums) if cols else rows.aggregate(**sums),
                   with_cost, store_costs is not None, plan is not None)
    return out.order_by(cols) if cols else out


def pnl_report(session: Any, start: Any, end: Any, by: Iterable[str] = ("store", "month"),
               rules: PnlRules | None = None) -> ir.Table:
    """:func:`pnl` on what ``session`` may read (its row policies pick the stores, its column
    policies whether costs show). A period without sales raises a ValueError saying which dates hold some."""
    first, last = parse_period(start, end)
    sales = session.table("core.sales")
    _require_sales(sales, first, last)
    return pnl(sales, session.table("core.stores"), session.table("core.products"),
               _optional(session, "core.store_costs"), _optional(session, "core.sales_plan"), first, last, by,
               rules or load_rules())


def _optional(session: Any, name: str) -> ir.Table | None:
    """A table the report can do without (no plan loaded, or not granted): None then."""
    try:
        return session.table(name)
    except (LookupError, PermissionError):
        return None


def _require_sales(sales: ir.Table, first: dt.date, last: dt.date) -> None:
    if sales.filter(sales.sale_date.between(first, last)).count().execute() == 0:
        span = sales.aggregate(lo=sales.sale_date.min(), hi=sales.sale_date.max()).execute().iloc[0]
        if span["lo"] is None or span["lo"] != span["lo"]:  # None or NaT: nothing in the reader's scope
            raise ValueError(f"no sales between {first} and {last}, nor any other sales you may read: check the "
                             "user's stores or region (`wb users`) and that the warehouse is loaded")
        raise ValueError(f"no sales between {first} and {last}: the sales you may read run from "
                         f"{span['lo']:%Y-%m-%d} to {span['hi']:%Y-%m-%d}; choose a period inside it")


def _sales_at_grain(sales: ir.Table, products: ir.Table, first: dt.date, last: dt.date, with_cost: bool) -> ir.Table:
    s = sales.filter(sales.sale_date.between(first, last))
    s = s.join(products.select("sku_id", "brand"), "sku_id")
    promo = s.promo_id.notnull()
    measures = dict(
        units=s.qty.cast("int64").sum(), tag_value=(s.full_price * s.qty).sum(),
        markdown=promo.ifelse(0.0, s.discount_amount).sum(), promotion=promo.ifelse(s.discount_amount, 0.0).sum(),
        net_sales=s.net_amount.sum(),
    )
    if with_cost:
        measures["cogs"] = s.cost_amount.sum()
    return s.group_by(store_id=s.store_id, month=s.sale_date.truncate("M"), brand=s.brand).aggregate(**measures)


def _plan_at_grain(plan: ir.Table, first: dt.date, last: dt.date) -> ir.Table:
    month_of_first = first.replace(day=1)
    p = plan.filter(plan.month.between(month_of_first, last))
    share = month_overlap(p.month, first, last)
    return p.select("store_id", "month", "brand", plan_net_sales=p.plan_net_sales * share,
                    plan_units=p.plan_units.cast("float64") * share)


def _costs_at_grain(costs: ir.Table, first: dt.date, last: dt.date) -> ir.Table:
    c = costs.filter(costs.month.between(first.replace(day=1), last))
    share = month_overlap(c.month, first, last)
    return c.select("store_id", "month", **{k: c[k].fill_null(0.0) * share for k in _COSTS})


def _stack(a: ir.Table, b: ir.Table) -> ir.Table:
    """Rows of both with every measure of either (missing ones 0): an outer join that keeps keys whole."""
    keys = {"store_id": "int32", "month": "date", "brand": "string"}  # nullable, so both sides agree
    cols = {c: t[c].type().copy(nullable=True) for t in (a, b) for c in t.columns if c not in _KEYS}

    def widen(t: ir.Table) -> ir.Table:
        return t.select(**{k: t[k].cast(dtype) for k, dtype in keys.items()},
                        **{c: (t[c] if c in t.columns else ibis.literal(0, dtype)).cast(dtype)
                           for c, dtype in cols.items()})
    return widen(a).union(widen(b))


def _sum_at_grain(base: ir.Table) -> ir.Table:
    return base.group_by(_KEYS).aggregate(**{c: base[c].sum() for c in base.columns if c not in _KEYS})


def _with_store_costs(base: ir.Table, costs: ir.Table, rules: PnlRules) -> ir.Table:
    """Store-month costs spread over its brand rows; a store-month without a row keeps them brand-less."""
    totals = base.group_by("store_id", "month").aggregate(store_net=base.net_sales.sum(), brands=base.count())
    j = base.join(totals, ["store_id", "month"]).left_join(costs, ["store_id", "month"])
    equal = 1.0 / j.brands.cast("float64")
    share = equal if rules.allocate_store_costs_by == "equal" else \
        (j.store_net > 0).ifelse(j.net_sales / j.store_net, equal)  # no positive sales: spread evenly
    spread = j.select(*base.columns, **{k: j[k].fill_null(0.0) * share for k in _COSTS})
    orphans = costs.anti_join(base, ["store_id", "month"]).mutate(brand=ibis.null("string"))
    return _stack(spread, orphans.select(*_KEYS, *_COSTS))


def _fill(base: ir.Table) -> ir.Table:
    return base.mutate(**{c: base[c].fill_null(0) for c in base.columns if c not in _KEYS})


def _with_stores(rows: ir.Table, stores: ir.Table, rules: PnlRules) -> ir.Table:
    st = stores.select("store_id", "store_code", "region", channel=stores.store_type,
                       rate=stores.commission_rate.fill_null(0.0))
    if rules.exclude_store_types:
        st = st.filter(~st.channel.isin(list(rules.exclude_store_types)))
    j = rows.join(st, "store_id")  # inner: stores outside the reader's scope or excluded drop out here
    commission = (j.channel == "consignment").ifelse(j.net_sales * j.rate, 0.0)
    return j.mutate(commission=commission).drop("rate")


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    return num.cast("float64") / den.cast("float64").nullif(0)


def _derived(t: ir.Table, with_cost: bool, with_costs: bool, with_plan: bool) -> ir.Table:
    new: dict[str, ir.Value] = {"markdown_cost": t.markdown + t.promotion}
    if with_costs:
        new["store_costs"] = t.rent + t.staff_cost + t.other_cost
    if with_cost:
        new["gross_margin"] = t.net_sales - t.cogs
        new["margin_rate"] = _ratio(t.net_sales - t.cogs, t.net_sales)
        new["contribution"] = t.net_sales - t.cogs - t.commission - \
            (t.rent + t.staff_cost + t.other_cost if with_costs else 0.0)
    if with_plan:
        new["plan_variance"] = t.net_sales - t.plan_net_sales
        new["plan_attainment"] = _ratio(t.net_sales, t.plan_net_sales)
    t = t.mutate(**new)
    return t.select(*[c for c in t.columns if c not in COLUMNS], *[c for c in COLUMNS if c in t.columns])
