"""The facts metrics are built from, with their measures and the grain they carry.

A fact is an aggregation function (source, query → one row per grain value
with its measures) plus what it knows about: a fact without a product key
(traffic) cannot be cut by product; one kept per style-colour (the size-break
check) cannot be cut by size. A metric may use any dimension that all of
its facts support; :mod:`workbench.metrics.rollup` enforces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir

from workbench.metrics import flows, stock
from workbench.metrics.dimensions import Dimension
from workbench.metrics.query import Query


@dataclass(frozen=True, eq=False)  # compared by identity: each fact is registered once
class Fact:
    name: str
    grain: str  # in words, for error messages
    product_level: str | None  # "sku", "skc" or None (no product key)
    measures: dict[str, str]  # measure name -> dtype
    aggregate: Callable[[Any, Query], ir.Table]
    on_snapshots: bool = False  # measured at inventory snapshots: unknown (null) in a period without one
    requires: dict[str, tuple[str, str]] = field(default_factory=dict)  # measure -> (table, column) a policy may hide

    def supports(self, dim: Dimension) -> bool:
        """Whether this fact can be cut by ``dim``."""
        if dim.kind != "product":
            return True
        if self.product_level is None:
            return False
        return self.product_level == "sku" or dim.level == "skc"


_SKU = "per location, SKU and day"
_COST = ("products", "unit_cost")
FACTS: dict[str, Fact] = {
    f.name: f
    for f in [
        Fact("sales", f"core.sales ticket lines, {_SKU}", "sku", {
            "net_sales": "float64", "units": "int64", "tickets": "int64", "tag_value": "float64",
            "discount": "float64", "cost": "float64", "gross_sales": "float64", "return_value": "float64",
        }, flows.sales, requires={"cost": ("sales", "cost_amount")}),
        Fact("traffic", "core.traffic, counted per location and day with no product", None,
             {"traffic": "int64"}, flows.traffic),
        Fact("receipts", f"core.transfers, {_SKU}", "sku", {"net_receipts": "int64"}, flows.receipts),
        Fact("stock", f"core.inventory weekly snapshots, {_SKU}", "sku",
             {"stock_units": "int64", "stock_cost": "float64", "average_stock_cost": "float64"}, stock.stock,
             on_snapshots=True, requires={"stock_cost": _COST, "average_stock_cost": _COST}),
        Fact("sales_to_date", f"core.sales up to each stock snapshot, {_SKU}", "sku",
             {"units_to_date": "int64", "units_trailing": "int64"}, stock.sales_to_date, on_snapshots=True),
        Fact("core_sizes", f"core-size availability checks, {_SKU} snapshot", "sku",
             {"core_size_checks": "int64", "core_size_stockouts": "int64"}, stock.core_sizes, on_snapshots=True),
        Fact("display", "size-run checks per location, style-colour (not size) and snapshot", "skc",
             {"skcs_on_display": "int64", "skcs_size_broken": "int64"}, stock.display, on_snapshots=True),
    ]
}

MEASURE_FACT: dict[str, Fact] = {m: f for f in FACTS.values() for m in f.measures}
