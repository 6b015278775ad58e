"""A tiny model and its backtest for the tracking tests (no sklearn, no warehouse).

The model predicts ``x * factor[segment]``; the truth is ``2 * x``, so a
segment's relative error is ``|factor - 2| / 2`` and tests choose factors to
make a challenger better, worse, or worse only in one segment.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from matplotlib.figure import Figure

from workbench.tracking.registry import log_training_run, write_temp_json

# Segment -> weight (revenue share). C is below the default min_segment_share (5 %).
WEIGHTS = {"A": 0.62, "B": 0.35, "C": 0.03}
EXAMPLE = pd.DataFrame({"segment": ["A", "B", "C"], "x": [1.0, 2.0, 3.0]})


class FactorModel(mlflow.pyfunc.PythonModel):
    """Multiplies ``x`` by a factor per segment, read from its ``factors`` artifact."""

    def load_context(self, context):
        self.factors = json.loads(Path(context.artifacts["factors"]).read_text())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        factor = model_input["segment"].map(self.factors).astype(float)
        return pd.DataFrame({"prediction": model_input["x"] * factor})


def factors(value: float | dict[str, float]) -> dict[str, float]:
    return value if isinstance(value, dict) else {s: float(value) for s in WEIGHTS}


def evaluate(model) -> pd.DataFrame:
    """Relative absolute error per segment and overall (weighted), lower is better."""
    data = pd.DataFrame([(s, x) for s in WEIGHTS for x in (1.0, 2.0, 3.0, 4.0)], columns=["segment", "x"])
    data["pred"] = model.predict(data)["prediction"].to_numpy()
    data["err"] = (data.pred - 2 * data.x).abs() / (2 * data.x)
    by_segment = data.groupby("segment").err.mean()
    rows = [("brand", s, "rel_error", by_segment[s], w) for s, w in WEIGHTS.items()]
    overall = sum(by_segment[s] * w for s, w in WEIGHTS.items())
    rows.append(("overall", "all", "rel_error", overall, 1.0))
    rows.append(("overall", "all", "bias", float((data.pred - 2 * data.x).mean()), 1.0))
    return pd.DataFrame(rows, columns=["segment_kind", "segment", "metric", "value", "weight"])


def register(name: str, value: float | dict[str, float], **extra) -> int:
    """Log a training run of a FactorModel and register it as ``name``'s challenger; its version."""
    fig = Figure()
    fig.subplots().plot([1, 2, 3], [2, 4, 6])
    metrics = pd.DataFrame({"level": ["total", "SKC×store", None], "metric": ["rel_error", "rel_error", "bias"],
                            "value": [0.1, 0.2, 0.0]})
    return log_training_run(
        "tracking_tests",
        model_name=name,
        python_model=FactorModel(),
        artifacts={"factors": write_temp_json(factors(value), "factors.json")},
        input_example=EXAMPLE,
        params={"factor": json.dumps(factors(value))},
        data_window={"start": "2025-01-01", "end": "2025-06-30", "as_of": pd.Timestamp("2025-07-01")},
        metrics=metrics,
        feature_importance=pd.Series({"x": 3.0, "segment": 1.0}),
        figures={"backtest": fig},
        tags={"purpose": "test"},
        **extra,
    )
