"""Link each alert to the allocation plan moves that would fix it (调拨 / 补货), or say none is planned.

A manager looking at an understock wants to know first whether last night's plan already sends
units: then the alert needs an approval in the allocation review, not a new decision. So each
alert gets the moves still planned (the allocation review's decision in force is in
``merchandise.alerts.pending_statuses``: pending, approved or edited, not rejected) of the latest
plan (``marts.replenishment_plan`` and ``marts.transfer_plan``, :func:`workbench.allocation.output.read_plan`)
that go the fixing way for the same location and products:

- understock: units coming **in** (replenishment from the DC, transfers from other stores);
- overstock: units going **out** (transfers to other stores).

A move between two stores of the same group (two East stores at region grain) neither adds nor
removes stock there, so it counts in neither direction. Pure pandas: the plan of one day is small.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["link_moves", "LINK_COLUMNS", "NO_MOVE"]

LINK_COLUMNS = ("moves", "move_units", "moves_as_of", "moves_run_id", "linked_plan")
NO_MOVE = "no move planned"


def link_moves(alerts: pd.DataFrame, moves: pd.DataFrame, locations: pd.DataFrame, products: pd.DataFrame,
               location_col: str, product_cols: list[str], pending: tuple[str, ...]) -> pd.DataFrame:
    """``alerts`` with :data:`LINK_COLUMNS` added (alert rows only; others stay empty).

    ``moves``: rows of the plan tables (``from_store_id``, ``to_store_id``, ``sku_id``, ``units``,
    ``status``, ``as_of``, ``run_id``), both plan tables together.
    ``locations``: ``store_id`` → ``location_col`` (the store code, or its region).
    ``products``: ``sku_id`` → ``product_cols``.
    """
    out = alerts.copy()
    keys = [location_col, *product_cols]
    way = out["alert"].map({"understock": "in", "overstock": "out"})
    found = _summary(_directed(moves, pending, locations, products, location_col, product_cols), keys)
    hit = found.reindex(pd.MultiIndex.from_arrays([way.fillna(""), _key(out, keys)]))
    flagged = way.notna().to_numpy()
    for col in ("moves", "move_units"):
        found_values = pd.to_numeric(hit[col]).fillna(0)
        out[col] = pd.array([int(v) if f else pd.NA for v, f in zip(found_values, flagged)], dtype="Int64")
    for col in ("moves_as_of", "moves_run_id"):
        out[col] = [v if f and isinstance(v, str) else None for v, f in zip(hit[col], flagged)]
    out["linked_plan"] = [
        None if not f else NO_MOVE if not n else f"{n} move(s), {u} units {w} (plan of {a}, run {r or '?'})"
        for f, w, n, u, a, r in zip(flagged, way, out["moves"], out["move_units"], out["moves_as_of"],
                                    out["moves_run_id"])]
    return out


def _key(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The group's key as one string (a null kept apart from any value), so both sides match alike."""
    if rows.empty:
        return pd.Series([], index=rows.index, dtype="object")
    return rows[keys].astype("string").fillna("\\N").agg("|".join, axis=1)


def _summary(directed: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Moves, units, plan days and runs per direction and group."""
    cols = ["moves", "move_units", "moves_as_of", "moves_run_id"]
    if directed.empty:
        return pd.DataFrame(columns=cols, index=pd.MultiIndex.from_arrays([[], []]))
    d = directed.assign(_key=_key(directed, keys), as_of=pd.to_datetime(directed["as_of"]).dt.strftime("%Y-%m-%d"),
                        run_id=directed["run_id"].astype("string"))
    g = d.groupby(["direction", "_key"])
    return pd.DataFrame({"moves": g.size(), "move_units": g["units"].sum(),
                         "moves_as_of": g["as_of"].agg(lambda s: ", ".join(sorted(set(s.dropna())))),
                         "moves_run_id": g["run_id"].agg(lambda s: ", ".join(sorted(set(s.dropna()))))})[cols]


def _directed(moves: pd.DataFrame, pending: tuple[str, ...], locations: pd.DataFrame, products: pd.DataFrame,
              location_col: str, product_cols: list[str]) -> pd.DataFrame:
    """One row per pending move and direction (``in`` at its destination, ``out`` at its origin)."""
    cols = ["direction", location_col, *product_cols, "units", "as_of", "run_id"]
    live = moves[moves["status"].isin(list(pending))] if len(moves) else moves
    if live.empty:
        return pd.DataFrame(columns=cols)
    where = locations.set_index("store_id")[location_col]
    live = live.merge(products[["sku_id", *product_cols]], on="sku_id", how="left")
    origin, dest = live["from_store_id"].map(where), live["to_store_id"].map(where)
    same = origin.astype("string").fillna("\0") == dest.astype("string").fillna("\0")
    run_id = live["run_id"] if "run_id" in live else pd.Series(None, index=live.index)
    parts = [live.loc[~same].assign(direction="in", **{location_col: dest[~same]}, run_id=run_id[~same]),
             live.loc[~same].assign(direction="out", **{location_col: origin[~same]}, run_id=run_id[~same])]
    return pd.concat(parts, ignore_index=True)[cols]
