"""The demand forecast in MLflow: log a training run, register it, load a version back.

The registered model ``demand_forecast`` is an ``mlflow.pyfunc`` model
(:class:`DemandForecastModel`) that carries two artifacts:

- ``demand_model.pkl``: the fitted :class:`~workbench.forecasting.model.DemandModel`
  (booster, categories, NB dispersion bands), pickled;
- ``recipe.json``: how it was made (:class:`Recipe`: the complete LightGBM
  parameters, the :class:`~workbench.forecasting.forecast.TrainingPlan` and
  the horizon). The review gate refits this recipe on its own backtest
  windows (see :mod:`workbench.forecasting.review`), so a version must say
  how to make it again, not only what it learnt.

``predict(feature rows)`` returns ``mean, p10, p50, p90, nb_size`` per row
(rows of :func:`workbench.forecasting.features.load_frame` passed through
:func:`model_input`, which gives them the signature's plain types), so any
MLflow client can use it; the workbench itself unwraps the ``DemandModel`` and runs
:func:`~workbench.forecasting.forecast.forecast_at`, which also splits SKCs
into sizes.

Every run goes through :func:`workbench.tracking.log_training_run`: the new
version is the ``challenger``; only ``wb models review demand_forecast``
makes it ``champion``. ``WB_FORECAST_MODEL`` registers and loads under
another name (a second model line, or a test's own registry entry; review
it with ``wb models review NAME --evaluator workbench.forecasting.review:evaluate``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import mlflow
import pandas as pd

from workbench.config import Settings
from workbench.forecasting import features
from workbench.forecasting.forecast import HORIZON, TrainingPlan, training_spec
from workbench.forecasting.model import DemandModel
from workbench.tracking.registry import (
    CHAMPION,
    ChampionMissing,
    ModelAliasMissing,
    connect,
    log_training_run,
    version_by_alias,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MODEL_NAME = "demand_forecast"
MODEL_NAME_ENV = "WB_FORECAST_MODEL"  # another registered name: a second model line, or a test's own
EXPERIMENT = "demand_forecast"
REQUIREMENTS = ("lightgbm", "scipy", "ibis-framework", "duckdb")
OUTPUTS = ("mean", "p10", "p50", "p90", "nb_size")
EXAMPLE_ROWS = 20
MODEL_ARTIFACT = "demand_model"
RECIPE_ARTIFACT = "recipe"
SEGMENTS_FILE = "backtest_segments.csv"


def model_name() -> str:
    """The registered model's name: ``demand_forecast``, or ``WB_FORECAST_MODEL`` when set."""
    return os.environ.get(MODEL_NAME_ENV) or MODEL_NAME


@dataclass(frozen=True)
class Recipe:
    """How a version was trained: enough to train it again at another as-of date."""

    params: dict  # complete LightGBM parameters, num_boost_round included
    plan: TrainingPlan = TrainingPlan()
    horizon: int = HORIZON

    def to_dict(self) -> dict:
        return {"params": dict(self.params), "plan": dataclasses.asdict(self.plan), "horizon": self.horizon}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recipe":
        return cls(dict(data["params"]), TrainingPlan(**data.get("plan", {})), int(data.get("horizon", HORIZON)))

    def key(self) -> str:
        """A canonical text of the recipe (two versions with the same key train the same model)."""
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def fit(self, session, as_of: dt.date) -> DemandModel:
        """Train this recipe on what ``session`` sees up to ``as_of``."""
        from workbench.forecasting.forecast import fit_at

        return fit_at(session, as_of, self.params, self.plan, self.horizon)

    def log_params(self) -> dict[str, Any]:
        """Flat MLflow parameters: ``lgb.*``, ``plan.*``, ``horizon``."""
        flat = {f"lgb.{k}": v for k, v in sorted(self.params.items())}
        flat.update({f"plan.{k}": v for k, v in dataclasses.asdict(self.plan).items()})
        flat["horizon"] = self.horizon
        return flat


class DemandForecastModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper of a pickled :class:`DemandModel` and its :class:`Recipe`."""

    def __init__(self) -> None:
        self.model: DemandModel | None = None
        self.recipe: Recipe | None = None

    def __getstate__(self) -> dict:
        # MLflow pickles this object next to the artifacts: keep the model out of it (it is an artifact).
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def load_context(self, context) -> None:
        self.model = pickle.loads(Path(context.artifacts[MODEL_ARTIFACT]).read_bytes())
        self.recipe = Recipe.from_dict(json.loads(Path(context.artifacts[RECIPE_ARTIFACT]).read_text(encoding="utf-8")))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """``mean, p10, p50, p90, nb_size`` for each feature row (``features.load_frame`` rows)."""
        if self.model is None:
            raise RuntimeError("the model is not loaded: load it with mlflow.pyfunc.load_model")
        return self.model.predict_distribution(model_input)[list(OUTPUTS)].reset_index(drop=True)


@dataclass(frozen=True)
class RegisteredForecast:
    """A registered version, unwrapped: the model, its recipe and where it came from."""

    model: DemandModel
    recipe: Recipe
    version: int
    run_id: str
    alias: str | None = None
    reviewed: bool = False  # it passed the review gate once (a champion, or a previous one)


def training_window(session, as_of: dt.date, plan: TrainingPlan = TrainingPlan(), horizon: int = HORIZON) -> dict[str, Any]:
    """The days a model trained at ``as_of`` learnt from: the frame :func:`forecast.fit_at` builds."""
    spec = training_spec(session, as_of, plan, horizon)
    return {
        "start": spec.first_day,
        "end": as_of,
        "as_of": as_of,
        "calibration_from": as_of - dt.timedelta(days=horizon - 1),
        "last_year_from": spec.first_day - dt.timedelta(days=features.LAST_YEAR + 28),  # seasonality features
        "origins": len(spec.origins),
        "sample_every": spec.sample_every,  # thinner than the plan's on a large chain
    }


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """Feature rows (``features.load_frame``) in the plain types of the pyfunc signature.

    Categoricals become text and every number float64 (flags stay bool): the
    signature is strict about widths, and an integer column of the frame turns
    float whenever it holds a null (``days_since_sale``), so one numeric type
    keeps every frame valid. The model gives the same predictions either way.
    """
    missing = [c for c in features.FEATURES if c not in frame.columns]
    if missing:
        raise ValueError(f"the model input lacks feature columns {missing}: take rows of features.load_frame")
    rows = frame.loc[:, list(features.FEATURES)].reset_index(drop=True)
    out = {}
    for column in rows.columns:
        values = rows[column]
        if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
            out[column] = values.astype(object).map(lambda v: None if pd.isna(v) else str(v))
        elif pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(bool)
        else:
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.DataFrame(out)


def example_rows(frame: pd.DataFrame, n: int = EXAMPLE_ROWS) -> pd.DataFrame:
    """The input example: the first ``n`` rows as :func:`model_input`."""
    return model_input(frame.head(n))


def importance_of(fitted: DemandModel) -> pd.DataFrame:
    """Gain per feature of the booster."""
    booster = fitted.booster
    return pd.DataFrame({"feature": booster.feature_name(), "importance": booster.feature_importance("gain")})


def log_model_run(
    fitted: DemandModel,
    *,
    as_of: dt.date,
    scope: str,
    input_example: pd.DataFrame,
    data_window: Mapping[str, Any],
    plan: TrainingPlan = TrainingPlan(),
    horizon: int = HORIZON,
    metrics: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    backtest_figure: "Figure | None" = None,
    feature_importance: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> int:
    """Log a training run of ``fitted`` and register it as ``demand_forecast``'s challenger; the version.

    - ``scope``: who trained it (the governed user whose rows it saw).
    - ``input_example``: feature rows (``features.load_frame``); the first
      :data:`EXAMPLE_ROWS` give the signature.
    - ``plan`` / ``horizon``: with ``fitted.params`` they are the recipe the
      review gate refits; logged as ``plan.*``, ``horizon``, ``lgb.*``.
    - ``metrics``: levels x metrics of a backtest (``WindowData.score``);
      ``segments``: ``score_segments`` rows, logged as ``backtest_segments.csv``.
    - ``data_window``: what it learnt from (:func:`training_window`).
    - ``params``: more parameters to log (the backtest origin ...).
    """
    name = model_name()
    recipe = Recipe(dict(fitted.params), plan, horizon)
    folder = Path(tempfile.mkdtemp(prefix="wb-demand-model-"))
    model_path = folder / "demand_model.pkl"
    model_path.write_bytes(pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL))
    recipe_path = folder / "recipe.json"
    recipe_path.write_text(json.dumps(recipe.to_dict(), indent=1, sort_keys=True, default=str), encoding="utf-8")
    version = log_training_run(
        EXPERIMENT,
        model_name=name,
        python_model=DemandForecastModel(),
        artifacts={MODEL_ARTIFACT: model_path, RECIPE_ARTIFACT: recipe_path},
        input_example=example_rows(input_example),
        data_window=data_window,
        params={**recipe.log_params(), "scope": scope, **dict(params or {})},
        metrics=metrics,
        feature_importance=feature_importance if feature_importance is not None else importance_of(fitted),
        figures={"backtest": backtest_figure} if backtest_figure is not None else None,
        tags={"scope": scope, "as_of": as_of, **dict(tags or {})},
        requirements=REQUIREMENTS,
        run_name=f"{name} as of {as_of}",
        settings=settings,
    )
    if segments is not None and len(segments):
        client = connect(settings)
        client.log_text(client.get_model_version(name, str(version)).run_id, segments.to_csv(index=False), SEGMENTS_FILE)
    return version


def unwrap(model: Any) -> DemandForecastModel:
    """The :class:`DemandForecastModel` inside a loaded pyfunc model (or the model itself)."""
    if isinstance(model, DemandForecastModel):
        return model
    inner = model.unwrap_python_model() if hasattr(model, "unwrap_python_model") else None
    if not isinstance(inner, DemandForecastModel):
        raise TypeError(f"not a demand forecast model: {type(inner or model).__name__} "
                        f"(expected a version of {MODEL_NAME!r} loaded with mlflow.pyfunc.load_model)")
    return inner


def recipe_of(model: Any) -> Recipe:
    """The recipe of a loaded version (pyfunc or unwrapped), or ``model`` itself if it is one."""
    if isinstance(model, Recipe):
        return model
    recipe = unwrap(model).recipe
    if recipe is None:
        raise ValueError(f"this {MODEL_NAME} version carries no recipe: it cannot be refitted for review")
    return recipe


def _missing_champion(err: ModelAliasMissing, alias: str, name: str) -> ModelAliasMissing:
    """The tracking error, with what to run for this model in particular."""
    if alias != CHAMPION:
        return err
    return type(err)(
        f"no champion of {name!r} to forecast with: train one with `wb forecast train --as-of DATE` "
        f"(or notebooks/forecast.ipynb with mode='train'), then promote it with `wb models review {name}` ({err})"
    )


def load_registered(alias: str | None = CHAMPION, *, version: int | None = None,
                    settings: Settings | None = None) -> RegisteredForecast:
    """Version ``version``, or the one behind ``alias`` (the champion by default), unwrapped.

    Raises :class:`~workbench.tracking.ChampionMissing` (a ``LookupError``)
    saying how to get a champion when there is none.
    """
    client = connect(settings)
    name = model_name()
    if version is None:
        try:
            found = version_by_alias(name, alias or CHAMPION, settings=settings)
        except ModelAliasMissing as err:
            raise _missing_champion(err, alias or CHAMPION, name) from None
    else:
        found = client.get_model_version(name, str(version))
    inner = unwrap(mlflow.pyfunc.load_model(f"models:/{name}/{found.version}"))
    reviewed = found.tags.get("review.decision") == "promote"
    return RegisteredForecast(inner.model, inner.recipe, int(found.version), found.run_id, alias, reviewed)


def load_champion(settings: Settings | None = None, alias: str = CHAMPION) -> DemandModel:
    """The :class:`DemandModel` of ``demand_forecast@alias`` (the champion), ready for ``forecast_at``."""
    return load_registered(alias, settings=settings).model


def logged_scores(run_id: str, *, settings: Settings | None = None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The backtest a training run logged: (levels x metrics, segments); None where it logged none."""
    client = connect(settings)
    names = {a.path for a in client.list_artifacts(run_id)}
    out = []
    for name in ("metrics.csv", SEGMENTS_FILE):
        out.append(pd.read_csv(client.download_artifacts(run_id, name, tempfile.mkdtemp())) if name in names else None)
    return out[0], out[1]


__all__ = [
    "MODEL_NAME", "model_name", "EXPERIMENT", "Recipe", "DemandForecastModel", "RegisteredForecast", "ChampionMissing",
    "log_model_run", "load_registered", "load_champion", "unwrap", "recipe_of", "training_window",
    "model_input", "example_rows", "importance_of", "logged_scores",
]
