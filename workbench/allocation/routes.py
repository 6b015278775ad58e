"""Route costs and lead times (物流成本): who may ship to whom, and at what price.

The business prices freight by relation, not by kilometre: a van inside a
city is cheap and arrives the next day, and a parcel across regions costs
more and takes longer. ``allocation.routes`` in ``workbench/conf/workbench.yaml``
gives, per relation, a fixed cost per shipment, a cost per unit and a lead
time in days:

- ``dc``: the DC to a store;
- ``same_city``: store to store in one city;
- ``same_region``: store to store in one region, different cities;
- ``cross_region``: allowed only when ``cross_region: true``.

Stores that take part are own stores, consignment counters and outlets.
Online stock and the DC never receive transfers from stores here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.config import CONF_DIR

__all__ = ["Route", "RouteBook", "load_route_book", "route_table"]

RELATIONS = ("dc", "same_city", "same_region", "cross_region")
SHOP_TYPES = ("own", "consignment", "outlet")


@dataclass(frozen=True)
class Route:
    fixed_cost: float  # per shipment (one origin -> destination on one day)
    unit_cost: float  # per unit carried
    lead_days: int  # days from shipping to the shelf


@dataclass(frozen=True)
class RouteBook:
    routes: dict[str, Route]
    cross_region: bool = False

    def __post_init__(self) -> None:
        missing = [r for r in RELATIONS[:3] if r not in self.routes]
        if missing:
            raise ValueError(f"allocation.routes lacks {missing}: give fixed_cost, unit_cost and lead_days for each")
        if self.cross_region and "cross_region" not in self.routes:
            raise ValueError("allocation.cross_region is on but allocation.routes has no cross_region costs")
        for name, route in self.routes.items():
            if route.fixed_cost < 0 or route.unit_cost < 0 or route.lead_days < 0:
                raise ValueError(f"allocation.routes.{name}: costs and lead days cannot be negative")


def load_route_book(config_file: Path | None = None) -> RouteBook:
    """``allocation.routes`` and ``allocation.cross_region`` from the settings file (``WB_CONFIG``)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("allocation") or {}
    routes = {}
    for name, values in (raw.get("routes") or {}).items():
        if name not in RELATIONS:
            raise ValueError(f"allocation.routes.{name} is not a relation; use {', '.join(RELATIONS)}")
        routes[name] = Route(float(values["fixed_cost"]), float(values["unit_cost"]), int(values["lead_days"]))
    return RouteBook(routes, bool(raw.get("cross_region", False)))


def route_table(stores: pd.DataFrame, book: RouteBook) -> pd.DataFrame:
    """Every allowed ``origin -> dest`` with its relation, costs and lead time.

    ``stores`` is ``core.stores`` (``store_id, store_type, region, city``); the DC is ``store_type = 'dc'``.
    """
    shops = stores[stores["store_type"].isin(SHOP_TYPES)]
    dcs = stores[stores["store_type"] == "dc"]
    from_dc = dcs[["store_id"]].merge(shops[["store_id"]], how="cross", suffixes=("_o", "_d"))
    from_dc["relation"] = "dc"
    pairs = shops[["store_id", "region", "city"]].merge(shops[["store_id", "region", "city"]], how="cross",
                                                        suffixes=("_o", "_d"))
    pairs = pairs[pairs["store_id_o"] != pairs["store_id_d"]]
    same_city = (pairs["city_o"] == pairs["city_d"]) & (pairs["region_o"] == pairs["region_d"])
    same_region = pairs["region_o"] == pairs["region_d"]
    pairs["relation"] = np.select([same_city, same_region], ["same_city", "same_region"], "cross_region")
    if not book.cross_region:
        pairs = pairs[pairs["relation"] != "cross_region"]
    table = pd.concat([from_dc, pairs[["store_id_o", "store_id_d", "relation"]]], ignore_index=True)
    table = table.rename(columns={"store_id_o": "origin", "store_id_d": "dest"})
    for field in ("fixed_cost", "unit_cost", "lead_days"):
        table[field] = table["relation"].map({name: getattr(r, field) for name, r in book.routes.items()})
    return table.sort_values(["origin", "dest"], kind="stable").reset_index(drop=True)
