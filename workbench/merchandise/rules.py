"""The alert rules (预警规则) and their settings: which plan-vs-actual rows are overstock or understock,
what to do about them, and how much money is at stake.

The rules run on a small frame (one row per group of the grain, already aggregated by the engine),
so they are plain pandas and testable with a hand-made table. The thresholds are configuration
(``merchandise.alerts`` in ``workbench/conf/workbench.yaml``) because buyers tune them by season;
a misspelt field is refused by name rather than silently left at its default.

- **understock** (缺货风险): selling ahead of plan (deviation ≥ ``understock_deviation``) with low
  cover (weeks of cover ≤ ``understock_cover_weeks``, or no stock at all): the group risks lost
  sales. Action ``transfer in`` when another location of the reader's view is overstocked on the
  same products, else ``replenish`` (补货, from the DC).
- **overstock** (积压): behind plan (deviation ≤ −``overstock_deviation``) with high cover (weeks of
  cover ≥ ``overstock_cover_weeks``, or stock and no recent sales at all). Action ``transfer out``
  when another location is short of the same products, else ``promote`` (促销 / markdown).

Value at stake (in CNY, at the period's average selling price), which ranks the alerts and sets
their severity: for understock the units missing for the stock to last ``understock_cover_weeks``;
for overstock the units beyond ``overstock_cover_weeks``; both at the weekly rate weeks of cover is
measured with (stock / cover), so a row past its threshold always has something at stake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import yaml

from workbench.config import CONF_DIR

__all__ = ["AlertRules", "load_rules", "rules_from", "classify", "ALERTS", "ACTIONS", "SEVERITIES"]

ALERTS = ("understock", "overstock")
ACTIONS = ("replenish", "transfer in", "promote", "transfer out")
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class AlertRules:
    understock_deviation: float = 0.15   # sales at least 15 % ahead of plan ...
    understock_cover_weeks: float = 4.0  # ... with at most 4 weeks of cover
    overstock_deviation: float = 0.15    # sales at least 15 % behind plan ...
    overstock_cover_weeks: float = 12.0  # ... with at least 12 weeks of cover
    plan_mix_weeks: int = 8              # below brand, the plan is split by the mix of these weeks before the period
    high_cny: float = 50_000.0           # value at stake from which an alert is high
    medium_cny: float = 10_000.0         # ... medium; below it low
    pending_statuses: tuple[str, ...] = ("pending", "approved", "edited")  # review statuses that count as planned

    def __post_init__(self) -> None:
        for name in ("understock_deviation", "overstock_deviation", "understock_cover_weeks",
                     "overstock_cover_weeks", "high_cny", "medium_cny"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) < 0:
                raise ValueError(f"merchandise.alerts.{name} must be a number >= 0, not {getattr(self, name)!r}")
        if self.understock_cover_weeks >= self.overstock_cover_weeks:
            raise ValueError("merchandise.alerts: understock_cover_weeks must be below overstock_cover_weeks "
                             f"({self.understock_cover_weeks} >= {self.overstock_cover_weeks})")
        if self.medium_cny > self.high_cny:
            raise ValueError(f"merchandise.alerts: medium_cny ({self.medium_cny}) is above high_cny ({self.high_cny})")
        if not isinstance(self.plan_mix_weeks, int) or self.plan_mix_weeks < 1:
            raise ValueError(f"merchandise.alerts.plan_mix_weeks must be a whole number of weeks >= 1, "
                             f"not {self.plan_mix_weeks!r}")


FIELDS = tuple(f.name for f in fields(AlertRules))


def rules_from(raw: Mapping[str, Any] | None, where: str = "merchandise.alerts") -> AlertRules:
    """Rules from a settings mapping; unknown fields are refused by name, absent ones keep their default."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in {where}; the fields are {', '.join(FIELDS)}")
    if "pending_statuses" in raw:
        raw["pending_statuses"] = tuple(raw["pending_statuses"] or ())
    return AlertRules(**raw)


def load_rules(config_file: Path | None = None) -> AlertRules:
    """``merchandise.alerts`` of the settings file (``WB_CONFIG``, else ``workbench/conf/workbench.yaml``)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("merchandise") or {}
    return rules_from(raw.get("alerts"))


def classify(rows: pd.DataFrame, product_cols: list[str], location_col: str, rules: AlertRules) -> pd.DataFrame:
    """Add ``alert``, ``action``, ``value_at_stake``, ``severity`` and ``reason`` to plan-vs-actual rows.

    ``rows`` needs ``deviation``, ``stock_units``, ``weeks_of_cover``, ``net_sales``, ``units``,
    ``plan_net_sales``, ``plan_units`` and ``weeks`` (length of the period in weeks). ``product_cols``
    name the grain's product columns (the same products in two locations can swap stock);
    ``location_col`` the location column. A row without a plan or without a stock figure gets no alert:
    the rule cannot be judged, and guessing would cry wolf.
    """
    out = rows.copy()
    dev, stock, cover = out["deviation"], out["stock_units"], out["weeks_of_cover"]
    no_recent_sales = cover.isna() & (stock > 0)
    under = (dev >= rules.understock_deviation) & ((cover <= rules.understock_cover_weeks) | (stock <= 0))
    over = (dev <= -rules.overstock_deviation) & ((cover >= rules.overstock_cover_weeks) | no_recent_sales)
    out["alert"] = np.select([under, over], ["understock", "overstock"], default=None)
    out["action"] = _actions(out, product_cols, location_col)
    out["value_at_stake"] = _value_at_stake(out, rules)
    out["severity"] = np.select(
        [out["alert"].isna(), out["value_at_stake"] >= rules.high_cny, out["value_at_stake"] >= rules.medium_cny],
        [None, "high", "medium"], default="low")
    out["reason"] = [_reason(r, rules) for r in out.itertuples(index=False)]
    return out


def _actions(rows: pd.DataFrame, product_cols: list[str], location_col: str) -> pd.Series:
    """Transfer when another location holds the opposite alert on the same products; else DC or markdown."""
    keys = rows[product_cols].astype("string").fillna("\0").agg("|".join, axis=1) if product_cols \
        else pd.Series("", index=rows.index)
    action = pd.Series(None, index=rows.index, dtype="object")
    for alert, other, pair, alone in (("understock", "overstock", "transfer in", "replenish"),
                                      ("overstock", "understock", "transfer out", "promote")):
        mine = rows["alert"] == alert
        partners = rows.loc[rows["alert"] == other]
        locations = partners.groupby(keys[partners.index])[location_col].agg(set) if len(partners) else pd.Series()
        for i in rows.index[mine]:
            elsewhere = locations.get(keys[i], set()) - {rows.at[i, location_col]}
            action[i] = pair if elsewhere else alone
    return action


def _value_at_stake(rows: pd.DataFrame, rules: AlertRules) -> pd.Series:
    stock = rows["stock_units"].fillna(0).clip(lower=0)
    rate = _weekly_rate(rows, stock)
    price = (rows["net_sales"] / rows["units"].where(rows["units"] > 0)).fillna(
        rows["plan_net_sales"] / rows["plan_units"].where(rows["plan_units"] > 0))
    short = (rate * rules.understock_cover_weeks - stock).clip(lower=0)
    excess = (stock - rate * rules.overstock_cover_weeks).clip(lower=0)
    units = np.select([rows["alert"] == "understock", rows["alert"] == "overstock"], [short, excess], np.nan)
    return (pd.Series(units, index=rows.index) * price).round(2)


def _weekly_rate(rows: pd.DataFrame, stock: pd.Series) -> pd.Series:
    """Units sold a week at the rate weeks of cover uses (stock / cover), so value and rule agree.

    Where cover cannot give it: without stock (cover 0 or null) the period's own rate; with stock
    and no recent sales (cover null) none, so all of that stock is excess.
    """
    cover = rows["weeks_of_cover"]
    period = rows["units"].clip(lower=0) / rows["weeks"]
    from_cover = stock / cover.where(cover > 0)
    return from_cover.fillna(period.where((stock <= 0) | cover.notna(), 0.0))


def _reason(r: Any, rules: AlertRules) -> str | None:
    if r.alert is None:
        return None
    ahead = "ahead of" if r.deviation >= 0 else "behind"
    if pd.isna(r.weeks_of_cover):
        cover = "no stock" if r.stock_units <= 0 else f"{r.stock_units:.0f} in stock, no sales in the last weeks"
    else:
        cover = f"{r.weeks_of_cover:.1f} weeks of cover"
    limit = (f"≤ {rules.understock_cover_weeks:g}" if r.alert == "understock" else f"≥ {rules.overstock_cover_weeks:g}")
    return f"sales {abs(r.deviation):.0%} {ahead} plan, {cover} ({r.alert} at {limit} weeks)"
