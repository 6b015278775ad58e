"""Initial allocation (铺货): spread a new season's buy from the DC across the stores.

Pure: tables in, moves out (``origin, dest, sku_id, units, reason`` like the
rules in ``strategies.py``, plus ``display_units`` and ``expected_units``).
The rules, in the order a merchandiser applies them:

1. **DC reserve.** Of each SKU's buy the DC keeps ``ceil(reserve_share ×
   units)`` for in-season replenishment (补货); only the rest is spread.
2. **Display run or nothing.** A store ranged for a style-colour (a row in
   ``demand``) gets its grade's minimum display of *every* core size, or
   nothing of the style: no broken size runs (断码) on day one. Runs are
   handed out grade A first, then B, C and ungraded stores (consignment
   counters, outlets, online); within a grade, the run that sells most in
   expectation first. A run opens only if every core size has enough units
   left and the store has the headroom. This is how a short buy is rationed.
3. **Depth by marginal expected margin.** The remaining units go one at a
   time to the highest ``margin × P(D >= j)`` among the stores that opened
   the style: the j-th unit at a store sells in the horizon with
   ``P(D >= j)`` (``expected_sales.tail``). A unit whose chance to sell is
   below ``min_sell_probability`` stays at the DC. Equal gains go to the
   better grade, then the lower store id.

Why greedy is right for step 3: a store's expected sales ``E[min(D, s)]``
are concave in its stock and separable by store. With a supply per SKU as the
only constraint, taking the best remaining unit each time is optimal (an
exchange argument: any plan that skips a better unit for a worse one gains by
swapping them). Store capacity is shared by all SKUs. Where the headroom
binds, greedy is a sound heuristic, not a proven optimum (the exact answer
is a min-cost flow). The display runs are a business rule applied first, so
the optimum is for the depth given the runs.

Size demand: a store's SKC demand NB(μ, k) is split by its size curve.
Thinning a negative binomial by a share p gives NB(pμ, k), with the same shape.
So a size's demand is NB(share × μ, k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from workbench.allocation.expected_sales import expected_sales, tail, unit_ranks

__all__ = ["InitialSettings", "initial_allocation"]

BUY_COLUMNS = ("sku_id", "skc_id", "units", "margin", "is_core_size")
DEMAND_COLUMNS = ("store_id", "skc_id", "mean", "nb_size")
CURVE_COLUMNS = ("store_id", "skc_id", "sku_id", "size_share")
STORE_COLUMNS = ("store_id", "grade", "headroom")
MOVE_COLUMNS = ["origin", "dest", "sku_id", "units", "reason", "display_units", "expected_units"]
GRADE_ORDER = {"A": 0, "B": 1, "C": 2}
UNGRADED = len(GRADE_ORDER)


@dataclass(frozen=True)
class InitialSettings:
    dc_id: int = 0
    reserve_share: float = 0.30  # share of each SKU's buy the DC keeps for replenishment
    min_display: Mapping[str, int] = field(default_factory=lambda: {"A": 2, "B": 1, "C": 1})  # per core size
    ungraded_display: int = 1  # consignment counters, outlets, online: no grade
    min_sell_probability: float = 0.05  # a unit less likely to sell in the horizon waits at the DC


def initial_allocation(buy: pd.DataFrame, demand: pd.DataFrame, size_curves: pd.DataFrame, stores: pd.DataFrame,
                       settings: InitialSettings = InitialSettings()) -> pd.DataFrame:
    """铺货: the DC → store moves that spread a new season's ``buy``, one row per store × SKU.

    - ``buy``: ``sku_id, skc_id, units, margin, is_core_size``, one row per SKU
      at the DC (``margin``: what a unit sold earns; a SKC with no core size
      flagged, e.g. a one-size accessory, treats all its sizes as core).
    - ``demand``: ``store_id, skc_id, mean, nb_size``, each store's SKC demand
      over the first weeks (e.g. ``expected_sales.horizon_demand`` summed to
      the SKC). Its rows are the ranging: a store without a row gets nothing.
    - ``size_curves``: ``store_id, skc_id, sku_id, size_share``
      (``forecasting.sizes.store_size_curves``), summing to 1 per store × SKC.
    - ``stores``: ``store_id, grade, headroom`` (capacity left, units; grade
      A/B/C or empty).

    Returns ``origin, dest, sku_id, units, reason, display_units,
    expected_units``. ``display_units`` is the part that is the display run.
    ``expected_units`` is E[min(D, units)]: what the store is expected to sell
    of it in the horizon.
    """
    _validate(buy, demand, size_curves, stores, settings)
    rows = _size_demand(buy, demand, size_curves, stores, settings)
    supply = _allocatable(buy, settings.reserve_share)
    headroom = dict(zip(stores["store_id"], stores["headroom"].astype(int)))
    runs = _open_runs(rows, supply, headroom)
    depth, last_p = _depth(rows, runs, supply, headroom, settings.min_sell_probability)
    return _moves(rows, runs, depth, last_p, settings.dc_id)


def _columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str, hint: str) -> None:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"{name} lacks the columns {sorted(missing)}: {hint}")


def _validate(buy, demand, size_curves, stores, settings: InitialSettings) -> None:
    _columns(buy, BUY_COLUMNS, "buy", "one row per SKU at the DC with its units, margin and core-size flag")
    _columns(demand, DEMAND_COLUMNS, "demand", "each store's SKC demand over the horizon (mean, NB shape)")
    _columns(size_curves, CURVE_COLUMNS, "size_curves", "pass forecasting.sizes.store_size_curves")
    _columns(stores, STORE_COLUMNS, "stores", "store grade and capacity headroom in units")
    if (buy["units"] < 0).any():
        bad = buy.loc[buy["units"] < 0, "sku_id"].tolist()[:3]
        raise ValueError(f"negative buy for SKUs {bad}: the buy is units received at the DC, 0 or more")
    if buy["sku_id"].duplicated().any():
        raise ValueError("the buy repeats SKUs: give one row per sku_id with its total units")
    if (demand["mean"] < 0).any() or (demand["nb_size"] <= 0).any():
        raise ValueError("demand needs mean >= 0 and nb_size > 0 (inf for Poisson)")
    if (stores["headroom"] < 0).any():
        raise ValueError("negative headroom: give the capacity left at each store, 0 or more")
    if not 0 <= settings.reserve_share < 1:
        raise ValueError(f"reserve_share {settings.reserve_share} must be in [0, 1): the share the DC keeps")
    if not 0 < settings.min_sell_probability < 1:
        raise ValueError("min_sell_probability must be in (0, 1): the chance a unit must have to sell to go out")
    if min([*settings.min_display.values(), settings.ungraded_display]) < 1:
        raise ValueError("a minimum display below 1 unit per core size is no display run: give 1 or more")
    _validate_curves(size_curves)
    unknown = set(demand["store_id"]) - set(stores["store_id"])
    if unknown:
        raise ValueError(f"demand names stores {sorted(unknown)[:3]} missing from stores: add their grade and headroom")
    if settings.dc_id in set(demand["store_id"]):
        raise ValueError(f"demand has rows for the DC ({settings.dc_id}): the DC sells nothing, drop them")


def _validate_curves(size_curves: pd.DataFrame) -> None:
    if (size_curves["size_share"] < 0).any():
        raise ValueError("negative size_share: a size curve gives each size a share of 0 or more")
    sums = size_curves.groupby(["store_id", "skc_id"])["size_share"].sum()
    off = sums[(sums - 1).abs() > 1e-6]
    if len(off):
        (store, skc), total = next(iter(off.items()))
        raise ValueError(f"the size curve of store {store}, SKC {skc} sums to {total:.4f}, not 1: "
                         "normalise size_share per store × SKC")


def _size_demand(buy, demand, size_curves, stores, settings: InitialSettings) -> pd.DataFrame:
    """One row per ranged store × bought SKU: the size's NB demand, margin, core flag, grade and display run."""
    skus = buy[list(BUY_COLUMNS)].copy()
    # A SKC with no core size flagged (one size) still needs its sizes on display.
    no_core = ~skus.groupby("skc_id")["is_core_size"].transform("any")
    skus["core"] = skus["is_core_size"].astype(bool) | no_core
    ranged = demand[demand["skc_id"].isin(skus["skc_id"])]
    rows = ranged.merge(skus, on="skc_id")
    curved = rows.merge(size_curves[list(CURVE_COLUMNS)], on=["store_id", "skc_id", "sku_id"], how="left")
    pairs_with_curve = set(map(tuple, size_curves[["store_id", "skc_id"]].drop_duplicates().to_numpy()))
    lacking = [p for p in map(tuple, ranged[["store_id", "skc_id"]].to_numpy()) if p not in pairs_with_curve]
    if lacking:
        raise ValueError(f"no size curve for store × SKC {lacking[:3]}: pass store_size_curves for the ranged pairs")
    curved["mean"] = curved["mean"] * curved["size_share"].fillna(0.0)  # NB thinning keeps the shape
    grade = curved["store_id"].map(stores.set_index("store_id")["grade"])
    curved["grade"] = grade.where(grade.isin(list(GRADE_ORDER)), None)
    curved["grade_rank"] = curved["grade"].map(GRADE_ORDER).fillna(UNGRADED).astype(int)
    curved["display"] = curved["grade"].map(dict(settings.min_display)).fillna(settings.ungraded_display).astype(int)
    return curved.drop(columns=["units", "size_share", "is_core_size"]).reset_index(drop=True)


def _allocatable(buy: pd.DataFrame, reserve_share: float) -> dict:
    # ceil: the DC keeps at least its share; the epsilon stops 0.3 × 10 = 3.0000000000000004 reserving 4
    reserve = np.ceil(buy["units"] * reserve_share - 1e-9).astype(int)
    return dict(zip(buy["sku_id"], (buy["units"] - reserve).astype(int)))


def _open_runs(rows: pd.DataFrame, supply: dict, headroom: dict) -> dict:
    """Display runs per (store, sku), whole runs only, by grade then expected margin of the run."""
    core = rows[rows["core"]].copy()
    core["value"] = core["margin"] * expected_sales(core["mean"], core["nb_size"], core["display"])
    pairs = (core.groupby(["store_id", "skc_id"], as_index=False)
             .agg(grade_rank=("grade_rank", "first"), display=("display", "first"), value=("value", "sum"),
                  skus=("sku_id", list)))
    pairs = pairs.sort_values(["grade_rank", "value", "store_id", "skc_id"], ascending=[True, False, True, True],
                              kind="stable")
    runs = {}
    for store, display, skus in zip(pairs["store_id"], pairs["display"], pairs["skus"]):
        need = display * len(skus)
        if headroom[store] < need or any(supply[s] < display for s in skus):
            continue  # a short run would be a broken size run (断码): the store gets none of the style
        headroom[store] -= need
        for s in skus:
            supply[s] -= display
            runs[(store, s)] = display
    return runs


def _steps(rows: pd.DataFrame, runs: dict, min_p: float) -> pd.DataFrame:
    """Every further unit that could go out: the j-th unit above the run, with P(D >= j) >= min_p."""
    run = pd.Series([runs.get(k, 0) for k in zip(rows["store_id"], rows["sku_id"])], index=rows.index)
    opened = run.gt(0).groupby([rows["store_id"], rows["skc_id"]]).transform("any")  # only stores showing the style
    rows = rows[opened].assign(run=run[opened])
    # P(D >= j) >= p needs F(j - 1) <= 1 - p, so j never passes the (1 - p) quantile + 1
    top = _quantile(rows["mean"].to_numpy(), rows["nb_size"].to_numpy(), 1 - min_p) + 1
    count = np.maximum(top - rows["run"].to_numpy(), 0).astype(int)
    idx = np.repeat(np.arange(len(rows)), count)
    j = rows["run"].to_numpy()[idx] + unit_ranks(count) + 1
    steps = rows.iloc[idx][["store_id", "sku_id", "margin", "grade_rank", "mean", "nb_size"]].reset_index(drop=True)
    steps["j"] = j
    steps["p"] = tail(steps["mean"].to_numpy(), steps["nb_size"].to_numpy(), j)
    return steps[steps["p"] >= min_p]


def _quantile(mean: np.ndarray, k: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of NB(mean, k), Poisson where k is infinite; 0 where the mean is 0."""
    mean = np.maximum(mean, 1e-12)
    poisson = ~np.isfinite(k)
    safe_k = np.where(poisson, 1.0, k)
    nb = stats.nbinom.ppf(q, safe_k, safe_k / (safe_k + mean))
    return np.where(poisson, stats.poisson.ppf(q, mean), nb).astype(int)


def _depth(rows: pd.DataFrame, runs: dict, supply: dict, headroom: dict, min_p: float) -> tuple[dict, dict]:
    """Greedy: the unit with the highest margin × P(D >= j) next, while its SKU and the store have room."""
    steps = _steps(rows, runs, min_p)
    steps["gain"] = (steps["margin"] * steps["p"]).round(12)  # rounded so equal gains tie and grade decides
    steps = steps.sort_values(["gain", "grade_rank", "store_id", "sku_id", "j"],
                              ascending=[False, True, True, True, True], kind="stable")
    depth, last_p = {}, {}
    for store, sku, p in zip(steps["store_id"], steps["sku_id"], steps["p"]):
        # gains fall with j at each store × SKU, so a refused unit means every later one there is refused too
        if supply[sku] <= 0 or headroom[store] <= 0:
            continue
        supply[sku] -= 1
        headroom[store] -= 1
        depth[(store, sku)] = depth.get((store, sku), 0) + 1
        last_p[(store, sku)] = p
    return depth, last_p


def _reason(grade, run: int, extra: int, p: float) -> str:
    who = f"grade {grade}" if grade else "ungraded store"
    parts = [f"display run of {run} per core size ({who} minimum)"] if run else []
    if extra:
        parts.append(f"{extra} by marginal expected sales (last unit sells with P={p:.2f})")
    return "铺货: " + " + ".join(parts)


def _moves(rows: pd.DataFrame, runs: dict, depth: dict, last_p: dict, dc_id: int) -> pd.DataFrame:
    given = rows[[k in runs or k in depth for k in zip(rows["store_id"], rows["sku_id"])]].copy()
    keys = list(zip(given["store_id"], given["sku_id"]))
    run = np.array([runs.get(k, 0) for k in keys], dtype=int)
    extra = np.array([depth.get(k, 0) for k in keys], dtype=int)
    moves = pd.DataFrame({
        "origin": dc_id, "dest": given["store_id"].to_numpy(), "sku_id": given["sku_id"].to_numpy(),
        "units": run + extra,
        "reason": [_reason(g, r, e, last_p.get(k, math.nan)) for g, r, e, k in zip(given["grade"], run, extra, keys)],
        "display_units": run,
        # a new season starts from zero stock, so the move's share of E[min(D, stock)] is E[min(D, units)]
        "expected_units": expected_sales(given["mean"], given["nb_size"], run + extra),
    })
    return moves.sort_values(["dest", "sku_id"], kind="stable").reset_index(drop=True)[MOVE_COLUMNS]
