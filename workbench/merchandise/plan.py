"""The sales plan (销售计划) at the alert grain: prorated to the period, split below brand by a sales mix.

``core.sales_plan`` is set per location × month × brand. Two steps bring it to the grain a manager asks for:

1. **Prorate to the period** by the share of each month's days that fall in it, exactly as the P&L
   does (:func:`workbench.finance.period.month_overlap`), so a week holds 7/30 of its month's plan
   and the alerts and the finance report agree on what "the plan" was.
2. **Split below brand** (category, season) by the store-brand's *reference mix*: its net sales by
   category / season over the ``plan_mix_weeks`` weeks before the period. The plan says how much a
   brand should sell; the recent mix says how the store usually splits it, so a category whose share
   moves is the deviation a merchandiser wants to see. A store-brand that sold nothing in those weeks
   (the first weeks of the data, a new brand) falls back on the mix of the period itself, which gives
   its categories the brand's deviation rather than none; ``plan_basis`` says which mix was used.
   A plan with neither keeps its value on a row whose product columns are null ("not split").
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from workbench.finance.period import month_overlap

__all__ = ["prorated_plan", "plan_mix", "plan_by_store", "SPLIT_DIMS"]

SPLIT_DIMS = ("category", "season")  # below the plan's brand: need a mix


def prorated_plan(plan: ir.Table, first: dt.date, last: dt.date) -> ir.Table:
    """Plan per ``store_id`` × ``brand`` for ``first..last`` (days included): months prorated by overlap."""
    p = plan.filter(plan.month.between(first.replace(day=1), last))
    share = month_overlap(p.month, first, last)
    p = p.mutate(_net=p.plan_net_sales * share, _units=p.plan_units.cast("float64") * share)
    return p.group_by("store_id", "brand").aggregate(plan_net_sales=p._net.sum(), plan_units=p._units.sum())


def plan_mix(reference: ir.Table, period: ir.Table) -> ir.Table:
    """The mix to split a store-brand's plan by: the reference weeks where the store-brand sold, else the period.

    Both tables hold ``store_id``, ``brand``, the split dimensions and ``net_sales``. Negative net sales
    (more returned than sold) weigh nothing: a share of a plan cannot be negative.
    """
    ref = reference.filter(reference.net_sales > 0).mutate(plan_basis=ibis.literal("reference mix"))
    cur = period.filter(period.net_sales > 0).mutate(plan_basis=ibis.literal("period mix"))
    covered = ref.select("store_id", "brand").distinct()
    return ref.union(cur.anti_join(covered, ["store_id", "brand"]))


def plan_by_store(plan: ir.Table, first: dt.date, last: dt.date, product_dims: list[str],
                  mix: ir.Table | None = None) -> ir.Table:
    """Plan per ``store_id`` × ``product_dims`` (of brand, category, season) for ``first..last``.

    ``mix`` (from :func:`plan_mix`, at ``store_id`` × ``brand`` × the split dims) is needed when
    ``product_dims`` has a split dimension; the result then carries ``plan_basis``.
    """
    base = prorated_plan(plan, first, last)
    split = [d for d in product_dims if d in SPLIT_DIMS]
    if not split:
        return base.group_by("store_id", *product_dims).aggregate(
            plan_net_sales=base.plan_net_sales.sum(), plan_units=base.plan_units.sum(),
            plan_basis=ibis.literal("plan"))
    if mix is None:
        raise ValueError(f"the plan is set by brand: splitting it by {split} needs a sales mix")
    keys = ["store_id", "brand"]
    m = mix.group_by(*keys, *split).aggregate(weight=mix.net_sales.sum(), plan_basis=mix.plan_basis.max())
    m = m.mutate(share=m.weight / m.weight.sum().over(group_by=keys))
    j = base.left_join(m, keys)
    share = j.share.fill_null(1.0)  # no mix: the whole plan stays on a row not split
    rows = j.select("store_id", "brand", *split, plan_net_sales=j.plan_net_sales * share,
                    plan_units=j.plan_units * share, plan_basis=j.plan_basis.fill_null("not split"))
    return rows.group_by("store_id", *product_dims).aggregate(
        plan_net_sales=rows.plan_net_sales.sum(), plan_units=rows.plan_units.sum(),
        plan_basis=rows.plan_basis.max())
