"""Train and score runs of the demand forecast: what ``wb forecast`` and ``notebooks/forecast.ipynb`` do.

- :func:`train`: check the as-of date, fit the recipe on the data up to it,
  backtest its calibration model (the same recipe before its refit, trained
  up to 28 days before the as-of date) on those 28 days, log everything to
  MLflow and register the model as ``demand_forecast``'s *challenger*.
- :func:`score`: load the *champion* (or a given version), forecast the 28
  days after the as-of date, write ``marts.forecast`` for that date.

Both check everything that can be checked cheaply before the expensive part,
in this order: the as-of date against the data the user can see (an empty
scope fails here), the write grant, the MLflow server and the champion. A
run that fails writes nothing (DESIGN invariant 7) and a scoring run
replaces the previous rows of its as-of date in one transaction (invariant 5).

Only a champion's forecast is written to ``marts.forecast``: a freshly
trained challenger has not passed the review gate (invariant 6), so a train
run forecasts with it for inspection only.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workbench.config import Settings, load_settings
from workbench.dates import parse_day
from workbench.forecasting import features, output
from workbench.forecasting.forecast import HORIZON, TrainingPlan, check_as_of, data_range, fit_with_holdout, forecast_at
from workbench.forecasting.model import DemandModel

PIPELINE_USER = "u_pipeline"
MODES = ("train", "score")
Progress = Callable[[str], None]


def _step(progress: Progress | None, label: str) -> None:
    if progress is not None:
        progress(label)


# ---------------------------------------------------------------- scope and sessions


@dataclass
class RunScope:
    """Whose data a run reads and which stores it writes: a user, or store codes read as the pipeline."""

    user: str
    store_codes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, scope: str | Sequence[str] | None, settings: Settings | None = None) -> "RunScope":
        """``"u_pipeline"`` (a configured user), ``"S001,S002"`` or ``["S001", "S002"]`` (stores, as the pipeline)."""
        from workbench.governance.policies import load_access

        if scope is None or (isinstance(scope, str) and not scope.strip()):
            return cls(PIPELINE_USER)
        users = load_access((settings or load_settings()).access_file).users
        if isinstance(scope, str) and scope.strip() in users:
            return cls(scope.strip())
        codes = [c.strip() for c in (scope.split(",") if isinstance(scope, str) else scope) if str(c).strip()]
        return cls(PIPELINE_USER, tuple(dict.fromkeys(codes)))


def open_session(scope: RunScope, *, settings: Settings | None = None, run_id: str | None = None,
                 write: bool = False, entry_point: str = "python"):
    """A governed session for the scope's user (scope warnings become plain ``warnings``)."""
    from workbench.governance.session import session

    return session(scope.user, settings=settings, read_only=not write, run_id=run_id, entry_point=entry_point)


def store_ids(session, codes: Iterable[str]) -> list[int]:
    """Store ids of ``codes`` the session can see; unknown codes are an error naming the known ones."""
    codes = list(codes)
    stores = session.table("core.stores").select("store_id", "store_code").to_pandas()
    unknown = sorted(set(codes) - set(stores["store_code"]))
    if unknown:
        known = ", ".join(sorted(stores["store_code"])[:12])
        raise ValueError(f"scope {', '.join(unknown)} is neither a configured user (see `wb users`) nor a store code "
                         f"of this warehouse ({known} ...)")
    return stores.loc[stores["store_code"].isin(codes), "store_id"].astype(int).tolist()


def check_score_as_of(session, as_of: dt.date) -> None:
    """A forecast needs ``features.LOOKBACK`` days of history before ``as_of`` and ``as_of`` in the data."""
    first, last = data_range(session)  # an empty scope fails here, saying so
    earliest = first + dt.timedelta(days=features.LOOKBACK - 1)
    if not earliest <= as_of <= last:
        raise ValueError(
            f"as-of date {as_of} is outside what the data supports: sales run {first}..{last} and a forecast "
            f"needs {features.LOOKBACK} days of history, so choose an as-of date between {earliest} and {last}"
        )


# ---------------------------------------------------------------- training


@dataclass
class TrainResult:
    """A trained model, its backtest on the window before the as-of date, and its registered version."""

    model: DemandModel
    as_of: dt.date
    recipe: Any  # registry.Recipe
    version: int | None = None
    metrics: pd.DataFrame | None = None  # levels x metrics of the backtest window
    segments: pd.DataFrame | None = None  # brand and region rows of the backtest window
    backtest_origin: dt.date | None = None
    notes: list[str] = field(default_factory=list)


def tuned(session, as_of: dt.date, n_trials: int, *, plan: TrainingPlan = TrainingPlan(),
          horizon: int = HORIZON) -> tuple[dict | None, TrainingPlan]:
    """LightGBM parameters and training plan from ``workbench.forecasting.tuning.tune`` when ``n_trials > 0``.

    ``(None, plan)`` without trials. The search runs on the windows ending at
    ``as_of`` (so on data the model may see) and is stored (see ``tuning``); a
    checkout without the tuning module gets a clear error, not an untuned run.
    """
    if not n_trials or n_trials <= 0:
        return None, plan
    try:
        from workbench.forecasting.tuning import tune
    except ModuleNotFoundError as err:
        if err.name != "workbench.forecasting.tuning":
            raise
        raise RuntimeError(
            f"n_trials = {n_trials} asks for Optuna tuning, but workbench.forecasting.tuning is not in this checkout; "
            "set n_trials = 0 to train with the default parameters"
        ) from None
    result = tune(session, as_of=as_of, n_trials=n_trials, horizon=horizon)
    return dict(result.best_params), result.best_plan


def example_frame(session, as_of: dt.date, horizon: int = HORIZON) -> pd.DataFrame:
    """A few feature rows at ``as_of`` (the model's input example); rows a horizon earlier if none are ranged."""
    for origin in (as_of, as_of - dt.timedelta(days=horizon)):
        frame = features.load_frame(session, features.FrameSpec(origins=(origin,), horizon=1))
        if len(frame):
            return frame
    raise ValueError(f"nothing ranged around {as_of} in this scope: no series to forecast")


def backtest_holdout(session, holdout: DemandModel, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    """The calibration model (trained up to ``as_of - horizon``) scored on the ``horizon`` days after that.

    It is the recipe without its final refit, so the backtest costs a forecast, not two more fits
    (the review gate, ``wb models review``, refits whole recipes).
    """
    from workbench.forecasting.review import score_model

    origin = holdout.trained_until
    levels, segments = score_model(session, holdout, origin, horizon)
    return levels, segments, origin


def train(session, as_of: Any, *, params: dict | None = None, plan: TrainingPlan = TrainingPlan(),
          horizon: int = HORIZON, backtest: bool = True, register: bool = True, settings: Settings | None = None,
          progress: Progress | None = None) -> TrainResult:
    """Fit at ``as_of``, backtest its calibration model on the window before it, log and register the challenger.

    The backtest's point metrics are out of sample; its interval coverage is
    not quite, since the dispersion was fitted on the same 28 days (the review
    gate measures it out of sample). ``register=False`` trains without MLflow.
    """
    from workbench.forecasting.registry import Recipe, log_model_run, training_window

    as_of = parse_day(as_of)
    check_as_of(session, as_of, plan, horizon)  # says which dates work; an empty scope fails here
    if register:
        from workbench.tracking.registry import connect

        connect(settings)  # no server: fail now, not after the training
    _step(progress, f"training at {as_of}")
    fitted, holdout = fit_with_holdout(session, as_of, params, plan, horizon)
    result = TrainResult(fitted, as_of, Recipe(dict(fitted.params), plan, horizon))
    if backtest:
        _step(progress, f"backtesting the model trained up to {holdout.trained_until} on the days after it")
        try:
            result.metrics, result.segments, result.backtest_origin = backtest_holdout(session, holdout, horizon)
        except ValueError as err:
            result.notes.append(f"no backtest: {err}")
    if register:
        from workbench.forecasting.plots import accuracy_by_level

        _step(progress, "logging to MLflow")
        window = {"backtest_origin": result.backtest_origin} if result.backtest_origin else {}
        result.version = log_model_run(
            fitted, as_of=as_of, scope=session.user.name, input_example=example_frame(session, as_of, horizon),
            data_window=training_window(session, as_of, plan, horizon), plan=plan, horizon=horizon,
            metrics=result.metrics, segments=result.segments,
            backtest_figure=accuracy_by_level(result.metrics) if result.metrics is not None else None,
            params=window, settings=settings,
        )
    return result


# ---------------------------------------------------------------- scoring


@dataclass
class ScoreResult:
    """A forecast, the version that made it, and what was written."""

    forecast: pd.DataFrame
    as_of: dt.date
    version: int | None
    rows: int = 0
    run_id: str | None = None
    written: bool = False
    pending: bool = False  # checked, to be written by ``write`` (last, see ``forecast``)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.written:
            head = (f"wrote {self.rows} rows to {output.TABLE} for as-of {self.as_of} (model version {self.version}, "
                    f"run {self.run_id})")
        elif self.pending:
            head = (f"forecast of {len(self.forecast)} rows by model version {self.version}; "
                    f"written to {output.TABLE} at the end of the run")
        else:
            head = f"forecast of {len(self.forecast)} rows, not written"
        return "\n".join([head, *self.notes])


def score(session, as_of: Any, *, alias: str = "champion", version: int | None = None,
          model: DemandModel | None = None, horizon: int = HORIZON, stores: Sequence[int] | None = None,
          write: bool = True, settings: Settings | None = None, progress: Progress | None = None) -> ScoreResult:
    """Forecast the ``horizon`` days after ``as_of`` with the champion (or ``version`` / ``model``); write it.

    ``stores`` (ids) keeps those stores' rows and replaces only theirs.
    ``marts.forecast`` holds forecasts of reviewed versions only: a loaded
    version that never passed the gate (``alias="challenger"``) is refused
    before any work; a given ``model`` is written only with the ``version``
    it was loaded as (the caller vouches for it).
    """
    as_of = parse_day(as_of)
    check_score_as_of(session, as_of)
    if write:
        output.require_write(session)
    notes = []
    if model is None:
        from workbench.forecasting.registry import load_registered

        _step(progress, f"loading the forecast model {'version ' + str(version) if version else '@' + alias}")
        registered = load_registered(alias, version=version, settings=settings)
        if write and not registered.reviewed:
            raise unreviewed(registered.version)
        model, version = registered.model, registered.version
    if model.trained_until and model.trained_until > as_of:
        notes.append(f"the model was trained on data up to {model.trained_until}, after the as-of date {as_of}: "
                     "its forecast of these days is not a fair test of it")
    _step(progress, f"forecasting {horizon} days after {as_of}")
    forecast = forecast_at(session, model, as_of, horizon)
    if stores is not None:
        forecast = forecast[forecast["store_id"].isin(list(stores))].reset_index(drop=True)
        if forecast.empty:
            raise ValueError(f"nothing ranged in the {horizon} days after {as_of} at the chosen stores: no series to forecast")
    result = ScoreResult(forecast, as_of, version, run_id=session.run_id, notes=notes)
    if write and version is not None:
        _step(progress, f"writing {output.TABLE}")
        result.rows = output.write_forecast(session, forecast, as_of, version, stores=stores)
        result.written = True
    elif write:
        notes.append(f"not written to {output.TABLE}: only registered, reviewed versions write it")
    return result


def unreviewed(version: int) -> PermissionError:
    from workbench.forecasting.registry import model_name

    name = model_name()
    return PermissionError(
        f"{name} version {version} has not passed the review gate, so it may not write {output.TABLE}: "
        f"review it with `wb models review {name}`, or score with the champion (--alias champion)"
    )


# ---------------------------------------------------------------- the notebook's steps


@dataclass
class ForecastRun:
    """One notebook run: its scope, session and as-of date (close it at the end)."""

    scope: RunScope
    session: Any
    as_of: dt.date
    horizon: int
    stores: list[int] | None
    settings: Settings
    mode: str = "train"

    def describe(self) -> str:
        stores = f", stores {', '.join(self.scope.store_codes)}" if self.scope.store_codes else ""
        return (f"as of {self.as_of}, {self.horizon} days ahead; reading as {self.scope.user} "
                f"({self.session.scope.describe()}){stores}; run id {self.session.run_id}; "
                f"warehouse {self.settings.warehouse}")

    def close(self) -> None:
        self.session.close()


def start(as_of: Any, scope: str | Sequence[str] | None = PIPELINE_USER, *, mode: str = "train",
          horizon: int = HORIZON, run_id: str | None = None, settings: Settings | None = None) -> ForecastRun:
    """Open the run's session and resolve its scope.

    The session is read-write only for a score run of a user who may write
    ``marts.forecast``: DuckDB lets one process hold the file for writing, so
    a train run (which writes nothing) does not keep other writers out.
    """
    from workbench.governance.policies import load_access

    if mode not in MODES:
        raise ValueError(f"mode must be 'train' or 'score', not {mode!r}")
    settings = settings or load_settings()
    chosen = RunScope.parse(scope, settings)
    access = load_access(settings.access_file)
    writes = mode == "score" and access.can_write(access.role_of(access.user(chosen.user)), output.TABLE)
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        session = open_session(chosen, settings=settings, run_id=run_id, write=writes, entry_point="pipeline")
    try:
        ids = store_ids(session, chosen.store_codes) if chosen.store_codes else None
    except Exception:
        session.close()
        raise
    return ForecastRun(chosen, session, parse_day(as_of), horizon, ids, settings, mode)


@dataclass
class Prepared:
    """The model a notebook run scores with, and the backtest to show for it."""

    mode: str
    model: DemandModel
    version: int | None
    metrics: pd.DataFrame | None
    segments: pd.DataFrame | None
    notes: list[str]
    reviewed: bool = False

    def describe(self) -> str:
        return "\n".join(self.notes)


def prepare(run: ForecastRun, *, n_trials: int = 0, n_origins: int | None = None, alias: str = "champion",
            progress: Progress | None = print) -> Prepared:
    """Train mode: train, backtest and register a challenger; score mode: load the champion and its backtest."""
    from workbench.forecasting.registry import load_registered, logged_scores, model_name

    mode = run.mode
    if mode == "train":
        plan = TrainingPlan(n_origins=n_origins) if n_origins else TrainingPlan()
        params, plan = tuned(run.session, run.as_of, n_trials, plan=plan, horizon=run.horizon)
        trained = train(run.session, run.as_of, params=params, plan=plan, horizon=run.horizon,
                        settings=run.settings, progress=progress)
        name = model_name()
        notes = trained.notes + [f"registered {name} version {trained.version} as the challenger: "
                                 f"review it with `wb models review {name}`"]
        return Prepared(mode, trained.model, trained.version, trained.metrics, trained.segments, notes)
    check_score_as_of(run.session, run.as_of)
    registered = load_registered(alias, settings=run.settings)
    metrics, segments = logged_scores(registered.run_id, settings=run.settings)
    return Prepared(mode, registered.model, registered.version, metrics, segments,
                    [f"scoring with {model_name()} version {registered.version} ({alias})"], registered.reviewed)


def forecast(run: ForecastRun, prepared: Prepared, progress: Progress | None = print) -> ScoreResult:
    """The forecast, not written yet: :func:`write` does that, in the notebook's last cell.

    Writing last means a cell that fails after the forecast (a chart, the
    report) leaves the previous outputs in place, as a failed pipeline step
    must. Score mode checks the review and the write grant first, before the
    expensive part.
    """
    if prepared.mode == "score":
        if not prepared.reviewed:
            raise unreviewed(prepared.version)
        output.require_write(run.session)
    result = score(run.session, run.as_of, model=prepared.model, horizon=run.horizon, stores=run.stores,
                   write=False, progress=progress)
    if prepared.mode == "score":
        result.version, result.pending = prepared.version, True
    return result


def write(run: ForecastRun, result: ScoreResult, progress: Progress | None = print) -> ScoreResult:
    """Score mode writes the champion's forecast to ``marts.forecast``; train mode says why it does not."""
    if run.mode == "score":
        _step(progress, f"writing {output.TABLE}")
        result.rows = output.write_forecast(run.session, result.forecast, run.as_of, result.version, stores=run.stores)
        result.written, result.pending = True, False
        return result
    from workbench.forecasting.registry import model_name

    result.notes.append(f"train mode: the challenger's forecast is shown, not written to {output.TABLE}; "
                        f"after `wb models review {model_name()}`, run with mode='score' to write it")
    return result


def forecast_and_write(run: ForecastRun, prepared: Prepared, progress: Progress | None = print) -> ScoreResult:
    """:func:`forecast` then :func:`write`, for a caller with nothing to do between them."""
    return write(run, forecast(run, prepared, progress), progress)
