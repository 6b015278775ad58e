"""Charts of the demand forecast: backtest accuracy, example series with bands, rollups, hot items.

Each function takes a tidy frame (from :mod:`workbench.forecasting.report`
or a backtest) and returns a matplotlib ``Figure`` built without pyplot, so
it renders in a notebook, is logged to MLflow as a PNG, and works on a
server with no display. Nothing here reads data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BAND = "#9ecae1"
MEAN = "#08519c"
ACTUAL = "#252525"
LEVEL_ORDER = ("total", "brand", "category", "store", "skc", "skc_store", "sku_store")


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; it has {list(frame.columns)}")


def _empty(fig: "Figure", ax, message: str) -> "Figure":
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_axis_off()
    return fig


def accuracy_by_level(metrics: pd.DataFrame | None, metric: str = "wrmsse") -> "Figure":
    """Bars of one metric per hierarchy level (``WindowData.score`` rows: level, metric, value)."""
    fig = _figure(6.5, 3.2)
    ax = fig.subplots()
    if metrics is None or metrics.empty:
        return _empty(fig, ax, "no backtest scores")
    _require(metrics, ("level", "metric", "value"), "accuracy_by_level")
    rows = metrics[metrics["metric"] == metric].groupby("level", sort=False)["value"].mean()
    order = [lvl for lvl in LEVEL_ORDER if lvl in rows.index] + [lvl for lvl in rows.index if lvl not in LEVEL_ORDER]
    rows = rows.reindex(order)
    ax.bar(rows.index.astype(str), rows.to_numpy(), color=MEAN)
    for x, value in enumerate(rows.to_numpy()):
        ax.annotate(f"{value:.3f}", (x, value), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(metric.upper() if metric == "wrmsse" else metric)
    ax.set_title(f"Backtest {metric} by level (lower is better)")
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def accuracy_by_segment(segments: pd.DataFrame | None, metric: str = "wrmsse") -> "Figure":
    """Horizontal bars of one metric per segment, a panel per segment kind (brand, region ...)."""
    kinds = [] if segments is None or segments.empty else list(dict.fromkeys(segments["segment_kind"]))
    fig = _figure(6.5, 1.0 + 0.35 * max(1, 0 if segments is None else segments["segment"].nunique()))
    if not kinds:
        return _empty(fig, fig.subplots(), "no segment scores")
    _require(segments, ("segment_kind", "segment", "metric", "value", "weight"), "accuracy_by_segment")
    axes = np.atleast_1d(fig.subplots(1, len(kinds), squeeze=False)[0])
    for ax, kind in zip(axes, kinds):
        rows = segments[(segments["segment_kind"] == kind) & (segments["metric"] == metric)]
        rows = rows.groupby("segment", as_index=False)[["value", "weight"]].mean().sort_values("value")
        labels = [f"{s} ({w:.0%})" for s, w in zip(rows["segment"].astype(str), rows["weight"])]
        ax.barh(labels, rows["value"], color=MEAN)
        ax.set_title(f"{metric} by {kind} (revenue share)")
        ax.set_xlabel(metric)
    return fig


def series_bands(series: pd.DataFrame, ncols: int = 2) -> "Figure":
    """One panel per series: actual units before the as-of date, mean and P10-P90 band after it.

    ``series`` is :func:`workbench.forecasting.report.example_series`:
    ``label, date, actual, mean, p10, p50, p90`` (forecast columns null on
    history days, ``actual`` null where not yet known).
    """
    labels = [] if series is None or series.empty else list(dict.fromkeys(series["label"]))
    nrows = max(1, -(-len(labels) // ncols))
    fig = _figure(5.0 * ncols, 2.6 * nrows)
    if not labels:
        return _empty(fig, fig.subplots(), "no series to show")
    _require(series, ("label", "date", "actual", "mean", "p10", "p50", "p90"), "series_bands")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax, label in zip(axes, labels):
        one = series[series["label"] == label].sort_values("date")
        ahead = one[one["mean"].notna()]
        ax.plot(one["date"], one["actual"], color=ACTUAL, lw=1, label="actual")
        ax.fill_between(ahead["date"], ahead["p10"], ahead["p90"], color=BAND, alpha=0.7, label="P10-P90", step="mid")
        ax.plot(ahead["date"], ahead["mean"], color=MEAN, lw=1.5, label="mean")
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    for ax in axes[len(labels):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def rollup_chart(rolled: pd.DataFrame, by: str) -> "Figure":
    """Daily mean forecast (units) per group of ``by`` (``report.rollup_by`` rows: by, date, mean)."""
    fig = _figure(7.0, 3.2)
    ax = fig.subplots()
    if rolled is None or rolled.empty:
        return _empty(fig, ax, "nothing to roll up")
    _require(rolled, (by, "date", "mean"), "rollup_chart")
    wide = rolled.pivot_table(index="date", columns=by, values="mean", aggfunc="sum", observed=True).sort_index()
    for column in wide.columns:
        ax.plot(wide.index, wide[column], lw=1.3, label=str(column))
    ax.set_ylabel("units (mean forecast)")
    ax.set_title(f"Forecast by {by}")
    ax.legend(fontsize=7, ncols=2)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    return fig


def hot_items_chart(ranking: pd.DataFrame, top: int = 15) -> "Figure":
    """The top new SKCs by predicted 8-week sell-through, coloured by the stage that scored them."""
    shown = pd.DataFrame() if ranking is None else ranking.head(top)
    fig = _figure(6.5, 1.0 + 0.3 * max(1, len(shown)))
    ax = fig.subplots()
    if shown.empty:
        return _empty(fig, ax, "no new items ranked")
    _require(shown, ("skc_code", "stage", "predicted_sell_through"), "hot_items_chart")
    from matplotlib.patches import Patch

    shown = shown.iloc[::-1]
    colours = {"prelaunch": "#bdbdbd", "week1": "#6baed6", "week2": "#08519c"}
    ax.barh(shown["skc_code"].astype(str), shown["predicted_sell_through"],
            color=[colours.get(s, MEAN) for s in shown["stage"]])
    ax.set_xlabel("predicted 8-week sell-through")
    ax.set_title(f"Hot-item ranking, top {len(shown)}")
    stages = [s for s in colours if s in set(shown["stage"])]
    ax.legend(handles=[Patch(color=colours[s], label=f"scored {s}") for s in stages], fontsize=7, loc="lower right")
    return fig
