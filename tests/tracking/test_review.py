"""The review gate end to end: real server, real model versions, the toy backtest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.tracking import registry
from workbench.tracking.review import ChallengerMissing, review

from . import toy

pytestmark = pytest.mark.slow


def aliases(name: str) -> dict[str, int]:
    return {alias: int(v) for alias, v in registry.connect().get_registered_model(name).aliases.items()}


def with_champion(name: str, champion) -> None:
    """Register ``champion`` and pass it through the gate as the first champion."""
    toy.register(name, champion)
    assert review(name, toy.evaluate).promoted


def test_the_first_challenger_becomes_champion_after_evaluation(model_name):
    toy.register(model_name, 2.5)
    decision = review(model_name, toy.evaluate)
    assert decision.promoted and decision.champion_version is None
    assert "no champion yet" in decision.reasons[0] and "first champion" in decision.reasons[0]
    assert aliases(model_name) == {"champion": 1}
    assert registry.load_by_alias(model_name).predict(toy.EXAMPLE)["prediction"].tolist() == [2.5, 5.0, 7.5]


def test_a_better_challenger_is_promoted_and_the_decision_logged(model_name):
    with_champion(model_name, 2.5)
    toy.register(model_name, 2.2)
    decision = review(model_name, toy.evaluate, reviewer="u_analyst")
    assert decision.promoted, decision.summary()
    assert (decision.challenger_version, decision.champion_version, decision.metric) == (2, 1, "rel_error")
    assert aliases(model_name) == {"champion": 2, "previous_champion": 1}

    evidence = decision.evidence.set_index(["segment_kind", "segment", "metric"])
    assert evidence.loc[("overall", "all", "rel_error"), "champion"] == pytest.approx(0.25)
    assert evidence.loc[("overall", "all", "rel_error"), "challenger"] == pytest.approx(0.1)

    client = registry.connect()
    run = client.get_run(decision.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "model_reviews"
    assert run.data.tags["decision"] == "promote" and run.data.tags["reviewer"] == "u_analyst"
    assert run.data.params["challenger_version"] == "2" and run.data.params["margin"] == "0.02"
    assert run.data.metrics["overall_change"] == pytest.approx(-0.6)
    assert {"evidence.csv", "decision.json"} <= {a.path for a in client.list_artifacts(decision.run_id)}
    logged = json.loads(Path(client.download_artifacts(decision.run_id, "decision.json")).read_text())
    assert logged["decision"] == "promote" and logged["reasons"] == decision.reasons

    tags = client.get_model_version(model_name, "2").tags
    assert tags["review.decision"] == "promote" and tags["review.run_id"] == decision.run_id
    assert tags["review.champion_version"] == "1"


def test_a_worse_challenger_is_refused_and_keeps_its_alias(model_name):
    with_champion(model_name, 2.2)
    toy.register(model_name, 2.5)
    decision = review(model_name, toy.evaluate)
    assert not decision.promoted
    assert "worse" in decision.reasons[0] and "misses" in decision.reasons[0]
    assert aliases(model_name) == {"champion": 1, "challenger": 2}
    client = registry.connect()
    assert client.get_run(decision.run_id).data.tags["decision"] == "reject"
    assert client.get_model_version(model_name, "2").tags["review.decision"] == "reject"


def test_a_big_segment_worse_beyond_tolerance_refuses_a_challenger_better_overall(model_name):
    with_champion(model_name, {"A": 2.5, "B": 2.1, "C": 2.5})
    toy.register(model_name, {"A": 2.0, "B": 2.2, "C": 2.0})
    decision = review(model_name, toy.evaluate)
    assert not decision.promoted
    assert "better" in decision.reasons[0] and "meets" in decision.reasons[0]
    assert any("brand=B (weight 35.0 %) is 100.0 % worse" in r for r in decision.reasons)
    assert aliases(model_name)["champion"] == 1


def test_a_tiny_segment_does_not_block_promotion(model_name):
    with_champion(model_name, 2.5)
    toy.register(model_name, {"A": 2.0, "B": 2.0, "C": 3.0})
    decision = review(model_name, toy.evaluate)
    assert decision.promoted, decision.summary()
    assert any("ignored as too small" in r and "brand=C" in r for r in decision.reasons)


def test_nothing_to_review_is_a_clear_error(model_name):
    with pytest.raises(ChallengerMissing, match=f"nothing to review for '{model_name}'.*no registered model"):
        review(model_name, toy.evaluate)
    with_champion(model_name, 2.0)
    with pytest.raises(ChallengerMissing, match="train a new version first"):
        review(model_name, toy.evaluate)
    with pytest.raises(LookupError, match="unknown reviewer 'u_nobody'"):
        review(model_name, toy.evaluate, reviewer="u_nobody")
