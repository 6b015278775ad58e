"""Model review's library: the comparison table, the figures, the last decision, and who may promote.

The pure parts run fast; the rest share one module-scoped set-up on the real
MLflow server (``mlflow_server``): tiny toy models registered and passed
through the real gate, so the champion / challenger / rejected-review state
is the one the app meets.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from workbench.tracking import model_review as mr
from workbench.tracking import registry
from workbench.tracking.registry import log_training_run, write_temp_json
from workbench.tracking.review import review

from . import toy

# What each version's training run logs: (metric, level) -> value; level None means a key without level.
METRICS = {
    1: {("wape", "total"): 0.30, ("wape", "store"): 0.40, ("bias", None): 0.05},
    2: {("wape", "total"): 0.27, ("wape", "store"): 0.44, ("bias", None): -0.02, ("spl", "total"): 0.9},
}
# backtest_segments.csv rows (segment_kind, segment, metric, value, weight), as the demand forecast logs them.
SEGMENTS = {
    1: [("brand", "Alpha", "wape", 0.35, 0.7), ("brand", "Beta", "wape", 0.50, 0.3)],
    2: [("brand", "Alpha", "wape", 0.30, 0.7), ("brand", "Beta", "wape", 0.55, 0.3)],
}
# Factors of the toy model: version 2 is better overall but brand B is worse, so the gate rejects it.
FACTORS = {1: {"A": 2.5, "B": 2.1, "C": 2.5}, 2: {"A": 2.0, "B": 2.2, "C": 2.0}}


# --- pure ----------------------------------------------------------------------------------------------------


def test_split_key_reads_metric_and_level():
    assert mr.split_key(registry.metric_key("wrmsse", "skc_store")) == ("wrmsse", "skc_store")
    assert mr.split_key(registry.metric_key("bias")) == ("bias", "")


@pytest.mark.parametrize("metric, old, new, expected", [
    ("wrmsse", 0.9, 0.8, "better"), ("wrmsse", 0.8, 0.9, "worse"), ("wape", 0.5, 0.5, "same"),
    ("bias", 0.05, -0.02, "better"), ("bias", -0.01, 0.03, "worse"),
    ("coverage_p10_p90", 0.70, 0.78, "better"), ("coverage_p10_p90", 0.79, 0.95, "worse"),
    ("wape", math.nan, 0.4, ""),
])
def test_outcome_knows_which_way_is_better(metric, old, new, expected):
    assert mr.outcome(metric, old, new) == expected


def test_compare_metrics_keeps_rows_only_one_version_has():
    old = pd.DataFrame({"kind": ["level", "level"], "level": ["total", "store"], "metric": ["wape", "wape"],
                        "weight": [math.nan, math.nan], "value": [0.5, 0.4]})
    new = pd.DataFrame({"kind": ["level", "brand"], "level": ["total", "X"], "metric": ["wape", "wape"],
                        "weight": [math.nan, 0.2], "value": [0.4, 0.1]})
    table = mr.compare_metrics(old, new).set_index(["kind", "level"])
    assert table.loc[("level", "total"), "change"] == pytest.approx((0.4 - 0.5) / 0.5)
    assert table.loc[("level", "total"), "outcome"] == "better"
    assert math.isnan(table.loc[("level", "store"), "challenger"]) and table.loc[("level", "store"), "outcome"] == ""
    assert table.loc[("brand", "X"), "weight"] == 0.2
    assert list(table.reset_index()["kind"]) == ["level", "level", "brand"]  # levels before segments


def test_key_metric_prefers_the_models_own_then_an_error_metric():
    table = mr.compare_metrics(
        pd.DataFrame({"kind": "level", "level": ["", "sku_store", "total"], "metric": ["bias", "wrmsse", "wape"],
                      "weight": math.nan, "value": [0.1, 0.9, 0.5]}),
        pd.DataFrame(columns=["kind", "level", "metric", "weight", "value"]))
    assert (mr.key_metric("demand_forecast", table).metric, mr.key_metric("demand_forecast", table).level) == \
        ("wrmsse", "sku_store")
    assert mr.key_metric("other_model", table).metric != "bias"
    only_new = pd.DataFrame({"kind": "level", "level": ["total", "total"], "metric": ["spl", "wape"],
                             "weight": math.nan, "value": [0.9, 0.4]})
    both = mr.compare_metrics(only_new.iloc[[1]], only_new)  # the champion logged no spl
    assert mr.key_metric("other_model", both).metric == "wape"  # so that the card can show a change


def test_only_the_model_reviewer_may_promote():
    assert mr.may_promote("u_model_reviewer")
    assert not mr.may_promote("u_admin") and not mr.may_promote("u_analyst") and not mr.may_promote("u_nobody")
    with pytest.raises(PermissionError, match="u_admin has the role admin.*model_reviewer"):
        mr.check_reviewer("u_admin")


# --- against the real server ---------------------------------------------------------------------------------


def register(name: str, version: int) -> int:
    """A toy version with this test's metrics, segments and figures; registered as the challenger."""
    fig = Figure()
    fig.subplots().plot([1, 2, 3], [2, 4, 6 + version])
    metrics = pd.DataFrame([(level, metric, value) for (metric, level), value in METRICS[version].items()],
                           columns=["level", "metric", "value"])
    number = log_training_run(
        "model_review_tests", model_name=name, python_model=toy.FactorModel(),
        artifacts={"factors": write_temp_json(toy.factors(FACTORS[version]), "factors.json")},
        input_example=toy.EXAMPLE, data_window={"start": "2025-01-01", "end": f"2025-0{version + 4}-30"},
        metrics=metrics, feature_importance=pd.Series({"x": 3.0, "segment": 1.0}), figures={"backtest": fig},
    )
    segments = pd.DataFrame(SEGMENTS[version], columns=["segment_kind", "segment", "metric", "value", "weight"])
    client = registry.connect()
    client.log_text(client.get_model_version(name, str(number)).run_id, segments.to_csv(index=False), mr.SEGMENTS_FILE)
    return number


def reviewed_model(name: str) -> dict:
    """v1 the champion (through the gate), v2 the challenger the gate rejected; the gate's decisions."""
    assert register(name, 1) == 1
    first = review(name, toy.evaluate)
    assert register(name, 2) == 2
    second = review(name, toy.evaluate, reviewer="u_analyst")
    assert first.promoted and not second.promoted, second.summary()
    return {"name": name, "first": first, "second": second}


@pytest.fixture(scope="module")
def models(mlflow_server) -> dict:
    """Three models: ``viewed`` (only read), ``promoted`` (the reviewer promotes it), ``unreviewed`` (v1 never reviewed)."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    out = {"viewed": reviewed_model(f"review_viewed_{tag}"), "promoted": reviewed_model(f"review_promoted_{tag}")}
    out["unreviewed"] = f"review_unreviewed_{tag}"
    register(out["unreviewed"], 1)
    return out


def aliases(name: str) -> dict[str, int]:
    return {alias: int(v) for alias, v in registry.connect().get_registered_model(name).aliases.items()}


def review_runs(name: str) -> int:
    client = registry.connect()
    experiment = client.get_experiment_by_name("model_reviews")
    return len(client.search_runs([experiment.experiment_id], f"tags.model_name = '{name}'"))


@pytest.mark.slow
def test_the_pair_is_the_aliased_versions(models):
    name = models["viewed"]["name"]
    pair = mr.champion_and_challenger(name)
    assert (pair.champion.version, pair.challenger.version) == (aliases(name)["champion"], aliases(name)["challenger"])
    assert pair.challenger.data_window == {"start": "2025-01-01", "end": "2025-06-30"}
    assert name in mr.registered_models()
    with pytest.raises(mr.UnknownModel, match="no registered model 'no_such_model'"):
        mr.champion_and_challenger("no_such_model")
    with pytest.raises(mr.UnknownModel):
        mr.champion_and_challenger("x' or name != '")


@pytest.mark.slow
def test_the_table_has_both_versions_metrics_by_level_and_segment(models):
    table = mr.metrics_table(models["viewed"]["name"])
    levels = table[table.kind == "level"].set_index(["metric", "level"])
    keys = set(METRICS[1]) | set(METRICS[2])
    assert set(levels.index) == {(m, lv or "") for m, lv in keys}
    for metric, level in keys:
        row = levels.loc[(metric, level or "")]
        old, new = METRICS[1].get((metric, level), math.nan), METRICS[2].get((metric, level), math.nan)
        assert row.champion == pytest.approx(old, nan_ok=True) and row.challenger == pytest.approx(new, nan_ok=True)
        expected = (new - old) / abs(old) if not (math.isnan(old) or math.isnan(new)) else math.nan
        assert row.change == pytest.approx(expected, nan_ok=True)
    assert levels.loc[("wape", "total"), "outcome"] == "better" and levels.loc[("wape", "store"), "outcome"] == "worse"
    assert levels.loc[("bias", ""), "outcome"] == "better"  # nearer zero

    brands = table[table.kind == "brand"].set_index("level")
    for (_, segment, _, value, weight), (*_, new, _) in zip(SEGMENTS[1], SEGMENTS[2]):
        assert (brands.loc[segment, "champion"], brands.loc[segment, "challenger"]) == pytest.approx((value, new))
        assert brands.loc[segment, "weight"] == pytest.approx(weight)


@pytest.mark.slow
def test_figures_are_the_runs_pngs(models):
    pair = mr.champion_and_challenger(models["viewed"]["name"])
    shown = mr.figures(pair.challenger.run_id)
    assert [f.name for f in shown] == ["backtest", "feature_importance"]
    assert all(f.png.startswith(b"\x89PNG") for f in shown)
    assert shown[0].png != mr.figures(pair.champion.run_id)[0].png  # each version's own plot


@pytest.mark.slow
def test_latest_review_is_the_gates_decision_with_its_evidence(models):
    gate = models["viewed"]["second"]
    record = mr.latest_review(models["viewed"]["name"])
    assert (record.run_id, record.decision, record.kind, record.reviewer) == (gate.run_id, "reject", "gate", "u_analyst")
    assert (record.challenger_version, record.champion_version, record.metric) == (2, 1, gate.metric)
    assert record.reasons == gate.reasons
    expected = gate.evidence.reset_index(drop=True)
    assert list(record.evidence.columns) == list(expected.columns)
    assert record.evidence["challenger"].tolist() == pytest.approx(expected["challenger"].astype(float).tolist())
    assert record.evidence["verdict"].fillna("").tolist() == expected["verdict"].tolist()
    assert mr.latest_review(models["unreviewed"]) is None


@pytest.mark.slow
def test_promotion_by_anyone_but_the_reviewer_is_refused_and_changes_nothing(models):
    name = models["viewed"]["name"]
    before, runs = aliases(name), review_runs(name)
    for user in ("u_analyst", "u_admin", "u_hq"):
        with pytest.raises(PermissionError, match="needs the model_reviewer role"):
            mr.promote(name, 2, user, "looks fine to me")
    with pytest.raises(LookupError, match="u_nobody"):
        mr.promote(name, 2, "u_nobody", "looks fine")
    assert aliases(name) == before and review_runs(name) == runs


@pytest.mark.slow
def test_the_reviewer_is_refused_without_a_reason_a_challenger_or_a_gate_review(models):
    name = models["viewed"]["name"]
    before, runs = aliases(name), review_runs(name)
    with pytest.raises(mr.PromotionRefused, match="needs a reason"):
        mr.promote(name, 2, "u_model_reviewer", "   ")
    with pytest.raises(mr.PromotionRefused, match="already the champion"):
        mr.promote(name, 1, "u_model_reviewer", "roll back")
    with pytest.raises(mr.PromotionRefused, match="only the challenger can be promoted.*not version 7"):
        mr.promote(name, 7, "u_model_reviewer", "why not")
    assert aliases(name) == before and review_runs(name) == runs
    with pytest.raises(mr.PromotionRefused, match="has not compared version 1 .*wb models review"):
        mr.promote(models["unreviewed"], 1, "u_model_reviewer", "trust me")
    assert aliases(models["unreviewed"]) == {"challenger": 1}


@pytest.mark.slow
def test_the_reviewer_promotes_and_the_decision_is_recorded(models):
    name, gate = models["promoted"]["name"], models["promoted"]["second"]
    record = mr.promote(name, 2, "u_model_reviewer", "brand B is discontinued next season")
    assert aliases(name) == {"champion": 2, "previous_champion": 1}
    assert (record.decision, record.kind, record.reviewer) == ("promote", "manual", "u_model_reviewer")
    assert record.reason == "brand B is discontinued next season" and record.based_on_run == gate.run_id
    assert record.reasons[0].endswith(record.reason) and record.reasons[1:] == [f"gate: {r}" for r in gate.reasons]
    assert len(record.evidence) == len(gate.evidence)
    assert mr.latest_review(name).run_id == record.run_id

    client = registry.connect()
    run = client.get_run(record.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "model_reviews" and run.info.status == "FINISHED"
    assert run.data.tags["decision"] == "promote" and run.data.tags["review_kind"] == "manual"
    tags = client.get_model_version(name, "2").tags
    assert (tags["review.decision"], tags["review.run_id"], tags["review.kind"]) == ("promote", record.run_id, "manual")
    with pytest.raises(mr.PromotionRefused, match="already the champion"):
        mr.promote(name, 2, "u_model_reviewer", "again")
