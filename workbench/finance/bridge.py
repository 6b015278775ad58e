"""The profit bridge (利润桥): which effects moved gross margin and contribution between two periods.

Pure: it takes each period's sales per item (any grain: SKC × store, SKU, category …)
and optionally the expenses per group, and returns one row per group with
the base, each effect and the current value. The effects add up exactly to
the change, by construction:

For the items sold in both periods (units > 0 in each; per unit: list price
``L``, markdown ``D``, cost ``c``, margin ``m = L - D - c``) and the group's
base margin per unit ``m̄₀ = Σ q₀m₀ / Σ q₀``:

- ``volume``   = (Σ q₁ − Σ q₀) · m̄₀            more or fewer units at the base mix
- ``mix``      = Σ q₁m₀ − Σ q₁ · m̄₀            the units moved to richer or poorer items
- ``price``    = Σ q₁ (L₁ − L₀)                 ticket prices (吊牌价) changed
- ``markdown`` = −Σ q₁ (D₁ − D₀)                deeper or shallower discounts (折扣)
- ``cost``     = −Σ q₁ (c₁ − c₀)                unit costs changed
- ``new_and_ended`` = the margin of items sold in one period only (or whose
  net units are not positive: returns only), current minus base
- ``expense``  = −(E₁ − E₀), when expenses are given: contribution = margin − expenses

volume + mix + price + markdown + cost = Σ q₁m₁ − Σ q₀m₀ over the shared
items; ``new_and_ended`` is the rest of the margin change.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["SALES_COLUMNS", "EFFECTS", "profit_bridge"]

SALES_COLUMNS = ("units", "full_sales", "markdown", "cogs")  # per item and period; markdown = full − net sales
EFFECTS = ("volume", "mix", "price", "markdown", "cost", "new_and_ended", "expense")


def profit_bridge(base: pd.DataFrame, current: pd.DataFrame, by: list[str], item: str,
                  expenses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per group of ``by``: ``base_margin``, the effects, ``current_margin`` (and, with ``expenses``,
    ``base_contribution`` / ``current_contribution``).

    ``base`` / ``current``: one row per ``by`` + ``item`` with :data:`SALES_COLUMNS`. ``expenses``: one row
    per ``by`` group with ``base_expense`` and ``current_expense``.
    """
    keys = [*by, item]
    both = _side_by_side(_checked(base, keys, "base"), _checked(current, keys, "current"), keys)
    shared = (both["units_0"] > 0) & (both["units_1"] > 0)
    parts = _effects(both[shared], by)
    rest = both[~shared].assign(new_and_ended=lambda f: f["margin_1"] - f["margin_0"])
    totals = both.groupby(by, sort=True, dropna=False)[["margin_0", "margin_1"]].sum()
    ended = rest.groupby(by, dropna=False)[["new_and_ended"]].sum()  # dropna=False: the online shop has no region
    out = totals.join(parts, how="left").join(ended, how="left").fillna(0.0)
    out = out.rename(columns={"margin_0": "base_margin", "margin_1": "current_margin"})
    out["expense"] = 0.0
    if expenses is not None:
        out = _with_expenses(out, expenses, by)
    columns = ["base_margin", *EFFECTS, "current_margin"]
    if expenses is not None:
        columns = ["base_contribution", *columns, "current_contribution"]
    return out.reset_index()[[*by, *columns]]


def _checked(frame: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    missing = [c for c in (*keys, *SALES_COLUMNS) if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} period's sales lack the columns {missing}; give one row per "
                         f"{' × '.join(keys)} with {', '.join(SALES_COLUMNS)}")
    if frame.duplicated(keys).any():
        raise ValueError(f"the {name} period's sales repeat a {' × '.join(keys)}: aggregate them first")
    return frame[[*keys, *SALES_COLUMNS]]


def _side_by_side(base: pd.DataFrame, current: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    both = base.merge(current, on=keys, how="outer", suffixes=("_0", "_1"))
    both = both.fillna({f"{c}_{p}": 0.0 for c in SALES_COLUMNS for p in (0, 1)})
    for p in (0, 1):
        both[f"margin_{p}"] = both[f"full_sales_{p}"] - both[f"markdown_{p}"] - both[f"cogs_{p}"]
    return both


def _effects(shared: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Volume, mix, price, markdown and cost over the items sold in both periods."""
    q0, q1 = shared["units_0"], shared["units_1"]
    per_unit = {f"{c}_{p}": shared[f"{c}_{p}"] / shared[f"units_{p}"] for c in ("full_sales", "markdown", "cogs")
                for p in (0, 1)}
    m0 = shared["margin_0"] / q0
    lines = pd.DataFrame({
        **{k: shared[k] for k in by}, "q0": q0, "q1": q1, "m0_q0": shared["margin_0"], "m0_q1": m0 * q1,
        "price": q1 * (per_unit["full_sales_1"] - per_unit["full_sales_0"]),
        "markdown": -q1 * (per_unit["markdown_1"] - per_unit["markdown_0"]),
        "cost": -q1 * (per_unit["cogs_1"] - per_unit["cogs_0"]),
    })
    g = lines.groupby(by, sort=True, dropna=False).sum(numeric_only=True)
    base_unit_margin = g["m0_q0"] / g["q0"]
    g["volume"] = (g["q1"] - g["q0"]) * base_unit_margin
    g["mix"] = g["m0_q1"] - g["q1"] * base_unit_margin
    return g[["volume", "mix", "price", "markdown", "cost"]]


def _with_expenses(out: pd.DataFrame, expenses: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    missing = [c for c in (*by, "base_expense", "current_expense") if c not in expenses.columns]
    if missing:
        raise ValueError(f"expenses lack the columns {missing}; give one row per {' × '.join(by)} "
                         "with base_expense and current_expense")
    e = expenses.groupby(by, dropna=False)[["base_expense", "current_expense"]].sum()
    out = out.join(e, how="outer").fillna(0.0)  # a group with costs and no sales still counts
    out["expense"] = -(out["current_expense"] - out["base_expense"])
    out["base_contribution"] = out["base_margin"] - out["base_expense"]
    out["current_contribution"] = out["current_margin"] - out["current_expense"]
    return out
