"""A synthetic planning day at chain scale, and a timing of the planner on it.

The real ``large`` warehouse has 480 shops, 17,678 SKUs and about 650,000
store × SKU positions. This builds a day of the same shape from a seed, so the
planner can be timed without the warehouse:

- regions of about 60 stores, each with a handful of cities;
- each store ranges a few thousand SKUs, popular SKUs in more stores;
- horizon demand is sparse: gamma-distributed means, many close to zero;
- stock is Poisson around a cover that differs by position, so some stores
  are short and some hold slow stock;
- the DC holds most SKUs, some of them short of the network's need;
- candidate moves are those a planner would look at: DC → store where the
  store's next unit earns more than its freight, and store → store inside a
  region from stores with spare units to the few stores that need them most.

Route costs follow ``workbench.yaml``: DC → store 60 per shipment and 3.0 a
unit; same city 30 / 1.5; same region 80 / 4.0.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

from workbench.allocation.expected_sales import tail
from workbench.allocation.optimizer import PlanSettings

__all__ = ["synthetic_instance", "measure"]

DC = 0
STORES_PER_REGION = 60
CITIES_PER_REGION = 8
COSTS = {"dc": (60.0, 3.0), "same_city": (30.0, 1.5), "same_region": (80.0, 4.0)}  # fixed, per unit
RECEIVERS_PER_DONOR = 3


def synthetic_instance(n_stores: int = 300, n_skus: int = 30_000, per_store: int = 5_000, seed: int = 0):
    """(positions, arcs, routes, stores) for one planning day, in the optimizer's columns."""
    rng = np.random.default_rng(seed)
    shops = _stores(n_stores, rng)
    shelf = _positions(shops, n_skus, per_store, rng)
    dc = _dc(shelf, n_skus, rng)
    positions = pd.concat([dc, shelf.drop(columns=["region", "city"])], ignore_index=True)
    arcs = pd.concat([_dc_arcs(shelf, dc), _store_arcs(shelf)], ignore_index=True)
    routes = _routes(arcs, shops)
    stock_in = shelf.groupby("location_id")["stock"].sum().reindex(shops["store_id"], fill_value=0).to_numpy()
    # capacity left: most stores have room for a good delivery, some are nearly full
    share = rng.choice([0.02, 0.1, 0.4], size=n_stores, p=[0.15, 0.35, 0.5])
    table = pd.DataFrame({"store_id": shops["store_id"], "headroom": np.ceil(stock_in * share).astype(int),
                          "max_shipments": 2})
    return positions, arcs, routes, table


def _stores(n_stores: int, rng) -> pd.DataFrame:
    ids = np.arange(1, n_stores + 1)
    region = (ids - 1) // STORES_PER_REGION
    city = region * CITIES_PER_REGION + rng.integers(0, CITIES_PER_REGION, n_stores)
    size = rng.lognormal(0.0, 0.4, n_stores)  # flagship stores range and sell more
    return pd.DataFrame({"store_id": ids, "region": region, "city": city, "size": size})


def _positions(shops: pd.DataFrame, n_skus: int, per_store: int, rng) -> pd.DataFrame:
    popularity = rng.gamma(0.7, 1.0, n_skus)
    margin = np.round(rng.uniform(40, 250, n_skus), 2)
    frames = []
    for shop in shops.itertuples():
        n = int(np.clip(per_store * shop.size, per_store // 3, min(n_skus, 3 * per_store)))
        keys = np.log(popularity) + rng.gumbel(size=n_skus)  # popular SKUs are ranged in more stores
        skus = np.sort(np.argpartition(-keys, n - 1)[:n])
        mean = popularity[skus] * shop.size * rng.gamma(0.5, 1.2, n)  # two weeks' demand, mostly small
        cover = rng.gamma(2.0, 0.6, n)  # weeks of stock held differ: short here, slow stock there
        frames.append(pd.DataFrame({
            "sku_id": skus, "location_id": shop.store_id, "stock": rng.poisson(mean * cover + 0.3),
            "mean": np.round(mean, 4), "nb_size": rng.choice([1.0, 2.0, 5.0], n), "margin": margin[skus],
            "keep": 1, "region": shop.region, "city": shop.city}))
    return pd.concat(frames, ignore_index=True)


def _dc(shelf: pd.DataFrame, n_skus: int, rng) -> pd.DataFrame:
    """The DC holds 85 % of SKUs, from well short of the network's two weeks to plenty."""
    need = np.bincount(shelf["sku_id"], weights=shelf["mean"], minlength=n_skus)
    held = rng.random(n_skus) < 0.85
    stock = np.where(held, rng.poisson(need * rng.uniform(0.1, 1.5, n_skus)), 0)
    skus = np.flatnonzero(stock > 0)
    return pd.DataFrame({"sku_id": skus, "location_id": DC, "stock": stock[skus], "mean": 0.0,
                         "nb_size": np.inf, "margin": 0.0, "keep": 0})


def _next_gain(frame: pd.DataFrame) -> np.ndarray:
    return frame["margin"].to_numpy() * tail(frame["mean"], frame["nb_size"], frame["stock"] + 1)


def _dc_arcs(shelf: pd.DataFrame, dc: pd.DataFrame) -> pd.DataFrame:
    """DC → store where the DC holds the SKU and the store's next unit earns more than the unit freight."""
    held = shelf["sku_id"].isin(dc["sku_id"]).to_numpy()
    takes = held & (_next_gain(shelf) > COSTS["dc"][1])
    rows = shelf[takes]
    return pd.DataFrame({"origin": DC, "dest": rows["location_id"].to_numpy(), "sku_id": rows["sku_id"].to_numpy(),
                         "unit_cost": COSTS["dc"][1]})


def _store_arcs(shelf: pd.DataFrame) -> pd.DataFrame:
    """Store → store inside a region: stores with spare units to the few that need the SKU most."""
    top_loss = shelf["margin"].to_numpy() * tail(shelf["mean"], shelf["nb_size"], shelf["stock"])
    gain = _next_gain(shelf)
    spare = (shelf["stock"] > shelf["keep"] + 1).to_numpy() & (top_loss < 0.3 * shelf["margin"].to_numpy())
    need = gain > 0.4 * shelf["margin"].to_numpy()
    donors = shelf.loc[spare, ["sku_id", "location_id", "region", "city"]].assign(loss=top_loss[spare])
    takers = shelf.loc[need, ["sku_id", "location_id", "region", "city"]].assign(gain=gain[need])
    pairs = donors.merge(takers, on=["sku_id", "region"], suffixes=("_o", "_d"))
    pairs = pairs.sort_values(["sku_id", "location_id_o", "gain"], ascending=[True, True, False], kind="stable")
    pairs = pairs.groupby(["sku_id", "location_id_o"], sort=False).head(RECEIVERS_PER_DONOR)
    same_city = (pairs["city_o"] == pairs["city_d"]).to_numpy()
    unit = np.where(same_city, COSTS["same_city"][1], COSTS["same_region"][1])
    return pd.DataFrame({"origin": pairs["location_id_o"].to_numpy(), "dest": pairs["location_id_d"].to_numpy(),
                         "sku_id": pairs["sku_id"].to_numpy(), "unit_cost": unit})


def _routes(arcs: pd.DataFrame, shops: pd.DataFrame) -> pd.DataFrame:
    pairs = arcs[["origin", "dest"]].drop_duplicates().reset_index(drop=True)
    city = shops.set_index("store_id")["city"]
    same_city = pairs["origin"].map(city).to_numpy() == pairs["dest"].map(city).to_numpy()
    fixed = np.where(pairs["origin"] == DC, COSTS["dc"][0],
                     np.where(same_city, COSTS["same_city"][0], COSTS["same_region"][0]))
    return pairs.assign(fixed_cost=fixed)


def measure(n_stores: int, n_skus: int, per_store: int, seed: int = 0,
            settings: PlanSettings = PlanSettings(mip_gap=0.01)) -> dict:
    """Build a synthetic day, plan it with :func:`decompose.solve_plan`, and say how big, fast and good it was."""
    from workbench.allocation.decompose import solve_plan

    positions, arcs, routes, stores = synthetic_instance(n_stores, n_skus, per_store, seed)
    started = time.perf_counter()
    plan = solve_plan(positions, arcs, routes, stores, settings)
    wall = time.perf_counter() - started
    return {"stores": n_stores, "skus": n_skus, "seed": seed, "positions": len(positions), "arcs": len(arcs),
            "routes": len(routes), "solve_s": round(wall, 2), "gap": plan.gap, "objective": round(plan.objective, 1),
            "status": plan.status, "moves": len(plan.moves), "units": int(plan.moves["units"].sum()) if len(plan.moves) else 0,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
