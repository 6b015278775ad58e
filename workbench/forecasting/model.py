"""The global demand model: one LightGBM over every store × SKC series, and its uncertainty.

Why these choices (measured in ``wb bench forecast``, see BENCHMARKS.md):

- **One global model, direct.** Series are short (a season) and sparse, so
  each learns from all the others. Every horizon 1..28 is a row with ``h``
  as a feature; nothing is fed back, so errors do not compound as in a
  recursive forecast (the mlforecast peer is recursive).
- **Tweedie objective.** Daily counts are mostly zero with a long tail; a
  Tweedie (compound Poisson-gamma) loss fits the mean of such data without a
  log transform that would bias it.
- **Negative-binomial uncertainty.** Demand given the mean is over-dispersed
  Poisson: ``Var = μ + μ²/k``. ``k`` is fitted by maximum likelihood per band
  of ``μ`` on a calibration window the model did not train on, so P10/P50/P90
  are honest and allocation can use the whole distribution
  (E[min(demand, stock)]). Thinning an NB by a size share keeps ``k``, so the
  same ``k`` holds for each size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from workbench.forecasting.features import CATEGORICAL, FEATURES

DEFAULT_PARAMS: dict = {
    "objective": "tweedie",
    "tweedie_variance_power": 1.2,
    "learning_rate": 0.08,
    "num_leaves": 63,
    "max_bin": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_boost_round": 250,
}
FIXED_PARAMS: dict = {"verbosity": -1, "seed": 7, "deterministic": True, "force_row_wise": True, "num_threads": 2}
DISPERSION_BANDS = 10  # bands of μ, each with its own k
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


@dataclass
class DemandModel:
    """A fitted model: the booster, the categories it saw, and ``k`` per band of μ."""

    booster: lgb.Booster
    params: dict
    categories: dict[str, list]
    band_edges: np.ndarray = field(default_factory=lambda: np.array([]))
    band_k: np.ndarray = field(default_factory=lambda: np.array([np.inf]))
    trained_until: dt.date | None = None

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns in training order, categoricals on the training levels."""
        return design_matrix(frame, self.categories)

    def predict_mean(self, frame: pd.DataFrame) -> np.ndarray:
        return np.clip(self.booster.predict(self.matrix(frame), num_threads=FIXED_PARAMS["num_threads"]), 0.0, None)

    def dispersion(self, mean: np.ndarray) -> np.ndarray:
        """NB shape ``k`` for each mean (bands fitted at calibration)."""
        return self.band_k[np.searchsorted(self.band_edges, mean, side="right")]

    def predict_distribution(self, frame: pd.DataFrame) -> pd.DataFrame:
        """mean, P10, P50, P90 and the NB shape ``nb_size`` per row of ``frame``."""
        mean = self.predict_mean(frame)
        return distribution(mean, self.dispersion(mean))


def design_matrix(frame: pd.DataFrame, categories: dict[str, list]) -> pd.DataFrame:
    missing = [c for c in FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"feature frame lacks {missing}: build it with workbench.forecasting.features.load_frame")
    matrix = frame.loc[:, list(FEATURES)].copy()
    for column, levels in categories.items():
        matrix[column] = pd.Categorical(matrix[column].astype(object), categories=levels)
    return matrix


def distribution(mean: np.ndarray, k: np.ndarray) -> pd.DataFrame:
    """Quantiles of NB(mean, k); ``k = inf`` is Poisson."""
    mean = np.asarray(mean, dtype=float)
    k = np.broadcast_to(np.asarray(k, dtype=float), mean.shape)
    out = pd.DataFrame({"mean": mean, "nb_size": k})
    safe = np.maximum(mean, 1e-9)
    poisson = ~np.isfinite(k)
    p = np.divide(k, k + safe, out=np.full_like(safe, 0.5), where=~poisson)
    for name, q in QUANTILES.items():
        nb = stats.nbinom.ppf(q, np.where(poisson, 1.0, k), p)
        out[name] = np.where(poisson, stats.poisson.ppf(q, safe), nb).astype(float)
    return out


def fit_booster(frame: pd.DataFrame, params: dict | None = None) -> tuple[lgb.Booster, dict, dict[str, list]]:
    """Train LightGBM on a training frame (``units`` is the target)."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    rounds = int(params.pop("num_boost_round"))
    categories = {c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL}
    data = lgb.Dataset(design_matrix(frame, categories), label=frame["units"].to_numpy(), free_raw_data=True)
    booster = lgb.train({**params, **FIXED_PARAMS}, data, num_boost_round=rounds)
    return booster, {**params, "num_boost_round": rounds}, categories


def nb_loglik(y: np.ndarray, mean: np.ndarray, k: float) -> float:
    """Log-likelihood of counts ``y`` under NB(mean, k)."""
    mean = np.maximum(mean, 1e-9)
    return float(np.sum(
        special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
        + k * np.log(k / (k + mean)) + y * np.log(mean / (k + mean))
    ))


def fit_dispersion(y: np.ndarray, mean: np.ndarray, bands: int = DISPERSION_BANDS) -> tuple[np.ndarray, np.ndarray]:
    """Band edges over μ and the maximum-likelihood NB shape ``k`` in each band."""
    y = np.round(np.asarray(y, dtype=float))
    mean = np.asarray(mean, dtype=float)
    edges = np.unique(np.quantile(mean, np.linspace(0, 1, bands + 1)[1:-1]))
    band = np.searchsorted(edges, mean, side="right")
    ks = []
    for b in range(len(edges) + 1):  # a handful of bands, not a loop over series
        inside = band == b
        if inside.sum() < 50 or y[inside].sum() == 0:
            ks.append(np.inf)
            continue
        result = optimize.minimize_scalar(
            lambda log_k: -nb_loglik(y[inside], mean[inside], np.exp(log_k)), bounds=(-5, 8), method="bounded"
        )
        ks.append(float(np.exp(result.x)))
    return edges, np.array(ks)


def train(
    frame: pd.DataFrame, calibration_from: dt.date, params: dict | None = None,
    trained_until: dt.date | None = None, refit: bool = True,
) -> DemandModel:
    """Fit the dispersion on targets from ``calibration_from`` with a model that never saw them, then refit on all.

    ``frame`` is a training frame (``features.load_frame`` with ``train=True``).
    The calibration rows are those of the last origin whose target days start
    at or after ``calibration_from``; the first model trains on rows whose
    targets end before it.
    """
    return train_with_holdout(frame, calibration_from, params, trained_until, refit)[0]


def train_with_holdout(
    frame: pd.DataFrame, calibration_from: dt.date, params: dict | None = None,
    trained_until: dt.date | None = None, refit: bool = True,
) -> tuple[DemandModel, DemandModel]:
    """:func:`train`, and the calibration model too: (final model, model that never saw the calibration days).

    The second one is a free backtest: it was trained on data up to
    ``calibration_from - 1`` and carries the dispersion fitted on the days
    after, so the notebook scores it there instead of fitting the recipe again.
    """
    dates = pd.to_datetime(frame["date"])
    cutoff = pd.Timestamp(calibration_from)
    earlier, later = frame[dates < cutoff], frame[(dates >= cutoff) & (pd.to_datetime(frame["origin"]) == cutoff - pd.Timedelta(days=1))]
    if len(earlier) == 0 or len(later) == 0:
        raise ValueError(f"no rows on both sides of the calibration date {calibration_from}: give more training origins")
    booster, used, categories = fit_booster(earlier, params)
    first = DemandModel(booster, used, categories)
    edges, ks = fit_dispersion(later["units"].to_numpy(), first.predict_mean(later))
    holdout = DemandModel(booster, used, categories, edges, ks, calibration_from - dt.timedelta(days=1))
    if not refit:  # cheaper: keep the calibration model (it has not seen the last weeks' targets)
        return DemandModel(booster, used, categories, edges, ks, trained_until), holdout
    booster, used, categories = fit_booster(frame, params)
    return DemandModel(booster, used, categories, edges, ks, trained_until), holdout
