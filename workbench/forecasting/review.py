"""The review gate's evaluation of ``demand_forecast``: refit each version's recipe on the same windows.

``wb models review demand_forecast`` calls :func:`evaluate` for the champion,
then for the challenger (:data:`workbench.tracking.review.REVIEWERS`), and
promotes the challenger only if it is better overall by the margin and no
large brand or region segment is worse beyond the tolerance.

Why recipes, not the registered weights
---------------------------------------
A version trained at as-of ``A`` has seen every day up to ``A``. Scored on a
backtest window before ``A`` it forecasts days it learnt from, so it looks
better than it is, and a champion trained a month before the challenger
would be judged on a different footing from it. Scoring both on days after
their as-of dates is not possible either: those days are not in the
warehouse yet. So the gate compares *recipes*: each version records how it
was made (LightGBM parameters, :class:`~workbench.forecasting.forecast.TrainingPlan`,
horizon), and for each backtest window the recipe is trained afresh with
:func:`~workbench.forecasting.forecast.fit_at` on the data up to the window's
origin and scored on the 28 days after it. Champion and challenger then face
exactly the same windows with exactly the same information, which is the
question the gate asks: *would the challenger's way of training have
forecast better?* The registered weights are what production uses; they
are the recipe trained on the latest data (``wb forecast train``).

The windows
-----------
By default the last 2 non-overlapping 28-day windows ending on the last day
of data (``backtest.default_origins``); ``forecasting.review_windows`` in
``workbench/conf/workbench.yaml`` or ``WB_FORECAST_REVIEW_WINDOWS`` changes
the number. Data are read through a governed session of
``forecasting.review_user`` (``u_pipeline``; ``WB_FORECAST_REVIEW_USER``).
Each window's actuals (:class:`~workbench.forecasting.backtest.WindowData`)
are loaded once per process and shared by both versions; a recipe's score
on a window is kept too, so reviewing the same champion again in one process
does not retrain it (fits are reproducible: the training frame comes in a
fixed row order, so a refit would give the same score).

The result
----------
``segment_kind, segment, metric, value, weight`` (the gate's frame):
``overall`` rows first, the decisive one being WRMSSE at SKU x store (the
forecast's grain) averaged over the windows; WAPE, scaled pinball loss and
WRMSSE at the coarser levels follow for information. ``brand`` and
``region`` rows hold each segment's WRMSSE and WAPE at SKU x store, with its
revenue share as the weight. Lower is better throughout.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from workbench.config import CONF_DIR, Settings, load_settings
from workbench.forecasting import backtest
from workbench.forecasting.forecast import forecast_at
from workbench.forecasting.registry import Recipe, recipe_of

DECISIVE_LEVEL = "sku_store"
SEGMENTS = ("brand", "region")
INFO_METRICS = ("wape", "spl")  # at the decisive level, for information
INFO_LEVELS = ("skc_store", "store", "total")  # WRMSSE there, for information
DEFAULT_WINDOWS = 2
DEFAULT_USER = "u_pipeline"
COLUMNS = ["segment_kind", "segment", "metric", "value", "weight"]

_windows: dict[tuple, backtest.WindowData] = {}
_scores: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}


@dataclass(frozen=True)
class ReviewConfig:
    """Which windows the gate scores and through whose session."""

    windows: int = DEFAULT_WINDOWS
    user: str = DEFAULT_USER


def review_config() -> ReviewConfig:
    """``forecasting`` in the settings file (``WB_CONFIG``), then ``WB_FORECAST_REVIEW_*``."""
    path = Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forecasting") or {}
    windows = os.environ.get("WB_FORECAST_REVIEW_WINDOWS") or raw.get("review_windows", DEFAULT_WINDOWS)
    user = os.environ.get("WB_FORECAST_REVIEW_USER") or raw.get("review_user", DEFAULT_USER)
    try:
        windows = int(windows)
    except (TypeError, ValueError):
        raise ValueError(f"forecasting.review_windows must be a whole number of windows, not {windows!r}") from None
    if windows < 1:
        raise ValueError(f"forecasting.review_windows must be at least 1 (got {windows})")
    return ReviewConfig(windows, str(user))


def _data_key(session) -> tuple:
    """The warehouse, its state and the reader: a rebuilt or rewritten warehouse gets new windows."""
    settings = session.settings
    path = Path(settings.warehouse)
    try:
        stat = path.stat()
        state = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        state = None
    return settings.engine, str(path), state, session.user.name


def window_data(session, origin: dt.date, horizon: int) -> backtest.WindowData:
    """The window's actuals and history, loaded once per process for the same warehouse, user and origin."""
    key = (_data_key(session), origin, horizon)
    if key not in _windows:
        _windows[key] = backtest.load_window(session, origin, horizon)
    return _windows[key]


def score_recipe(session, recipe: Recipe, origin: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train ``recipe`` at ``origin`` and score its forecast of the next ``recipe.horizon`` days.

    (levels x metrics of ``WindowData.score``, brand and region rows of
    ``score_segments``); kept per process for the same data and recipe.
    """
    key = (_data_key(session), origin, recipe.horizon, recipe.key())
    if key not in _scores:
        _scores[key] = score_model(session, recipe.fit(session, origin), origin, recipe.horizon)
    return _scores[key]


def score_model(session, fitted, origin: dt.date, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fitted model's forecast made at ``origin``, scored on the next ``horizon`` days (levels, segments)."""
    window = window_data(session, origin, horizon)
    forecast = forecast_at(session, fitted, window.origin, window.horizon)
    levels = window.score(forecast)
    segments = pd.concat([window.score_segments(forecast, by=by) for by in SEGMENTS], ignore_index=True)
    return levels, segments


def gate_frame(levels: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """The gate's rows from per-window scores (``window`` column): means over the windows."""
    levels = levels.groupby(["level", "metric"], as_index=False)["value"].mean()
    at = levels.set_index(["level", "metric"])["value"]
    rows = [("overall", "all", "wrmsse", at.get((DECISIVE_LEVEL, "wrmsse"), float("nan")), 1.0)]
    rows += [("overall", "all", m, at[(DECISIVE_LEVEL, m)], 1.0) for m in INFO_METRICS if (DECISIVE_LEVEL, m) in at]
    rows += [("overall", "all", f"wrmsse_{lvl}", at[(lvl, "wrmsse")], 1.0) for lvl in INFO_LEVELS if (lvl, "wrmsse") in at]
    segs = segments.groupby(["segment_kind", "segment", "metric"], as_index=False)[["value", "weight"]].mean()
    out = pd.concat([pd.DataFrame(rows, columns=COLUMNS), segs[COLUMNS]], ignore_index=True)
    out["segment"] = out["segment"].astype(str)
    return out


def backtest_scores(recipe: Recipe, *, settings: Settings | None = None,
                    config: ReviewConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-window scores of ``recipe`` on the review windows: (levels x metrics, segments), with ``window``."""
    import warnings

    from workbench.governance.session import session as open_session

    settings = settings or load_settings()
    config = config or review_config()
    levels, segments = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scope warnings: the review user is configured
        s = open_session(config.user, settings=settings, read_only=True, entry_point="pipeline")
    with s:
        for origin in backtest.default_origins(s, config.windows, recipe.horizon):
            lv, sg = score_recipe(s, recipe, origin)
            levels.append(lv.assign(window=origin))
            segments.append(sg.assign(window=origin))
    return pd.concat(levels, ignore_index=True), pd.concat(segments, ignore_index=True)


def evaluate(model: Any, *, settings: Settings | None = None, config: ReviewConfig | None = None) -> pd.DataFrame:
    """The review gate's evaluation of one ``demand_forecast`` version (a loaded pyfunc model or a Recipe).

    Returns ``segment_kind, segment, metric, value, weight``; the first row
    (``overall``, WRMSSE at SKU x store, mean over the windows) decides.
    """
    levels, segments = backtest_scores(recipe_of(model), settings=settings, config=config)
    return gate_frame(levels, segments)


def clear_cache() -> None:
    """Forget loaded windows and scores (tests; a long-lived process after the data changed in place)."""
    _windows.clear()
    _scores.clear()
