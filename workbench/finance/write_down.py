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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import yaml

from workbench.config import CONF_DIR

__all__ = ["WriteDownRules", "load_rules", "rules_from", "write_down", "journal_total", "STOCK_COLUMNS"]

STOCK_COLUMNS = ("sku_id", "store_id", "units", "unit_cost", "age_months", "expected_price")
FIELDS = ("age_rates", "lower_of_cost_and_nrv", "cost_to_sell")


@dataclass(frozen=True)
class WriteDownRules:
    age_rates: tuple[tuple[float, float], ...]  # (from_months, rate), ascending, the first from 0
    lower_of_cost_and_nrv: bool = True
    cost_to_sell: float = 0.0


def load_rules(config_file: Path | None = None) -> WriteDownRules:
    """``finance.consignment_write_down`` of the settings file (``WB_CONFIG``)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("finance") or {}
    if "consignment_write_down" not in raw:
        raise ValueError(f"{path} has no finance.consignment_write_down rules: add them (see workbench/conf/workbench.yaml)")
    return rules_from(raw["consignment_write_down"] or {})


def rules_from(raw: Mapping[str, Any], where: str = "finance.consignment_write_down") -> WriteDownRules:
    """The rules from their configuration; a ValueError names the field to fix."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in {where}; the fields are {', '.join(FIELDS)}")
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
    return WriteDownRules(rates, bool(raw.get("lower_of_cost_and_nrv", True)), cost_to_sell)


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
