"""Optuna tuning on the tiny chain: a stored study, the default trial first, pruning, the time budget, a reproducible best.

One search (three trials on two windows, a small training plan) serves most
tests; the tiny chain is too small to say anything about which parameters are
better, only that the machinery holds. A trial costs about 5 s a window here.
"""

from __future__ import annotations

import datetime as dt

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

import workbench as wb
from workbench.forecasting import model, tuning
from workbench.forecasting.forecast import TrainingPlan

AS_OF = dt.date(2025, 12, 3)  # the tiny chain's sales run 2025-01-01..2025-12-31
N_WINDOWS = 2
# A small plan keeps a trial short; min_data_in_leaf reaches past the tiny chain's rows,
# so that the deliberately bad trial (a single leaf: one constant forecast) lies in the space.
SPACE = {"n_origins": 4, "sample_every": 4, "min_data_in_leaf": IntDistribution(20, 100_000, log=True)}
BAD = {"min_data_in_leaf": 100_000}
STUDY = "demand_forecast-test"


@pytest.fixture(scope="module")
def settings(tiny_settings, tmp_path_factory):
    return tiny_settings.with_(models_dir=tmp_path_factory.mktemp("tuning-models"))


@pytest.fixture
def session(settings):
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        yield s


def run(session, **kwargs) -> tuning.TuningResult:
    options = dict(as_of=AS_OF, n_windows=N_WINDOWS, search_space=SPACE, study_name=STUDY, seed=0,
                   progress=False, log_to_mlflow=False)
    return tuning.tune(session, **{**options, **kwargs})


@pytest.fixture(scope="module")
def searched(settings):
    """Default trial, the bad trial (pruned after one window by a median rule from one finished trial), one TPE trial."""
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        return run(s, n_trials=3, enqueue=[BAD], pruner=optuna.pruners.MedianPruner(n_startup_trials=1))


def stored_study(settings) -> optuna.Study:
    """The study as a fresh process would see it: a new storage object over the SQLite file."""
    url = f"sqlite:///{settings.models_dir / 'optuna.db'}"
    assert STUDY in optuna.get_all_study_names(storage=url)
    return optuna.load_study(study_name=STUDY, storage=optuna.storages.RDBStorage(url))


def test_default_search_space_starts_from_the_default_parameters():
    tuned, fixed = tuning.resolve_space(None)
    assert fixed == {}
    start = tuning.baseline(tuned)
    plan = TrainingPlan()
    assert start == {**{k: model.DEFAULT_PARAMS[k] for k in start if k in model.DEFAULT_PARAMS},
                     "n_origins": plan.n_origins, "sample_every": plan.sample_every}
    assert set(start) >= {"learning_rate", "num_leaves", "min_data_in_leaf", "feature_fraction", "lambda_l2",
                          "tweedie_variance_power", "num_boost_round", "n_origins", "sample_every"}


def test_default_trial_is_enqueued_again_only_if_it_did_not_finish():
    study = optuna.create_study()
    start = {"x": 1}

    def take(state):
        trial = study.ask()
        trial.suggest_int("x", 0, 2)
        study.tell(trial, 1.0 if state == TrialState.COMPLETE else None, state=state)

    tuning.enqueue_once(study, start, "default parameters")
    tuning.enqueue_once(study, start, "default parameters")
    assert [t.state for t in study.trials] == [TrialState.WAITING]
    take(TrialState.FAIL)  # e.g. the process was stopped during the default trial
    tuning.enqueue_once(study, start, "default parameters")
    take(TrialState.COMPLETE)
    tuning.enqueue_once(study, start, "default parameters")
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert [t.params for t in study.trials] == [start, start]


@pytest.mark.slow
def test_study_is_stored_with_its_setup_and_window_scores(searched, settings):
    study = stored_study(settings)
    trials = study.get_trials()
    assert len(trials) == 3
    attrs = study.user_attrs
    assert attrs["as_of"] == "2025-12-03" and attrs["horizon"] == 28 and attrs["levels"] == ["sku_store"]
    assert attrs["windows"] == ["2025-10-08", "2025-11-05"]  # back to back, the last one ends on the as-of date
    assert attrs["scope"]["user"] == "u_pipeline" and attrs["scope"]["sales_to"] == "2025-12-31"
    assert "git_commit" in attrs and attrs["fixed"] == {"n_origins": 4, "sample_every": 4}
    for trial in trials:
        scores = trial.user_attrs["window_scores"]
        assert list(scores) == attrs["windows"][: len(scores)]
        if trial.state == TrialState.COMPLETE:
            assert trial.value == pytest.approx(sum(scores.values()) / len(scores), abs=1e-12)
    assert searched.storage.endswith("/optuna.db") and searched.study_name == STUDY


@pytest.mark.slow
def test_first_trial_is_the_default_parameters(searched, settings):
    first = stored_study(settings).trials[0]
    assert first.user_attrs["role"] == "default parameters"
    assert first.params == {k: v for k, v in model.DEFAULT_PARAMS.items() if k in first.params}
    assert set(first.params) == set(tuning.SEARCH_SPACE) - {"n_origins", "sample_every"}


@pytest.mark.slow
def test_bad_trial_is_pruned_after_one_window(searched, settings):
    bad = stored_study(settings).trials[1]
    assert bad.params["min_data_in_leaf"] == BAD["min_data_in_leaf"]
    assert bad.state == TrialState.PRUNED
    assert len(bad.user_attrs["window_scores"]) == 1 and list(bad.intermediate_values) == [0]
    assert searched.n_pruned >= 1 and searched.n_complete + searched.n_pruned == 3


@pytest.mark.slow
def test_best_trial_is_reproducible_from_the_stored_study(searched, settings):
    loaded = tuning.load_study(settings, STUDY)
    assert loaded.best_trial == searched.best_trial and loaded.best_value == searched.best_value
    assert loaded.best_plan == TrainingPlan(n_origins=4, sample_every=4)
    assert loaded.reproduce() == pytest.approx(searched.best_value, abs=1e-9)


@pytest.mark.slow
def test_time_budget_stops_the_search_and_the_study_resumes(searched, session, settings):
    before = len(stored_study(settings).trials)
    again = run(session, n_trials=50, timeout_s=1e-3)  # the budget is spent during the first trial
    trials = stored_study(settings).trials
    assert len(trials) == before + 1  # the default trial is not run again
    assert trials[-1].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert again.best_value <= searched.best_value


@pytest.mark.slow
def test_resuming_with_another_setup_is_refused(searched, session):
    with pytest.raises(ValueError, match="exists with another set-up"):
        run(session, n_windows=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_windows": 0}, "n_windows must be at least 1"),
    ({"as_of": dt.date(2026, 1, 31)}, "after the last sale day 2025-12-31"),
    ({"as_of": dt.date(2025, 4, 1)}, "cannot tune at 2025-04-01 with 2 window"),
    ({"n_windows": 12}, "use fewer windows"),
    ({"n_trials": 0}, "n_trials must be at least 1"),
    ({"n_trials": None}, "never ends"),
    ({"enqueue": [{"max_bin": 31}]}, "not tuned here"),
    ({"search_space": {"num_threads": IntDistribution(1, 4)}}, "fixed by model.FIXED_PARAMS"),
    ({"search_space": {"learning_rat": 0.1}}, "unknown parameter"),
    ({"search_space": {**SPACE, "num_boost_round": IntDistribution(20, 60)}}, "excludes its default 250"),
])
def test_bad_inputs_are_refused_before_training(session, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(session, study_name="never-created", **kwargs)
