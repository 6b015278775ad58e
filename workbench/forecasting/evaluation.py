"""Forecast evaluation by hierarchy level: WRMSSE (M5), WAPE, bias, interval coverage, scaled pinball loss.

WRMSSE (M5 Competitor's Guide; Makridakis, Spiliotis & Assimakopoulos 2022, IJF 38(4)): each aggregated
series' forecast RMSE is divided by the RMSE of the naive one-step forecast over its own history from its
first sale, and these RMSSEs are averaged with the series' share of revenue over the last 28 days as weight.

How it runs: every frame is laid on a dense (series × day) numpy grid with one ``np.bincount`` (integer codes,
no merge), a level's series are sums of bottom rows (one sparse 0/1 product), and every metric is a row-wise
reduction of those grids. Nothing loops over series in Python; 80 k series × 365 days score in seconds.

- :func:`score` — one row per level × metric, the benchmark's and the review gate's table.
- :func:`score_segments` — bottom-level WRMSSE and WAPE within each brand / region / category ...
- :func:`series_scores` — the per-series table behind both, for drilling into a level.
- :func:`aggregate`, :func:`series_scale`, :func:`pit_coverage` — the reusable pieces.

Conventions for all of them:

- A ``forecast`` row missing for an ``actuals`` (series, day) counts as a forecast of 0: ``mean``, ``p10``,
  ``p50``, ``p90`` are 0 and the predictive distribution is a point mass at 0. A method cannot improve its
  score by leaving rows out. Forecast rows for series or days not in ``actuals`` are ignored.
- ``actuals`` define what is scored: its series (``sku_id``, ``store_id``) and its days; it must be dense.
  History of other series is ignored; a day absent from a series' history counts as 0 units.
- Series whose scale is 0 or undefined (never sold, fewer than 2 points from the first sale, or constant since
  it) get no RMSSE / SPL; they are dropped from the weighted means, which renormalise over the others, and
  counted in ``n_dropped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse, stats

BOTTOM = ("sku_id", "store_id")
LEVELS: dict[str, tuple[str, ...]] = {
    "total": (),
    "brand": ("brand",),
    "store": ("store_id",),
    "category": ("category",),
    "skc": ("skc_id",),
    "skc_store": ("skc_id", "store_id"),
    "sku_store": ("sku_id", "store_id"),
}
METRICS = ("wrmsse", "wape", "bias", "coverage_p10_p90", "coverage_pit", "spl")
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
WEIGHT_DAYS = 28  # M5: weights are each series' revenue over the last 28 days of history
PIT_INTERVAL = (0.1, 0.9)  # the central 80 % interval, as p10..p90


# ---------------------------------------------------------------- validation and grids


def _require(frame: pd.DataFrame, name: str, columns) -> None:
    """Fail early and by name: a KeyError deep in a groupby does not say which frame was wrong."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


def _no_nan(frame: pd.DataFrame, name: str, columns) -> None:
    """A NaN would spread through a whole level's sums, so refuse it instead of scoring nonsense."""
    bad = [c for c in columns if c in frame.columns and frame[c].isna().any()]
    if bad:
        raise ValueError(f"{name} has missing values in {bad}")


def _days(dates) -> np.ndarray:
    """Whole days since the epoch, as int64: integer day keys make the (series, day) cell index cheap."""
    return pd.to_datetime(dates).to_numpy().astype("datetime64[D]").view("int64")


def _dates(days: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]"))


def _locate(frame: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Row of ``keys`` (unique rows) matching each row of ``frame`` on the key columns, −1 where none.

    Per-column hash look-ups combined into one integer code, instead of a merge: several times faster on
    30 M rows and it keeps the frame's order.
    """
    if keys.shape[1] == 0:
        return np.zeros(len(frame), dtype=np.int64)
    key_code = np.zeros(len(keys), dtype=np.int64)
    row_code = np.zeros(len(frame), dtype=np.int64)
    absent = np.zeros(len(frame), dtype=bool)
    for col in keys.columns:
        uniques = pd.Index(pd.unique(keys[col]))
        key_code = key_code * len(uniques) + uniques.get_indexer(keys[col])
        found = uniques.get_indexer(frame[col])
        absent |= found < 0
        row_code = row_code * len(uniques) + found
    position = pd.Index(key_code).get_indexer(row_code)
    position[absent] = -1
    return position


def _cells(frame: pd.DataFrame, keys: pd.DataFrame, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat cell index (series × len(dates) + day) of the rows of ``frame`` that lie on the grid, and which
    rows those are (None: all of them, the usual case, which saves masking 30 M-row arrays)."""
    row = _locate(frame, keys)
    grid_days = _days(dates)
    day = _days(frame["date"]) - grid_days[0]
    if grid_days[-1] - grid_days[0] + 1 != len(grid_days):  # not a run of consecutive days: look each up
        position = np.searchsorted(grid_days - grid_days[0], day)
        hit = grid_days[np.minimum(position, len(grid_days) - 1)] - grid_days[0] == day
        day = np.where(hit, position, -1)
    on = (row >= 0) & (day >= 0) & (day < len(grid_days))
    flat = row * len(grid_days) + day
    return (flat, None) if on.all() else (flat[on], on)


def _grid(frame: pd.DataFrame, name: str, keys: pd.DataFrame, dates: pd.DatetimeIndex, columns,
          *, dense: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Lay ``columns`` of a long frame on the keys × dates grid: {column: 2-D array}, and the cells present.

    Absent cells are 0. Duplicate (keys, date) rows raise; so do absent cells when ``dense``.
    """
    flat, on = _cells(frame, keys, dates)
    size = len(keys) * len(dates)
    count = np.bincount(flat, minlength=size).reshape(len(keys), len(dates))
    if count.max(initial=0) > 1:
        raise ValueError(f"{name} has duplicate rows for the same ({', '.join(keys.columns)}, date)")
    if dense and count.min(initial=1) == 0:
        raise ValueError(f"{name} must be dense (every series × every day); {int((count == 0).sum())} rows missing")
    values = {}
    for col in columns:
        weights = frame[col].to_numpy(dtype=float)
        values[col] = np.bincount(flat, weights if on is None else weights[on], minlength=size).reshape(count.shape)
    return values, count > 0


def _attributes(keys: pd.DataFrame, hierarchy: pd.DataFrame, stores: pd.DataFrame | None) -> pd.DataFrame:
    """The bottom series with their hierarchy (and store) columns, the source of every level's keys."""
    _require(hierarchy, "hierarchy", ("sku_id",))
    tables = [("hierarchy", hierarchy, "sku_id")] + ([("stores", stores, "store_id")] if stores is not None else [])
    attrs = keys
    for name, table, key in tables:
        _require(table, name, (key,))
        if table[key].duplicated().any():
            raise ValueError(f"{name} has duplicate {key}")
        attrs = attrs.merge(table, on=key, how="left", indicator="_found", suffixes=("", f"_{name}"))
        lost = attrs.loc[attrs["_found"] == "left_only", key]
        if len(lost):
            raise ValueError(f"{lost.nunique()} {key} of actuals are not in {name}, e.g. {lost.iloc[0]}")
        attrs = attrs.drop(columns="_found")
    return attrs


def _level_codes(attrs: pd.DataFrame, keys: tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    """Level series of each bottom series (row of ``attrs``), and the level's key table sorted by key."""
    missing = [k for k in keys if k not in attrs.columns]
    if missing:
        raise ValueError(f"level keys {missing} are neither sku_id / store_id nor columns of hierarchy or stores")
    if not keys:
        return np.zeros(len(attrs), dtype=np.int64), pd.DataFrame(index=range(1))
    codes = attrs.groupby(list(keys), sort=True, dropna=False, observed=True).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return codes, attrs[list(keys)].iloc[first].reset_index(drop=True)


def _sum_rows(matrix: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``matrix`` into groups with one sparse 0/1 product (a permutation when groups are rows)."""
    if n_groups == len(codes) and np.array_equal(codes, np.arange(n_groups)):
        return matrix
    indicator = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                  shape=(n_groups, len(codes)))
    return np.asarray(indicator @ matrix)


# ---------------------------------------------------------------- public building blocks


def aggregate(frame: pd.DataFrame, hierarchy: pd.DataFrame, keys: tuple[str, ...], *,
              values=("y",), stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum bottom rows (``sku_id, store_id, date`` + ``values``) into the series of a level, per day.

    ``keys`` is a level's key tuple (``LEVELS["brand"]``). The result is dense over the level's series × the
    frame's days, a day with no bottom row being 0, sorted by keys and date: the level's series as
    :func:`score` sees them.
    """
    _require(frame, "frame", (*BOTTOM, "date", *values))
    _no_nan(frame, "frame", values)
    if frame.empty:
        raise ValueError("frame is empty")
    bottom = frame[list(BOTTOM)].drop_duplicates().sort_values(list(BOTTOM)).reset_index(drop=True)
    dates = _dates(np.unique(_days(frame["date"])))
    grids, _ = _grid(frame, "frame", bottom, dates, values)
    codes, level = _level_codes(_attributes(bottom, hierarchy, stores), tuple(keys))
    out = level.loc[np.repeat(level.index, len(dates))].reset_index(drop=True)
    out["date"] = np.tile(dates.to_numpy(), len(level))
    for col in values:
        out[col] = _sum_rows(grids[col], codes, len(level)).ravel()
    return out


def series_scale(y: np.ndarray) -> pd.DataFrame:
    """M5 scales of each row of a dense (series × day) history, counted from the series' first non-zero value.

    Leading zeros are days before the item was on sale (or before the series existed); counting them would
    shrink the scale of young items and inflate their RMSSE. Returns ``n_history`` (points from the first
    sale), ``scale`` (mean squared one-step difference: the RMSSE denominator) and ``scale_abs`` (mean absolute
    one-step difference: the SPL denominator), both NaN when fewer than 2 points.
    """
    y = np.asarray(y, dtype=float)
    n_days = y.shape[1]
    sold = y != 0
    first = np.where(sold.any(axis=1), sold.argmax(axis=1), n_days)
    step = np.diff(y, axis=1)  # step j is y[j+1] - y[j]; it counts when j >= first
    step[np.arange(n_days - 1) < first[:, None]] = 0.0
    n = n_days - first
    denominator = np.where(n >= 2, n - 1, np.nan)
    return pd.DataFrame({
        "n_history": n,
        "scale": np.einsum("ij,ij->i", step, step) / denominator,
        "scale_abs": np.abs(step).sum(axis=1) / denominator,
    })


def pit_coverage(y, mean, size, interval: tuple[float, float] = PIT_INTERVAL) -> np.ndarray:
    """Expected coverage of the central interval by the randomised PIT of counts under NB(size, mean).

    With mostly-zero daily counts a p10..p90 interval is often [0, 0] and plain inclusion says little. For a
    count y with predictive CDF F the randomised PIT is uniform on [F(y−1), F(y)] (Czado, Gneiting & Held 2009,
    Biometrics 65); its chance to land in ``interval`` is the overlap over the width, computed exactly (no
    draw). Calibrated forecasts average the interval's width (0.8). ``size`` is scipy's ``n`` with
    ``p = size / (size + mean)``; NaN where ``size`` is not a positive finite number (no distribution).
    """
    y, mean, size = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (y, mean, size)))
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(size) & (size > 0) & (mean >= 0)
    if np.any(ok & (y != np.round(y))):
        raise ValueError("coverage_pit needs counts: actuals.y has non-integer values")
    n, p, k = size[ok], size[ok] / (size[ok] + mean[ok]), y[ok]
    upper, lower = stats.nbinom.cdf(k, n, p), stats.nbinom.cdf(k - 1, n, p)
    overlap = np.clip(np.minimum(upper, interval[1]) - np.maximum(lower, interval[0]), 0.0, None)
    width = upper - lower
    out[ok] = np.divide(overlap, width, out=np.zeros_like(width), where=width > 0)  # impossible y: not covered
    return out


def _pinball(y: np.ndarray, q: np.ndarray, tau: float) -> np.ndarray:
    error = y - q
    return np.maximum(tau * error, (tau - 1.0) * error)


# ---------------------------------------------------------------- bottom grids and per-series tables


class _Bottom(NamedTuple):
    """Everything scored, on bottom (sku_id, store_id) grids built once and shared by all levels."""
    attrs: pd.DataFrame  # one row per bottom series: sku_id, store_id, hierarchy / store columns
    history: np.ndarray  # units, series × history day
    revenue: np.ndarray  # revenue over the last WEIGHT_DAYS days of history, per series
    actual: np.ndarray  # series × horizon day
    forecast: dict[str, np.ndarray]  # mean and the quantiles present, series × horizon day
    nb_size: np.ndarray | None  # NB size per cell, NaN where no distribution; None if no column
    dates: pd.DatetimeIndex  # the horizon


def _prepare(history, actuals, forecast, hierarchy, stores=None) -> _Bottom:
    """Validate the inputs and lay them on the bottom grids (the only pass over the 30 M history rows)."""
    _require(history, "history", (*BOTTOM, "date", "y", "revenue"))
    _require(actuals, "actuals", (*BOTTOM, "date", "y"))
    _require(forecast, "forecast", (*BOTTOM, "date", "mean"))
    _no_nan(history, "history", ("y", "revenue"))
    _no_nan(actuals, "actuals", ("y",))
    _no_nan(forecast, "forecast", ("mean", *QUANTILES))
    if history.empty or actuals.empty:
        raise ValueError("history and actuals must not be empty")
    keys = actuals[list(BOTTOM)].drop_duplicates().sort_values(list(BOTTOM)).reset_index(drop=True)
    attrs = _attributes(keys, hierarchy, stores)
    dates = _dates(np.unique(_days(actuals["date"])))
    actual, _ = _grid(actuals, "actuals", keys, dates, ("y",), dense=True)

    history_days = _days(history["date"])
    history_dates = _dates(np.arange(history_days.min(), history_days.max() + 1))
    past, _ = _grid(history, "history", keys, history_dates, ("y", "revenue"))
    revenue = past["revenue"][:, -WEIGHT_DAYS:].sum(axis=1)

    columns = ["mean", *(q for q in QUANTILES if q in forecast.columns)]
    has_nb = "nb_size" in forecast.columns
    grids, present = _grid(forecast, "forecast", keys, dates, columns + ["nb_size"] * has_nb)
    nb_size = None
    if has_nb:  # a missing row is forecast 0; any positive size with mean 0 is a point mass at 0
        nb_size = np.where(present, grids.pop("nb_size"), 1.0)
    return _Bottom(attrs, past["y"], revenue, actual["y"], grids, nb_size, dates)


def _level_table(bottom: _Bottom, keys: tuple[str, ...],
                 quantiles: pd.DataFrame | None = None, name: str = "") -> tuple[pd.DataFrame, np.ndarray]:
    """Per-series sums and errors of one level (see :func:`series_scores`), and each bottom series' level row."""
    codes, table = _level_codes(bottom.attrs, tuple(keys))
    n = len(table)
    y = _sum_rows(bottom.actual, codes, n)
    mean = _sum_rows(bottom.forecast["mean"], codes, n)
    table = table.join(series_scale(_sum_rows(bottom.history, codes, n)))
    revenue = np.bincount(codes, weights=bottom.revenue, minlength=n)
    valid = (table["scale"] > 0).to_numpy()
    table["weight"] = revenue / revenue.sum() if revenue.sum() > 0 else np.nan
    table["rmsse"] = np.sqrt(np.mean((y - mean) ** 2, axis=1) / table["scale"].where(valid))
    table["n_days"] = y.shape[1]
    table["actual"] = y.sum(axis=1)
    table["forecast"] = mean.sum(axis=1)
    table["abs_error"] = np.abs(y - mean).sum(axis=1)
    is_bottom = set(keys) == set(BOTTOM)
    if quantiles is not None:
        _require(quantiles, f"quantiles_by_level[{name!r}]", (*keys, "date", *QUANTILES))
        _no_nan(quantiles, f"quantiles_by_level[{name!r}]", QUANTILES)
        q, _ = _grid(quantiles, f"quantiles_by_level[{name!r}]", table[list(keys)], bottom.dates, QUANTILES)
    elif is_bottom:
        q = {c: _sum_rows(bottom.forecast[c], codes, n) for c in QUANTILES if c in bottom.forecast}
    else:
        q = {}
    if "p10" in q and "p90" in q:
        table["covered"] = ((q["p10"] <= y) & (y <= q["p90"])).sum(axis=1)
    if len(q) == len(QUANTILES):
        loss = sum(_pinball(y, q[c], tau).mean(axis=1) for c, tau in QUANTILES.items()) / len(QUANTILES)
        table["pinball"] = loss
        table["spl"] = loss / table["scale_abs"].where(valid)
    if is_bottom and bottom.nb_size is not None:
        pit = pit_coverage(y, mean, _sum_rows(bottom.nb_size, codes, n))
        table["pit_covered"] = np.nansum(pit, axis=1)
        table["pit_n"] = np.isfinite(pit).sum(axis=1)
    return table, codes


def _metrics(table: pd.DataFrame, by=None) -> pd.DataFrame:
    """Level metrics from a per-series table, per group of ``by`` (one group when None): wide, one row a group.

    Sums first, ratios after, so a group's WAPE is Σ|e| / Σy and its WRMSSE renormalises weights inside it.
    """
    valid = table["scale"] > 0
    w = table["weight"].where(valid, 0.0).fillna(0.0)
    parts = pd.DataFrame({
        "w": w, "w_rmsse": w * table["rmsse"].fillna(0.0), "weight": table["weight"],
        "actual": table["actual"], "forecast": table["forecast"], "abs_error": table["abs_error"],
        "cells": table["n_days"], "n_series": 1, "n_dropped": (~valid).astype(int),
    })
    for col in ("covered", "pit_covered", "pit_n"):
        if col in table:
            parts[col] = table[col]
    if "spl" in table:
        parts["w_spl"] = w * table["spl"].fillna(0.0)
    sums = parts.groupby(by, dropna=False).sum() if by is not None else parts.sum().to_frame().T
    out = pd.DataFrame({
        "wrmsse": sums["w_rmsse"] / sums["w"],
        "wape": sums["abs_error"] / sums["actual"],
        "bias": (sums["forecast"] - sums["actual"]) / sums["actual"],
    })
    if "covered" in sums:
        out["coverage_p10_p90"] = sums["covered"] / sums["cells"]
    if "pit_n" in sums:
        out["coverage_pit"] = sums["pit_covered"] / sums["pit_n"]
    if "w_spl" in sums:
        out["spl"] = sums["w_spl"] / sums["w"]
    return out.join(sums[["weight", "n_series", "n_dropped"]])


def _level_keys(level) -> tuple[str, ...]:
    return LEVELS[level] if isinstance(level, str) else tuple(level)


# ---------------------------------------------------------------- public scoring


def series_scores(history: pd.DataFrame, actuals: pd.DataFrame, forecast: pd.DataFrame, hierarchy: pd.DataFrame,
                  *, level="sku_store", quantiles: pd.DataFrame | None = None,
                  stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per series of ``level`` (a name of :data:`LEVELS` or a key tuple): why a level scores as it does.

    Columns: the level's keys; ``n_history``, ``scale``, ``scale_abs`` (:func:`series_scale`); ``weight``
    (revenue share over the last 28 days of history, before dropping); ``rmsse`` (NaN when dropped);
    ``n_days``, ``actual``, ``forecast``, ``abs_error`` (sums over the horizon); where quantiles exist
    ``covered`` (days with p10 ≤ y ≤ p90), ``pinball`` and ``spl``; at the bottom with ``nb_size``
    ``pit_covered`` and ``pit_n`` (expected covered days, days with a distribution).
    """
    bottom = _prepare(history, actuals, forecast, hierarchy, stores)
    table, _ = _level_table(bottom, _level_keys(level), quantiles, str(level))
    return table


def score(history: pd.DataFrame, actuals: pd.DataFrame, forecast: pd.DataFrame, hierarchy: pd.DataFrame, *,
          levels: Mapping[str, tuple[str, ...]] = LEVELS,
          quantiles_by_level: Mapping[str, pd.DataFrame] | None = None,
          stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score a daily forecast at each level: a long frame ``level, metric, value, n_series, n_dropped``.

    Metrics (names in :data:`METRICS`): ``wrmsse`` (point forecast = ``mean``), ``wape`` = Σ|y−ŷ| / Σy and
    ``bias`` = (Σŷ − Σy) / Σy on the level's aggregated series; ``coverage_p10_p90`` (share of series-days with
    p10 ≤ y ≤ p90) and ``spl`` (M5 scaled pinball loss over p10/p50/p90, revenue-weighted) where quantiles exist:
    at ``sku_store`` from ``forecast``, elsewhere only from ``quantiles_by_level[level]`` (the level's keys +
    ``date, p10, p50, p90``; missing rows are 0; it also overrides ``forecast`` at the bottom);
    ``coverage_pit`` (:func:`pit_coverage`) at the bottom when ``forecast`` has ``nb_size``. A metric that
    does not apply at a level has no row. ``n_dropped`` counts series without a scale (dropped from
    ``wrmsse`` / ``spl``). ``stores`` (``store_id`` + e.g. ``region``) allows levels keyed by store columns.
    """
    quantiles_by_level = dict(quantiles_by_level or {})
    unknown = set(quantiles_by_level) - set(levels)
    if unknown:
        raise ValueError(f"quantiles_by_level names unknown levels {sorted(unknown)}")
    bottom = _prepare(history, actuals, forecast, hierarchy, stores)
    rows = []
    for name, keys in levels.items():  # a handful of levels; each is vectorised over all its series
        table, _ = _level_table(bottom, keys, quantiles_by_level.get(name), name)
        wide = _metrics(table)
        long = wide.melt(id_vars=["n_series", "n_dropped"], value_vars=[m for m in METRICS if m in wide],
                         var_name="metric", value_name="value")
        rows.append(long.assign(level=name))
    out = pd.concat(rows, ignore_index=True)
    out.loc[~out["metric"].isin(["wrmsse", "spl"]), "n_dropped"] = 0
    return out[["level", "metric", "value", "n_series", "n_dropped"]].astype({"n_series": int, "n_dropped": int})


def score_segments(history: pd.DataFrame, actuals: pd.DataFrame, forecast: pd.DataFrame, hierarchy: pd.DataFrame,
                   *, by: str, level="sku_store", stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """WRMSSE and WAPE of ``level`` within each segment of ``by`` (brand, category, region, store_id ...).

    Inside a segment the weights renormalise over its own series, so each segment reads as if scored alone;
    ``weight`` is the segment's share of the level's revenue (last 28 days), so that a review gate can ignore
    tiny segments. Columns ``segment_kind, segment, metric, value, weight, n_series, n_dropped``. ``level``'s
    series must each lie in one segment (``skc`` by ``region`` does not), else ValueError.
    """
    bottom = _prepare(history, actuals, forecast, hierarchy, stores)
    keys = _level_keys(level)
    if by not in bottom.attrs.columns:
        raise ValueError(f"segment column {by!r} is neither sku_id / store_id nor in hierarchy or stores")
    table, codes = _level_table(bottom, keys)
    pairs = pd.DataFrame({"code": codes, "segment": bottom.attrs[by].to_numpy()}).drop_duplicates()
    if pairs["code"].duplicated().any():
        raise ValueError(f"level {keys} is not nested in {by!r}: a series spans several segments")
    segment = pairs.set_index("code")["segment"].sort_index().to_numpy()
    wide = _metrics(table, by=segment).rename_axis("segment").reset_index()
    long = wide.melt(id_vars=["segment", "weight", "n_series", "n_dropped"], value_vars=["wrmsse", "wape"],
                     var_name="metric", value_name="value")
    long.loc[long["metric"] == "wape", "n_dropped"] = 0
    long.insert(0, "segment_kind", by)
    return long[["segment_kind", "segment", "metric", "value", "weight", "n_series", "n_dropped"]]
