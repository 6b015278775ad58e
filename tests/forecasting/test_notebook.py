"""``notebooks/forecast.ipynb`` end to end under Papermill: train, review (``notebooks/model_review.ipynb``,
the real gate), score, score again.

Real kernels, a real MLflow server and the registered name ``demand_forecast``
(the only test that uses it), on a private copy of the tiny warehouse.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest
from workbench.config import project_root
from workbench.tracking.registry import connect

from ..notebook_checks import assert_clean_and_thin
from .forecast_env import table_state, use_env, warehouse_copy

pytestmark = pytest.mark.slow

NOTEBOOK = project_root() / "notebooks" / "forecast.ipynb"
REVIEW = project_root() / "notebooks" / "model_review.ipynb"
AS_OF = "2025-10-20"  # new style-colours launch around it, so the hot-item ranking has rows
PARAMETERS = {"as_of": AS_OF, "n_origins": 4, "hot_min_training_skcs": 20}


def run_notebook(tmp_path: Path, name: str, notebook: Path = NOTEBOOK, **parameters) -> nbformat.NotebookNode:
    import papermill

    out = tmp_path / f"{name}.ipynb"
    given = {**PARAMETERS, **parameters} if notebook == NOTEBOOK else parameters
    papermill.execute_notebook(str(notebook), str(out), parameters=given,
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    return nbformat.read(out, as_version=4)


def text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def test_the_notebooks_are_stored_clean_and_parameterised():
    assert_clean_and_thin(NOTEBOOK, ("as_of", "horizon", "scope", "n_trials", "mode", "run_id"))
    assert_clean_and_thin(REVIEW, ("as_of", "model", "reviewer", "run_id"))


def test_train_then_review_then_score_writes_marts_forecast_and_a_rerun_replaces(tiny_settings, tmp_path, monkeypatch,
                                                                                 mlflow_server):
    settings = warehouse_copy(tiny_settings, tmp_path / "warehouse")
    use_env(monkeypatch, settings, model="demand_forecast")
    monkeypatch.setenv("WB_FORECAST_REVIEW_WINDOWS", "1")

    trained = run_notebook(tmp_path, "train", mode="train", run_id="nb-train")
    assert "registered demand_forecast version 1 as the challenger" in text(trained)
    assert "not written to marts.forecast" in text(trained)
    assert table_state(settings) is None  # a challenger writes nothing
    assert images(trained) == 6 and "6 new SKCs ranked at 2025-10-20" in text(trained)

    reviewed = run_notebook(tmp_path, "review", REVIEW, as_of=AS_OF, model="demand_forecast", reviewer="u_pipeline",
                            run_id="nb-review")
    assert "demand_forecast: version 1 promoted to champion" in text(reviewed)
    assert "first champion" in text(reviewed) and images(reviewed) == 1  # the evidence, as a table and a chart
    assert {k: int(v) for k, v in connect().get_registered_model("demand_forecast").aliases.items()} == {"champion": 1}
    logged = connect().get_run(text(reviewed).split("logged as run ")[1].split()[0])
    assert logged.data.tags["pipeline_run_id"] == "nb-review" and logged.data.tags["reviewer"] == "u_pipeline"

    scored = run_notebook(tmp_path, "score", mode="score", run_id="nb-score-1")
    assert "scoring with demand_forecast version 1 (champion)" in text(scored)
    rows, runs, days = table_state(settings)
    assert rows > 10_000 and runs == {"nb-score-1"} and days == {dt.date(2025, 10, 20)}
    assert f"wrote {rows} rows to marts.forecast for as-of 2025-10-20" in text(scored)
    assert images(scored) == 6

    # Again, as a scheduler would after a failed or doubtful run (hot items skipped: 36 finished launches < 1000).
    again = run_notebook(tmp_path, "score-again", mode="score", run_id="nb-score-2", hot_min_training_skcs=1000)
    assert "no hot-item ranking: too few new SKCs" in text(again)
    assert table_state(settings) == (rows, {"nb-score-2"}, {dt.date(2025, 10, 20)})  # replaced, not added
