"""The review rule on evaluation frames alone (no server): fast."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.config import load_settings
from workbench.tracking.review import EvaluatorMissing, compare, evaluator, thresholds

LIMITS = {"margin": 0.02, "segment_tolerance": 0.05, "min_segment_share": 0.05}


def frame(overall: float, segments: dict[str, tuple[float, float]], metric: str = "wrmsse") -> pd.DataFrame:
    rows = [("overall", "all", metric, overall, 1.0)]
    rows += [("brand", name, metric, value, weight) for name, (value, weight) in segments.items()]
    return pd.DataFrame(rows, columns=["segment_kind", "segment", "metric", "value", "weight"])


def test_better_overall_and_no_big_segment_worse_promotes():
    promoted, reasons, evidence, metric = compare(
        frame(1.00, {"A": (1.0, 0.6), "B": (1.0, 0.4)}), frame(0.95, {"A": (0.9, 0.6), "B": (1.02, 0.4)}), **LIMITS)
    assert promoted and metric == "wrmsse"
    assert "5.0 % better" in reasons[0]
    assert list(evidence.columns) == ["segment_kind", "segment", "metric", "weight", "champion", "challenger", "change", "verdict"]
    assert evidence.iloc[0].segment_kind == "overall"
    assert set(evidence.verdict) == {"better enough", "better or equal", "worse within tolerance"}


def test_improvement_below_the_margin_is_rejected():
    promoted, reasons, _, _ = compare(frame(1.0, {}), frame(0.99, {}), **LIMITS)
    assert not promoted and "misses the required 2.0 %" in reasons[0]


def test_a_big_segment_worse_beyond_tolerance_rejects_even_when_overall_is_better():
    promoted, reasons, evidence, _ = compare(
        frame(1.0, {"A": (1.0, 0.7), "B": (1.0, 0.3)}), frame(0.8, {"A": (0.7, 0.7), "B": (1.1, 0.3)}), **LIMITS)
    assert not promoted
    assert any("brand=B (weight 30.0 %) is 10.0 % worse" in r for r in reasons)
    assert evidence.set_index("segment").loc["B", "verdict"] == "worse beyond tolerance"


def test_a_small_segment_is_ignored_and_said_so():
    promoted, reasons, evidence, _ = compare(
        frame(1.0, {"A": (1.0, 0.97), "C": (1.0, 0.03)}), frame(0.9, {"A": (0.9, 0.97), "C": (2.0, 0.03)}), **LIMITS)
    assert promoted
    assert any(r.startswith("ignored as too small") and "brand=C" in r for r in reasons)
    assert evidence.set_index("segment").loc["C", "verdict"] == "ignored (small)"


def test_a_big_segment_without_a_challenger_value_rejects():
    challenger = frame(0.5, {"A": (0.5, 0.6), "B": (float("nan"), 0.4)})
    promoted, reasons, _, _ = compare(frame(1.0, {"A": (1.0, 0.6), "B": (1.0, 0.4)}), challenger, **LIMITS)
    assert not promoted and any("no value for the challenger" in r for r in reasons)


def test_without_champion_a_finite_challenger_becomes_the_first_champion():
    promoted, reasons, evidence, _ = compare(None, frame(0.9, {"A": (0.9, 1.0)}), **LIMITS)
    assert promoted and "no champion yet" in reasons[0]
    assert evidence.champion.isna().all()


def test_other_metrics_are_evidence_only_and_metric_can_be_chosen():
    champion = pd.concat([frame(1.0, {}), frame(5.0, {}, metric="bias")])
    challenger = pd.concat([frame(0.9, {}), frame(9.0, {}, metric="bias")])
    promoted, _, evidence, metric = compare(champion, challenger, **LIMITS)
    assert promoted and metric == "wrmsse"
    assert evidence.set_index("metric").loc["bias", "verdict"] == "for information"
    assert not compare(champion, challenger, metric="bias", **LIMITS)[0]


def test_bad_frames_get_clear_errors():
    with pytest.raises(ValueError, match="lacks columns weight"):
        compare(None, frame(1.0, {}).drop(columns="weight"), **LIMITS)
    with pytest.raises(ValueError, match="no 'overall' row"):
        compare(None, frame(1.0, {"A": (1.0, 1.0)}).iloc[1:], **LIMITS)
    with pytest.raises(ValueError, match="repeats brand=A"):
        compare(None, pd.concat([frame(1.0, {"A": (1.0, 1.0)}), frame(1.0, {"A": (1.0, 1.0)}).iloc[1:]]), **LIMITS)


def test_thresholds_come_from_the_settings_file_and_overrides():
    settings = load_settings()
    assert thresholds(settings) == {"margin": 0.02, "segment_tolerance": 0.05, "min_segment_share": 0.05}
    assert thresholds(settings, margin=0.1, segment_tolerance=None)["margin"] == 0.1
    custom = settings.with_(mlflow={**settings.mlflow, "review": {"margin": 0.07}})
    assert thresholds(custom)["margin"] == 0.07
    with pytest.raises(ValueError, match="between 0 and 1"):
        thresholds(settings, margin=2)


def test_evaluators_are_found_by_name_or_refused_clearly():
    assert evaluator("anything", f"{__name__.rsplit('.', 1)[0]}.toy:evaluate").__name__ == "evaluate"
    with pytest.raises(EvaluatorMissing, match="no review evaluator is registered for model 'nope'"):
        evaluator("nope")
    with pytest.raises(EvaluatorMissing, match="cannot be imported"):
        evaluator("demand_forecast", "workbench.no_such_module:evaluate")
