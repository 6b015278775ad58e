"""The demand forecast in MLflow: the pyfunc wrapper, the recipe, logging, the champion, and the real review gate.

The gate test registers a crippled recipe (one boosting round), a good one
and the crippled one again under a model name of its own, and reviews each
with the real gate and the real evaluator (recipes refitted on the default
two windows of the tiny chain): the first becomes champion because there is
none, the good one replaces it, the crippled one is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import pickle
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.forecasting import features, output, registry, review, runs
from workbench.forecasting.forecast import TrainingPlan, fit_at
from workbench.tracking.registry import ChampionMissing, connect, load_by_alias
from workbench.tracking.review import review as gate

from .forecast_env import AS_OF, CRIPPLED, GOOD, PLAN, use_env, warehouse_copy

# ---------------------------------------------------------------- without a server


def test_a_recipe_round_trips_and_flattens_for_mlflow():
    recipe = registry.Recipe({"num_leaves": 31, "num_boost_round": 10}, TrainingPlan(n_origins=6, refit=False), 21)
    assert registry.Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    assert recipe.key() == registry.Recipe({"num_boost_round": 10, "num_leaves": 31}, TrainingPlan(6, 4, False), 21).key()
    flat = recipe.log_params()
    assert {k: flat[k] for k in ("lgb.num_boost_round", "lgb.num_leaves", "plan.n_origins", "plan.refit", "horizon")} == {
        "lgb.num_boost_round": 10, "lgb.num_leaves": 31, "plan.n_origins": 6, "plan.refit": False, "horizon": 21}
    assert set(flat) == {f"lgb.{k}" for k in recipe.params} | {f"plan.{k}" for k in dataclasses.asdict(recipe.plan)} | {"horizon"}


def test_the_training_window_is_the_frame_fit_at_builds(tiny_settings):
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        window = registry.training_window(s, AS_OF, TrainingPlan(n_origins=4), 28)
    # 4 + 3 weekly origins ending a week before the as-of date, each with 56 days behind it.
    first_origin = AS_OF - dt.timedelta(days=7 * 7)
    assert window["start"] == first_origin - dt.timedelta(days=features.LOOKBACK - 1)
    assert (window["end"], window["as_of"], window["calibration_from"]) == (AS_OF, AS_OF, AS_OF - dt.timedelta(days=27))
    assert (window["origins"], window["sample_every"]) == (7, 4)  # the tiny chain needs no thinning


def test_review_windows_come_from_the_settings_file_or_the_environment(monkeypatch):
    assert review.review_config() == review.ReviewConfig(windows=2, user="u_pipeline")  # workbench.yaml
    monkeypatch.setenv("WB_FORECAST_REVIEW_WINDOWS", "3")
    monkeypatch.setenv("WB_FORECAST_REVIEW_USER", "u_oracle")
    assert review.review_config() == review.ReviewConfig(windows=3, user="u_oracle")
    monkeypatch.setenv("WB_FORECAST_REVIEW_WINDOWS", "zero")
    with pytest.raises(ValueError, match="review_windows must be a whole number"):
        review.review_config()


def test_the_gate_frame_averages_windows_and_puts_the_decisive_metric_first():
    levels = pd.DataFrame({"level": ["sku_store", "sku_store", "total", "sku_store", "sku_store"],
                           "metric": ["wrmsse", "wape", "wrmsse", "wrmsse", "wape"],
                           "value": [0.6, 1.0, 1.5, 0.8, 1.2], "window": [1, 1, 1, 2, 2]})
    segments = pd.DataFrame({"segment_kind": ["brand"] * 4, "segment": ["A", "B", "A", "B"], "metric": ["wrmsse"] * 4,
                             "value": [0.5, 0.9, 0.7, 1.1], "weight": [0.7, 0.3, 0.6, 0.4], "window": [1, 1, 2, 2]})
    frame = review.gate_frame(levels, segments)
    assert list(frame.columns) == ["segment_kind", "segment", "metric", "value", "weight"]
    assert tuple(frame.iloc[0]) == ("overall", "all", "wrmsse", pytest.approx(0.7), 1.0)
    rows = frame.set_index(["segment_kind", "segment", "metric"])
    assert rows.loc[("overall", "all", "wape"), "value"] == pytest.approx(1.1)
    assert rows.loc[("overall", "all", "wrmsse_total"), "value"] == pytest.approx(1.5)
    assert tuple(rows.loc[("brand", "A", "wrmsse")]) == (pytest.approx(0.6), pytest.approx(0.65))


def test_tuning_is_asked_for_only_with_trials_and_its_absence_is_explained(monkeypatch):
    plan = TrainingPlan(n_origins=6)
    assert runs.tuned(None, AS_OF, 0, plan=plan) == (None, plan)
    monkeypatch.setitem(sys.modules, "workbench.forecasting.tuning", None)  # a checkout without the module
    with pytest.raises(RuntimeError, match="set n_trials = 0"):
        runs.tuned(None, AS_OF, 5)


# ---------------------------------------------------------------- one real fit, no server


@pytest.fixture(scope="module")
def fitted(tiny_settings):
    with wb.session("u_pipeline", settings=tiny_settings, read_only=True) as s:
        model = fit_at(s, AS_OF, GOOD, PLAN)
        frame = runs.example_frame(s, AS_OF)
    return model, frame


@pytest.mark.slow
def test_the_pyfunc_wrapper_predicts_what_the_model_predicts(fitted, tmp_path):
    from mlflow.pyfunc import PythonModelContext

    model, frame = fitted
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(model))
    recipe = registry.Recipe(model.params, PLAN)
    (tmp_path / "r.json").write_text(json.dumps(recipe.to_dict()))
    wrapper = registry.DemandForecastModel()
    context = PythonModelContext({"demand_model": str(tmp_path / "m.pkl"), "recipe": str(tmp_path / "r.json")}, None)
    wrapper.load_context(context)
    assert wrapper.recipe == recipe and wrapper.model.params["num_boost_round"] == 80
    out = wrapper.predict(context, registry.model_input(frame))
    expected = model.predict_distribution(frame)
    assert list(out.columns) == ["mean", "p10", "p50", "p90", "nb_size"]
    assert np.allclose(out["mean"], expected["mean"]) and (out["p10"] <= out["p90"]).all()
    assert pickle.loads(pickle.dumps(wrapper)).model is None  # the model travels as an artifact, not in the pickle
    example = registry.example_rows(frame)
    assert len(example) == 20 and list(example.columns) == list(features.FEATURES)
    assert example["brand"].map(type).eq(str).all() and example["h"].dtype == "float64"


@pytest.mark.slow
def test_a_run_for_some_stores_writes_only_theirs_and_flags_a_model_from_the_future(fitted, tiny_settings, tmp_path):
    model, _ = fitted
    settings = warehouse_copy(tiny_settings, tmp_path)
    run = runs.start("2025-11-02", "S001,S003", mode="score", settings=settings, run_id="stores-run")
    try:
        assert run.scope == runs.RunScope("u_pipeline", ("S001", "S003")) and len(run.stores) == 2
        prepared = runs.Prepared("score", model, 7, None, None, [], reviewed=True)
        result = runs.forecast_and_write(run, prepared, progress=None)
    finally:
        run.close()
    assert result.written and result.rows == len(result.forecast) > 0
    assert "trained on data up to 2025-11-30, after the as-of date 2025-11-02" in result.describe()
    with wb.session("u_analyst", settings=settings) as s:
        back = output.read_forecast(s)
    assert set(back["store_code"]) == {"S001", "S003"} and set(back["model_version"]) == {7}
    with pytest.raises(ValueError, match="neither a configured user .* nor a store code"):
        runs.start("2025-11-02", "S001,S999", settings=settings)
    with pytest.raises(ValueError, match="mode must be 'train' or 'score'"):
        runs.start("2025-11-02", mode="predict", settings=settings)


# ---------------------------------------------------------------- MLflow: logging, the champion, the gate


@pytest.fixture(scope="module")
def scenario(tiny_settings, tmp_path_factory, mlflow_server):
    """crippled v1 -> review (first champion); good v2 (with backtest) -> review; crippled v3 -> review."""
    settings = warehouse_copy(tiny_settings, tmp_path_factory.mktemp("registry"))
    evaluate = functools.partial(review.evaluate, settings=settings)
    out = {"settings": settings}
    with pytest.MonkeyPatch.context() as mp:
        out["name"] = name = use_env(mp, settings)
        with wb.session("u_pipeline", settings=settings, read_only=True) as s:
            v1 = runs.train(s, AS_OF, params=CRIPPLED, plan=PLAN, backtest=False, settings=settings)
            with pytest.raises(ChampionMissing) as missing:
                registry.load_champion(settings)
            out["missing"] = str(missing.value)
            out["first"] = gate(name, evaluate)
            out["good"] = runs.train(s, AS_OF, params=GOOD, plan=PLAN, settings=settings)
            out["second"] = gate(name, evaluate)
            runs.train(s, AS_OF, params=CRIPPLED, plan=PLAN, backtest=False, settings=settings)
            out["third"] = gate(name, evaluate)
            out["champion"] = registry.load_registered(settings=settings)
            out["refused"] = registry.load_registered("challenger", settings=settings)
            out["pyfunc"] = load_by_alias(name)
            out["example"] = runs.example_frame(s, AS_OF)
        out["versions"] = (v1.version, out["good"].version)
        yield out


@pytest.mark.slow
def test_without_a_champion_the_error_says_what_to_run(scenario):
    text = scenario["missing"]
    assert f"no champion of {scenario['name']!r}" in text
    assert "wb forecast train --as-of DATE" in text and f"wb models review {scenario['name']}" in text


@pytest.mark.slow
def test_the_gate_promotes_a_better_recipe_and_refuses_a_worse_one(scenario):
    first, second, third = scenario["first"], scenario["second"], scenario["third"]
    assert first.promoted and first.champion_version is None and "no champion yet" in first.reasons[0]
    assert second.promoted, second.summary()
    assert (second.challenger_version, second.champion_version, second.metric) == (2, 1, "wrmsse")
    assert not third.promoted and third.champion_version == 2, third.summary()
    assert "misses the required 2.0 % improvement" in third.reasons[0]
    evidence = second.evidence.set_index(["segment_kind", "segment", "metric"])
    overall = evidence.loc[("overall", "all", "wrmsse")]
    assert overall.challenger < overall.champion  # 80 rounds beat 1 (by 5-10 % at SKU x store on the tiny chain)
    assert {"brand", "region"} <= set(second.evidence["segment_kind"])
    # Both versions were scored on the same two windows: the last 28-day blocks of the data, kept per process.
    levels, _ = review.backtest_scores(scenario["champion"].recipe, settings=scenario["settings"])
    assert sorted(set(levels["window"])) == [dt.date(2025, 11, 5), dt.date(2025, 12, 3)]
    aliases = connect().get_registered_model(scenario["name"]).aliases
    assert {k: int(v) for k, v in aliases.items()} == {"champion": 2, "previous_champion": 1, "challenger": 3}


@pytest.mark.slow
def test_the_champion_carries_its_recipe_and_predicts(scenario):
    champion = scenario["champion"]
    assert champion.reviewed and not scenario["refused"].reviewed and scenario["refused"].version == 3
    assert champion.version == 2 and champion.recipe.plan == PLAN and champion.recipe.params["num_boost_round"] == 80
    assert champion.model.trained_until == AS_OF
    frame = scenario["example"]
    predicted = scenario["pyfunc"].predict(registry.model_input(frame))
    assert np.allclose(predicted["mean"], champion.model.predict_distribution(frame)["mean"])


@pytest.mark.slow
def test_a_training_run_logs_recipe_window_backtest_and_importance(scenario):
    client = connect()
    version = client.get_model_version(scenario["name"], "2")
    run = client.get_run(version.run_id)
    params = run.data.params
    assert params["lgb.num_boost_round"] == "80" and params["plan.n_origins"] == "4" and params["plan.refit"] == "False"
    assert params["horizon"] == "28" and params["scope"] == "u_pipeline"
    assert params["data_window.as_of"] == "2025-11-30" and params["backtest_origin"] == "2025-11-02"
    assert version.tags["data_window.end"] == "2025-11-30"
    good = scenario["good"]
    assert good.backtest_origin == dt.date(2025, 11, 2) and not good.notes
    assert run.data.metrics["wrmsse.sku_store"] == pytest.approx(
        good.metrics.query("level == 'sku_store' and metric == 'wrmsse'")["value"].iloc[0])
    artifacts = {a.path for a in client.list_artifacts(version.run_id)}
    assert {"metrics.csv", "backtest_segments.csv", "feature_importance.csv", "figures", "data_window.json"} <= artifacts
    metrics, segments = registry.logged_scores(version.run_id)
    assert len(metrics) == len(good.metrics) and set(segments["segment_kind"]) == {"brand", "region"}
    signature = mlflow.models.get_model_info(f"models:/{scenario['name']}/2").signature
    assert signature.inputs.input_names() == list(features.FEATURES)
    assert signature.outputs.input_names() == ["mean", "p10", "p50", "p90", "nb_size"]
