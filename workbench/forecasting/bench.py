"""``wb bench forecast``: our model against the standard peers on the same rolling-origin windows.

One command runs every method on every window and scores them alike
(:mod:`evaluation`), against observed sales and against the simulator's
true (uncensored) demand. Each method runs in a child process of its own so
that its wall time and peak memory (VmHWM) are its own; the children read
the same inputs, written once per window by this process.

Grain: seasonal naive and the moving average forecast each SKU × store
series. AutoETS and mlforecast forecast SKC × store (their cost per series
made SKU × store take hours on two cores) and are split to sizes with the
same store size curves as ours, which, if anything, helps them: pooled sizes
are less noisy. AutoETS gets the last 112 days (16 weekly seasons) of each
series, everything else gets up to a year.

``oracle_demand`` and ``oracle_sales`` (by name only: ``--method``) score the
simulator's own expected demand and expected sales
(:mod:`workbench.simulation.oracle`) on the same windows: the floor no
method can go below.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.bench.report import BenchReport, python_child, run_measured
from workbench.forecasting.forecast import HORIZON

PEER_METHODS = ("seasonal_naive", "moving_average", "autoets", "mlforecast_lgbm")
METHODS = (*PEER_METHODS, "workbench")
# Not forecasts but bounds: the simulator's own expectations (simulation.oracle); asked for by name only.
ORACLE_METHODS = ("oracle_demand", "oracle_sales")
SKC_GRAIN = {"autoets", "mlforecast_lgbm"}
HISTORY_DAYS = {"autoets": 112}
SCORED_METRICS = ("wrmsse", "wape", "bias", "coverage_p10_p90", "coverage_pit", "spl")

_CHILD = "from workbench.forecasting.bench import child; child({args!r})"


def child(args: dict) -> None:
    """Run one method on one window (in a fresh process) and write its forecast and timings."""
    work = Path(args["work"])
    started = time.perf_counter()
    if args["method"] == "workbench":
        forecast, train_s = _ours(args)
    elif args["method"] in ORACLE_METHODS:
        forecast, train_s = _oracle(args), None
    else:
        forecast, train_s = _peer(args), None
    total = time.perf_counter() - started
    forecast.to_parquet(work / f"{args['method']}.parquet")
    timings = {
        "rows": len(forecast),
        "wall_s": total, "train_s": train_s if train_s is not None else total, "forecast_s": total - (train_s or 0),
        "peak_rss_mb": _own_peak_rss_mb(),
    }
    (work / f"{args['method']}.json").write_text(json.dumps(timings))


def _own_peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM).

    Not ``wait4``'s ``ru_maxrss``: Linux keeps that across ``execve``, so a
    child of a large parent would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(args: dict) -> tuple[pd.DataFrame, float]:
    import workbench as wb
    from workbench.config import load_settings
    from workbench.forecasting import forecast

    settings = load_settings(**args["settings"])
    session = wb.session(args["user"], settings=settings, read_only=True, entry_point="cli")
    origin = dt.date.fromisoformat(args["origin"])
    started = time.perf_counter()
    fitted = forecast.fit_at(session, origin, params=args.get("params"))
    train_s = time.perf_counter() - started
    return forecast.forecast_at(session, fitted, origin), train_s


def _oracle(args: dict) -> pd.DataFrame:
    """The simulator's expected demand or sales over the window (simulated once per window, shared by both)."""
    from workbench.demo import built_with
    from workbench.config import load_settings
    from workbench.simulation.oracle import expected_sales

    cached = Path(args["work"]) / "oracle.parquet"
    if not cached.exists():
        built = built_with(load_settings(**args["settings"]))
        if not built:
            raise ValueError("the oracle needs a simulated warehouse (truth.run says how it was generated)")
        origin = dt.date.fromisoformat(args["origin"])
        last = origin + dt.timedelta(days=args["horizon"])
        expected_sales(built["scale"], int(built["seed"]), origin + dt.timedelta(days=1), last).to_parquet(cached)
    table = pd.read_parquet(cached)
    column = "sales_mean" if args["method"] == "oracle_sales" else "demand_mean"
    return table[["sku_id", "store_id", "date"]].assign(mean=table[column])


def _peer(args: dict) -> pd.DataFrame:
    from workbench.forecasting import backtest
    from workbench.forecasting.peers import PEERS

    method, work = args["method"], Path(args["work"])
    grain = "skc" if method in SKC_GRAIN else "sku"
    history = pd.read_parquet(work / f"history_{grain}.parquet")
    days = HISTORY_DAYS.get(method)
    if days:
        history = history[history["ds"] > history["ds"].max() - pd.Timedelta(days=days)]
    out = _scoreable(backtest.from_series_id(PEERS[method](history, args["horizon"], n_jobs=1)))
    if grain == "sku":
        return out
    out = out.rename(columns={"sku_id": "skc_id"})  # the id held an SKC at this grain
    curves = pd.read_parquet(work / "size_curves.parquet")
    rows = out.merge(curves, on=["store_id", "skc_id"], how="inner")
    for column in {"mean", "p10", "p50", "p90"} & set(rows.columns):
        rows[column] = rows[column] * rows["size_share"]
    return rows[["sku_id", "store_id", "date", *(c for c in ("mean", "p10", "p50", "p90") if c in rows)]]


def _scoreable(out: pd.DataFrame) -> pd.DataFrame:
    """A peer without intervals drops them; a series too short for one (NaN) forecasts 0 with no spread."""
    quantiles = ["p10", "p50", "p90"]
    if out[quantiles].isna().all().all():
        out = out.drop(columns=quantiles)
    out["mean"] = out["mean"].fillna(0.0)
    for column in set(quantiles) & set(out.columns):
        out[column] = out[column].fillna(out["mean"])
    return out


def _write_inputs(session, window, work: Path) -> None:
    """Peer histories at both grains and the size curves, once per window."""
    from workbench.forecasting import backtest, sizes
    from workbench.forecasting.forecast import SIZE_CURVE_DAYS

    sku = backtest.peer_history(session, window)
    sku.to_parquet(work / "history_sku.parquet")
    hierarchy = window.hierarchy.set_index("sku_id")["skc_id"]
    stores, skus = backtest.split_series_id(sku["unique_id"])
    skc_ids = hierarchy.reindex(skus).to_numpy()
    skc = pd.DataFrame({"unique_id": backtest.series_id(stores, skc_ids), "ds": sku["ds"], "y": sku["y"]})
    skc = skc.groupby(["unique_id", "ds"], as_index=False, sort=True)["y"].sum()
    skc.to_parquet(work / "history_skc.parquet")
    start = window.origin - dt.timedelta(days=SIZE_CURVE_DAYS - 1)
    sizes.store_size_curves(session, start, window.origin).to_pandas().to_parquet(work / "size_curves.parquet")


def run_benchmark(settings, *, user: str = "u_pipeline", n_windows: int = 3, methods=METHODS,
                  scale: str | None = None, seed: int | None = None, params: dict | None = None,
                  score: bool = True, progress=print) -> BenchReport:
    """Every method on ``n_windows`` back-to-back 28-day windows ending on the last day of data.

    ``score=False`` measures cost only (our model alone: features, training
    and the forecast), for chains too big to score on one machine.
    """
    if not score and tuple(methods) != ("workbench",):
        raise ValueError("cost-only runs measure our model alone: pass methods=('workbench',)")
    import workbench as wb
    from workbench.forecasting import backtest

    session = wb.session(user, settings=settings, read_only=True, entry_point="cli")
    oracle = wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli")
    origins = backtest.default_origins(session, n_windows)
    scores, costs = [], []
    settings_args = {"engine": settings.engine, "warehouse": str(settings.warehouse), "audit_dir": str(settings.audit_dir)}
    for origin in origins:
        work = Path(tempfile.mkdtemp(prefix="wb-bench-forecast-"))
        try:
            window = backtest.load_window(session, origin, oracle=oracle) if score else None
            if score:
                _write_inputs(session, window, work)
            for method in methods:
                progress(f"window {origin}: {method} ...")
                args = {"method": method, "work": str(work), "origin": origin.isoformat(), "horizon": HORIZON,
                        "user": user, "settings": settings_args, "params": params}
                run = run_measured(python_child(_CHILD.format(args=args)))
                if run.returncode != 0:
                    raise RuntimeError(f"{method} failed on the window from {origin} (exit {run.returncode})")
                timings = json.loads((work / f"{method}.json").read_text())
                costs.append({"method": method, "origin": origin, **timings})
                if not score:
                    continue
                forecast = pd.read_parquet(work / f"{method}.parquet")
                for truth in (False, True):
                    scored = window.score(forecast, truth=truth).assign(method=method, origin=origin, truth=truth)
                    scores.append(scored)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return _report(pd.concat(scores) if scores else None, pd.DataFrame(costs), scale, seed, origins)


def _report(scores: pd.DataFrame, costs: pd.DataFrame, scale, seed, origins) -> BenchReport:
    """Means over windows per method × level × metric; times summed over windows, memory at its peak."""
    report = BenchReport("forecast", scale, seed)
    report.machine["windows"] = [o.isoformat() for o in origins]
    means = scores.groupby(["method", "truth", "level", "metric"], as_index=False)["value"].mean() if scores is not None else None
    for row in means.itertuples(index=False) if means is not None else ():
        if not np.isfinite(row.value):
            continue
        metric = f"{row.metric}_true_demand" if row.truth else row.metric
        report.add(row.method, metric, round(float(row.value), 4), row.level)
    totals = costs.groupby("method").agg(
        wall_s=("wall_s", "sum"), train_s=("train_s", "sum"), forecast_s=("forecast_s", "sum"),
        peak_rss_mb=("peak_rss_mb", "max"), rows=("rows", "max"),
    )
    for method, row in totals.iterrows():
        # Milliseconds: a fast baseline on a small chain takes well under 0.1 s, which one decimal would report as 0.
        report.add(method, "wall_s", round(float(row.wall_s), 3))
        report.add(method, "train_wall_s", round(float(row.train_s), 3))
        report.add(method, "forecast_wall_s", round(float(row.forecast_s), 3))
        report.add(method, "peak_rss_mb", round(float(row.peak_rss_mb), 1))
        report.add(method, "forecast_rows", int(row.rows))
    return report


def comparison(report: BenchReport, levels=("sku_store", "skc_store", "store", "total")) -> pd.DataFrame:
    """WRMSSE per method (rows) and level (columns), with ours relative to each peer — the targets' view."""
    rows = pd.DataFrame(report.results)
    table = rows[rows.metric == "wrmsse"].pivot(index="method", columns="level", values="value")
    return table.reindex(columns=[lv for lv in levels if lv in table.columns])
