"""Tune the demand model with Optuna: rolling-origin CV, pruning, a stored study, a reproducible best trial.

:func:`tune` searches LightGBM parameters and the training plan of
:func:`workbench.forecasting.forecast.fit_at`; :func:`load_study` reopens a
stored search. Both give a :class:`TuningResult` whose ``reproduce()`` refits
the best trial and returns its value again.

**Cross-validation.** ``n_windows`` back-to-back windows of ``horizon`` days
whose last one ends on ``as_of`` (:func:`backtest.window_origins`). Each trial
trains at every window origin on data up to that origin only (the training
frame's targets stop there, as in ``fit_at``), forecasts the window with
:func:`forecast.forecast_at` and scores it with :meth:`backtest.WindowData.score`.
What scoring needs (:class:`~workbench.forecasting.backtest.WindowData`) is
loaded once per process and window and reused by every trial (and by
``reproduce``). The windows run oldest first.

**Objective.** WRMSSE at ``sku_store`` (lower is better), averaged over the
windows. ``sku_store`` is the grain the forecast is used at (allocation and
replenishment work per size and store), so that is what the search improves;
the size split does not depend on the tuned parameters, so the SKC levels rank
trials almost the same way. ``levels=("sku_store", "skc_store")`` averages
both instead.

**Pruning.** After each window the trial reports the running mean of its
window scores (``trial.report(mean, step)``) and stops when the pruner says
so. The default is ``MedianPruner(n_startup_trials=5, n_warmup_steps=0)``:

- every trial scores the *same* windows in the same order, so the running
  mean at step ``k`` is comparable across trials (window difficulty cancels);
  the median of the finished trials at that step is a fair bar;
- ``n_warmup_steps=0``: with three steps, pruning after the first window is
  where the saving is (two thirds of a trial); waiting a step would save one
  third at most;
- ``n_startup_trials=5``: no pruning until five trials (the default
  parameters and four of TPE's random start-up trials) have finished, so the
  bar is not one lucky trial;
- it is lenient by construction (Optuna compares a trial's *best* running
  mean so far), which suits a noisy one-window reading;
- not SuccessiveHalving / Hyperband: their rungs are geometric in a resource
  (``min_resource · η^k``); with three steps they degenerate to "keep the best
  third after the first window", too aggressive for one month's score. Not
  Wilcoxon: a signed-rank test over three windows can never reach p < 0.1.

**Search space** (:data:`SEARCH_SPACE`, fixed; ``search_space=`` overrides
entries, and a plain value instead of a distribution fixes a parameter)::

    learning_rate           0.03 .. 0.2    log      default 0.08
    num_leaves              15 .. 127      log      default 63
    min_data_in_leaf        20 .. 400      log      default 100
    feature_fraction        0.5 .. 1.0              default 0.8
    lambda_l2               0.01 .. 30     log      default 1.0
    tweedie_variance_power  1.05 .. 1.6             default 1.2
    num_boost_round         100 .. 300     step 50  default 250
    n_origins (plan)        12 .. 52       step 8   default 52 (fewer where the history is shorter)
    sample_every (plan)     4 .. 8         step 2   default 4

The default training plan is the most data the space allows (a trial's cost
grows with its training rows: ``n_origins + 3`` weekly origins, one horizon in
``sample_every``): the search asks whether less history does as well, and a
trial never costs much more than the default one. The default parameters
(``model.DEFAULT_PARAMS`` and ``TrainingPlan()``) are enqueued as the first
trial (again on resuming, should it have failed or been stopped), so a search
never ends worse than the default on these windows.
``TPESampler(seed=seed)`` proposes the rest.

**Storage.** An Optuna RDB storage in SQLite, ``<models_dir>/optuna.db``
(``Settings.models_dir``, ``WB_MODELS_DIR``), next to the MLflow store; the
study is named ``demand_forecast-<as_of>`` unless ``study_name`` is given and
is resumed when it exists (``load_if_exists=True``), after checking that it
was made for the same windows, objective, user and search space. The study
keeps as user attributes: model, as-of date, windows, horizon, objective,
data scope (user, role, engine, warehouse, sales range, stores seen), git
commit, search space, fixed parameters, baseline, seed and versions. Each
trial keeps its per-window scores (``window_scores``: origin -> score, also
for pruned trials), its seconds and the git commit it ran at.

**Time budget.** ``timeout_s`` goes to ``study.optimize(timeout=...)``: Optuna
starts no trial after the budget is spent but lets a running one finish, so
the search can overrun by up to one trial. Progress is Optuna's progress bar
(trials done of ``n_trials``, elapsed and ETA; elapsed of ``timeout_s`` when
only a time budget is given).

**Reproducibility.** LightGBM here is deterministic (``model.FIXED_PARAMS``:
fixed seed, ``deterministic=True``) *given the rows in the same order*, but
``features.load_frame`` returns rows in whatever order the engine produced
them, and bagging, binning and histogram sums depend on it: two ``fit_at``
calls on the tiny chain scored sku_store WRMSSE 0.798 and 0.817. So trials
train on the training frame sorted by ``features.KEYS`` (:func:`fit_sorted`,
``fit_at`` otherwise unchanged), and ``reproduce()`` gives the stored value
back to the last bit.

**MLflow.** When ``log_to_mlflow`` and a tracking server for the store is
running (or ``WB_MLFLOW_URI`` is set), a run in the experiment
``demand_forecast-tuning`` records the study (best parameters, plan, value,
per-window scores, trial counts, storage and study name). With no server this
is skipped silently; any other MLflow failure is a warning, since the study
itself is already stored.

**Cost** (measured 2026-11 on the two-core machine while other jobs ran,
load average 4 to 7). One trial with the default parameters on the demo chain
(97 stores, ``as_of`` 2025-12-03, 3 windows) took **856 s**: per window about
235 s to train (:func:`fit_sorted`: the 1.6 M-row training frame in ~30 s, then
the calibration fit and the refit), 40 to 45 s to forecast (``forecast_at``, 2 M
SKU rows with NB quantiles), 2.5 s to load the window (once per process) and a
few seconds to score; its sku_store WRMSSE was 0.702 (0.760, 0.684, 0.661 by
window). Training dominates and depends on the load: the same fit alone took
727 s under heavier load, since LightGBM's two threads (``model.FIXED_PARAMS``)
spin when the cores are busy. Plans with fewer origins or sparser sampling
cost less in proportion to their rows (the smallest, 4 origins and one horizon
in 8, has about a quarter of the default's), and a trial pruned after its
first window costs a third. Give a long search a ``timeout_s`` (20 trials are
some hours here); ``search_space={"refit": False}`` halves the training, at
the price of scoring the calibration model, which has not seen the last
``horizon`` days, instead of the refitted one that ``fit_at`` returns.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from workbench.config import Settings, project_root
from workbench.forecasting import backtest, features, forecast, model

MODEL_NAME = "demand_forecast"
EXPERIMENT = f"{MODEL_NAME}-tuning"  # the MLflow experiment of tuning runs
STORAGE_FILE = "optuna.db"
METRIC = "wrmsse"
LEVELS = ("sku_store",)
PLAN_KNOBS = ("n_origins", "sample_every", "refit")
# LightGBM parameters a search space may name besides model.DEFAULT_PARAMS (a typo must not be tuned silently).
EXTRA_LGB_PARAMS = ("lambda_l1", "max_depth", "min_gain_to_split", "min_sum_hessian_in_leaf", "feature_fraction_bynode")
WINDOW_CACHE = 6  # WindowData kept per process (the demo chain: ~150 MB each)

SEARCH_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.03, 0.2, log=True),
    "num_leaves": IntDistribution(15, 127, log=True),
    "min_data_in_leaf": IntDistribution(20, 400, log=True),
    "feature_fraction": FloatDistribution(0.5, 1.0),
    "lambda_l2": FloatDistribution(0.01, 30.0, log=True),
    "tweedie_variance_power": FloatDistribution(1.05, 1.6),
    "num_boost_round": IntDistribution(100, 300, step=50),
    "n_origins": IntDistribution(12, 52, step=8),
    "sample_every": IntDistribution(4, 8, step=2),
}


def default_pruner() -> optuna.pruners.BasePruner:
    """Median rule per window, from the first window on, once five trials have finished (see the module doc)."""
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def defaults() -> dict[str, Any]:
    """The values the first trial uses: ``model.DEFAULT_PARAMS`` and the default ``TrainingPlan``."""
    plan = forecast.TrainingPlan()
    return {**model.DEFAULT_PARAMS, **{knob: getattr(plan, knob) for knob in PLAN_KNOBS}}


def storage_url(settings: Settings) -> str:
    """``sqlite:///<models_dir>/optuna.db``: the studies live with the model store."""
    return f"sqlite:///{settings.models_dir / STORAGE_FILE}"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The RDB storage at ``url``; for SQLite the folder is created and writers wait for the lock."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.storages.RDBStorage(url)


def git_commit() -> str | None:
    """The checkout's commit (``-dirty`` when tracked files have changed); None outside a git checkout."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(project_root()), *args], capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


# ---------------------------------------------------------------- training and scoring one window


def fit_sorted(session, as_of: dt.date, params: Mapping[str, Any] | None = None,
               plan: forecast.TrainingPlan = forecast.TrainingPlan(), horizon: int = forecast.HORIZON) -> model.DemandModel:
    """:func:`forecast.fit_at` without its as-of check (:func:`tune` checks all of its windows up front)."""
    frame = features.load_frame(session, forecast.training_spec(session, as_of, plan, horizon))
    return model.train(frame, as_of - dt.timedelta(days=horizon - 1), dict(params or {}), trained_until=as_of,
                       refit=plan.refit)


def objective_value(scores, levels: Sequence[str] = LEVELS) -> float:
    """The mean WRMSSE over ``levels`` of a ``WindowData.score`` table."""
    rows = scores[(scores["metric"] == METRIC) & scores["level"].isin(list(levels))]
    value = float(rows["value"].mean()) if len(rows) == len(levels) else math.nan
    if not math.isfinite(value):
        raise ValueError(f"no finite {METRIC} at level(s) {list(levels)} in this window: every series lacks a scale")
    return value


_WINDOWS: OrderedDict[tuple, backtest.WindowData] = OrderedDict()


def _scope_key(session) -> tuple:
    settings = session.settings
    return settings.engine, str(settings.warehouse), session.user.name


def cached_window(session, origin: dt.date, horizon: int) -> backtest.WindowData:
    """``backtest.load_window``, loaded once per process for a user, warehouse, origin and horizon."""
    key = (*_scope_key(session), origin, horizon)
    if key in _WINDOWS:
        _WINDOWS.move_to_end(key)
        return _WINDOWS[key]
    loaded = backtest.load_window(session, origin, horizon)
    _WINDOWS[key] = loaded
    while len(_WINDOWS) > WINDOW_CACHE:
        _WINDOWS.popitem(last=False)
    return loaded


def score_window(session, origin: dt.date, params: Mapping[str, Any], plan: forecast.TrainingPlan,
                 horizon: int = forecast.HORIZON, levels: Sequence[str] = LEVELS) -> float:
    """Train at ``origin`` (data up to it only), forecast the next ``horizon`` days, score them."""
    fitted = fit_sorted(session, origin, params, plan, horizon)
    predicted = forecast.forecast_at(session, fitted, origin, horizon)
    return objective_value(cached_window(session, origin, horizon).score(predicted), levels)


# ---------------------------------------------------------------- search space


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], forecast.TrainingPlan]:
    """Trial values -> (LightGBM parameters over ``model.DEFAULT_PARAMS``, training plan over the default plan)."""
    knobs = {k: v for k, v in values.items() if k in PLAN_KNOBS}
    params = {**model.DEFAULT_PARAMS, **{k: v for k, v in values.items() if k not in PLAN_KNOBS}}
    return params, forecast.TrainingPlan(**knobs)


def resolve_space(search_space: Mapping[str, Any] | None) -> tuple[dict[str, BaseDistribution], dict[str, Any]]:
    """(tuned distributions, fixed values): :data:`SEARCH_SPACE` with ``search_space`` laid over it."""
    merged = {**SEARCH_SPACE, **dict(search_space or {})}
    allowed = set(model.DEFAULT_PARAMS) | set(PLAN_KNOBS) | set(EXTRA_LGB_PARAMS)
    unknown = sorted(set(merged) - allowed)
    if unknown:
        frozen = sorted(set(unknown) & set(model.FIXED_PARAMS))
        why = f"{frozen} are fixed by model.FIXED_PARAMS" if frozen else f"choose from {sorted(allowed)}"
        raise ValueError(f"search space names unknown parameter(s) {unknown}: {why}")
    tuned = {k: v for k, v in merged.items() if isinstance(v, BaseDistribution)}
    fixed = {k: v for k, v in merged.items() if not isinstance(v, BaseDistribution)}
    return tuned, fixed


def _largest(value: Any) -> Any:
    if isinstance(value, (FloatDistribution, IntDistribution)):
        return value.high
    if isinstance(value, CategoricalDistribution):
        return max(value.choices)
    return value


def longest_plan(tuned: Mapping[str, BaseDistribution], fixed: Mapping[str, Any]) -> forecast.TrainingPlan:
    """A plan with the most training origins the space allows: what the oldest window must support."""
    most = _largest({**tuned, **fixed}.get("n_origins", forecast.TrainingPlan().n_origins))
    return forecast.TrainingPlan(n_origins=int(most))


def baseline(tuned: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """The default values of the tuned parameters, each inside its distribution, typed as it samples."""
    values = {}
    for name, dist in tuned.items():
        value = defaults().get(name)
        if value is None:
            raise ValueError(f"{name} has no default to start from: fix it or leave it out of the search space")
        if isinstance(dist, FloatDistribution):
            value = float(value)
        elif isinstance(dist, IntDistribution):
            value = int(value)
        if not dist._contains(dist.to_internal_repr(value)):
            raise ValueError(f"the search space of {name} ({dist}) excludes its default {value!r}; the first trial "
                             f"runs the defaults, so widen the range or fix {name}")
        values[name] = value
    return values


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    raise ValueError(f"{name}: unsupported distribution {dist!r}")


def describe_space(tuned: Mapping[str, BaseDistribution]) -> dict[str, str]:
    return {name: optuna.distributions.distribution_to_json(dist) for name, dist in sorted(tuned.items())}


# ---------------------------------------------------------------- the result


@dataclass
class TuningResult:
    """A search's outcome, as stored: the best trial and how to check it (``reproduce``)."""

    study_name: str
    storage: str
    as_of: dt.date
    horizon: int
    windows: list[dt.date]
    levels: tuple[str, ...]
    best_trial: int  # the trial's number in the study
    best_value: float
    best_params: dict[str, Any]  # every LightGBM parameter the best trial trained with
    best_plan: forecast.TrainingPlan
    window_scores: dict[dt.date, float]  # the best trial's score per window origin
    n_complete: int
    n_pruned: int
    n_failed: int
    user: str
    settings: Settings | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None

    def study(self) -> optuna.Study:
        """The stored Optuna study (a fresh object over the storage)."""
        return optuna.load_study(study_name=self.study_name, storage=open_storage(self.storage))

    def reproduce(self, session=None) -> float:
        """Refit the best trial on the same windows; its value (equal to ``best_value`` when the data is unchanged).

        Without ``session`` opens a read-only one for the user and settings the
        study was made with.
        """
        if session is None:
            if self.settings is None:
                raise ValueError("no settings to open a session with: pass a session")
            import workbench as wb

            with wb.session(self.user, settings=self.settings, read_only=True) as opened:
                return self.reproduce(opened)
        scores = [score_window(session, o, self.best_params, self.best_plan, self.horizon, self.levels) for o in self.windows]
        return sum(scores) / len(scores)


def _result(study: optuna.Study, url: str, settings: Settings | None, mlflow_run_id: str | None = None) -> TuningResult:
    attrs = study.user_attrs
    states = [t.state for t in study.get_trials(deepcopy=False)]
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        raise ValueError(f"study {study.study_name!r} has no complete trial yet ({len(states)} trial(s) in all)")
    best = study.best_trial
    params, plan = split_values({**attrs["fixed"], **best.params})
    return TuningResult(
        study_name=study.study_name, storage=url, as_of=dt.date.fromisoformat(attrs["as_of"]), horizon=attrs["horizon"],
        windows=[dt.date.fromisoformat(o) for o in attrs["windows"]], levels=tuple(attrs["levels"]),
        best_trial=best.number, best_value=float(best.value), best_params=params, best_plan=plan,
        window_scores={dt.date.fromisoformat(o): v for o, v in best.user_attrs["window_scores"].items()},
        n_complete=len(done), n_pruned=states.count(TrialState.PRUNED),
        n_failed=states.count(TrialState.FAIL), user=attrs["scope"]["user"], settings=settings,
        scope=dict(attrs["scope"]), mlflow_run_id=mlflow_run_id,
    )


def load_study(settings: Settings, study_name: str, storage: str | None = None) -> TuningResult:
    """A stored search and its best trial (``storage`` defaults to the one under ``settings.models_dir``)."""
    url = storage or storage_url(settings)
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    except KeyError:
        names = optuna.get_all_study_names(storage=open_storage(url))
        raise ValueError(f"no study {study_name!r} in {url} (it holds {names})") from None
    return _result(study, url, settings)


# ---------------------------------------------------------------- the search


def _scope(session) -> dict[str, Any]:
    first, last = forecast.data_range(session)
    stores = session.table("core.stores").count().to_pyarrow().as_py()
    return {
        "user": session.user.name, "role": session.role.name, "engine": session.settings.engine,
        "warehouse": str(session.settings.warehouse), "sales_from": first.isoformat(), "sales_to": last.isoformat(),
        "stores": int(stores),
    }


def _check_inputs(session, as_of: dt.date, n_windows: int, horizon: int, n_trials: int | None,
                  timeout_s: float | None, plan: forecast.TrainingPlan) -> list[dt.date]:
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1 (got {n_windows})")
    if horizon < 7:
        raise ValueError(f"horizon must be at least 7 days (got {horizon})")
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be at least 1 or None (got {n_trials})")
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive or None (got {timeout_s})")
    if n_trials is None and timeout_s is None:
        raise ValueError("give n_trials, timeout_s or both: without either the search never ends")
    first, last = forecast.data_range(session)
    if as_of > last:
        raise ValueError(f"as-of date {as_of} is after the last sale day {last}: the last window would score days "
                         f"with no data; choose an as-of date up to {last}")
    origins = backtest.window_origins(as_of, n_windows, horizon)
    try:
        forecast.check_as_of(session, origins[0], plan, horizon)
    except ValueError as err:
        need = features.LOOKBACK + 7 * plan.n_origins + horizon + horizon * n_windows
        raise ValueError(
            f"cannot tune at {as_of} with {n_windows} window(s) of {horizon} days: the oldest window starts at "
            f"{origins[0]}, and training there with up to {plan.n_origins} origins needs {need} days of sales "
            f"before {as_of} (sales run {first}..{last}); use fewer windows, a smaller n_origins or an as-of date from "
            f"{first + dt.timedelta(days=need)} ({err})"
        ) from None
    return origins


def enqueue_once(study: optuna.Study, params: Mapping[str, Any], role: str) -> None:
    """Enqueue ``params`` unless a trial with them is complete, pruned or waiting (a failed or killed one runs again)."""
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING)
    for trial in study.get_trials(deepcopy=False, states=states):
        if dict(params) in (trial.params, trial.system_attrs.get("fixed_params")):
            return
    study.enqueue_trial(dict(params), user_attrs={"role": role})


def _check_same_setup(study: optuna.Study, setup: Mapping[str, Any]) -> None:
    stored = study.user_attrs
    if not stored:
        return
    differ = [k for k, v in setup.items() if stored.get(k) != v]
    if differ:
        raise ValueError(
            f"study {study.study_name!r} exists with another set-up ({', '.join(differ)} differ: stored "
            f"{ {k: stored.get(k) for k in differ} }); resume it with the same arguments or pass another study_name"
        )


def tune(
    session,
    *,
    as_of: dt.date | str,
    n_trials: int | None = 20,
    timeout_s: float | None = None,
    n_windows: int = 3,
    horizon: int = forecast.HORIZON,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    search_space: Mapping[str, Any] | None = None,
    levels: Sequence[str] = LEVELS,
    pruner: optuna.pruners.BasePruner | None = None,
    enqueue: Sequence[Mapping[str, Any]] = (),
    progress: bool = True,
    log_to_mlflow: bool = True,
) -> TuningResult:
    """Search LightGBM parameters and the training plan on rolling-origin windows ending at ``as_of``.

    ``n_trials`` and ``timeout_s`` bound this call (a resumed study keeps its
    earlier trials); ``storage`` is an Optuna RDB URL (default
    :func:`storage_url`); ``search_space`` overrides entries of
    :data:`SEARCH_SPACE` (a plain value fixes a parameter); ``levels`` are the
    WRMSSE levels averaged into the objective; ``pruner`` replaces
    :func:`default_pruner`; ``enqueue`` adds trials to run right after the
    default one (e.g. last month's best). Raises ValueError for arguments or
    an as-of date the data cannot support, before any training.
    """
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    levels = tuple(levels)
    tuned, fixed = resolve_space(search_space)
    origins = _check_inputs(session, as_of, n_windows, horizon, n_trials, timeout_s, longest_plan(tuned, fixed))
    start = baseline(tuned)
    stray = sorted({k for extra in enqueue for k in extra} - set(tuned))
    if stray:
        raise ValueError(f"enqueued trials name {stray}, which are not tuned here (tuned: {sorted(tuned)})")
    url = storage or storage_url(session.settings)
    name = study_name or f"{MODEL_NAME}-{as_of.isoformat()}"
    scope = _scope(session)
    setup = json.loads(json.dumps({  # as the storage gives it back (lists, not tuples)
        "model": MODEL_NAME, "as_of": as_of.isoformat(), "horizon": horizon,
        "windows": [o.isoformat() for o in origins], "metric": METRIC, "levels": list(levels),
        "search_space": describe_space(tuned), "fixed": fixed, "user": scope["user"],
    }))
    commit = git_commit()

    study = optuna.create_study(
        storage=open_storage(url), study_name=name, direction="minimize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner or default_pruner(),
    )
    _check_same_setup(study, setup)
    if not study.user_attrs:
        record = {**setup, "scope": scope, "git_commit": commit, "baseline": start, "seed": seed,
                  "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "versions": {"optuna": optuna.__version__, "lightgbm": lgb.__version__}}
        for key, value in record.items():
            study.set_user_attr(key, value)
    enqueue_once(study, start, "default parameters")
    for extra in enqueue:
        enqueue_once(study, dict(extra), "enqueued")

    def objective(trial: optuna.Trial) -> float:
        began = time.monotonic()
        values = {k: _suggest(trial, k, dist) for k, dist in tuned.items()}
        params, plan = split_values({**fixed, **values})
        trial.set_user_attr("git_commit", commit)
        scores: dict[str, float] = {}
        for step, origin in enumerate(origins):
            scores[origin.isoformat()] = score_window(session, origin, params, plan, horizon, levels)
            running = sum(scores.values()) / len(scores)
            trial.set_user_attr("window_scores", dict(scores))
            trial.set_user_attr("seconds", round(time.monotonic() - began, 1))
            trial.report(running, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"running mean {running:.4f} after {step + 1} of {len(origins)} windows")
        return running

    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, catch=(lgb.basic.LightGBMError,),
                   show_progress_bar=progress)
    result = _result(study, url, session.settings)
    if log_to_mlflow:
        result.mlflow_run_id = _log_to_mlflow(result, session.settings)
    return result


def _log_to_mlflow(result: TuningResult, settings: Settings) -> str | None:
    """A run in :data:`EXPERIMENT` with the study's summary; None (silently) when no server runs."""
    try:
        from workbench.tracking import registry, server
    except ImportError:  # tracking is optional here
        return None
    try:
        server.tracking_uri(settings)
    except server.ServerNotRunning:
        return None
    try:
        from mlflow.entities import Metric, Param, RunTag

        client = registry.connect(settings)
        run = client.create_run(registry.experiment_id(client, EXPERIMENT), run_name=result.study_name)
        now = int(time.time() * 1000)
        values = {**result.best_params, **{f"plan.{k}": getattr(result.best_plan, k) for k in PLAN_KNOBS}}
        metrics = {f"{METRIC}.best": result.best_value, "trials.complete": result.n_complete,
                   "trials.pruned": result.n_pruned, "trials.failed": result.n_failed}
        metrics.update({f"{METRIC}.window.{o.isoformat()}": v for o, v in result.window_scores.items()})
        tags = {"study_name": result.study_name, "storage": result.storage, "as_of": result.as_of.isoformat(),
                "levels": ",".join(result.levels), "best_trial": str(result.best_trial), "user": result.user}
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)) for k, v in values.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        client.set_terminated(run.info.run_id)
        return run.info.run_id
    except Exception as err:  # the study is stored already; losing the summary run is not worth the result
        warnings.warn(f"the study {result.study_name} is stored, but logging it to MLflow failed: {err}", stacklevel=3)
        return None
