"""Training runs and the registry against a real MLflow server (one per session)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from workbench.tracking import registry
from workbench.tracking.registry import ChampionMissing, ModelAliasMissing, load_by_alias, model_version_info

from . import toy

pytestmark = pytest.mark.slow


def test_a_training_run_registers_a_challenger_with_everything_logged(model_name):
    version = toy.register(model_name, 2.5)
    assert version == 1
    info = model_version_info(model_name, "challenger")
    assert (info.version, info.aliases) == (1, ["challenger"])
    assert info.data_window == {"start": "2025-01-01", "end": "2025-06-30", "as_of": "2025-07-01T00:00:00"}
    assert info.metrics == {"rel_error.total": 0.1, "rel_error.SKC_store": 0.2, "bias": 0.0}
    assert info.params["factor"] == json.dumps(toy.factors(2.5))
    assert info.tags["data_window.end"] == "2025-06-30"

    client = registry.connect()
    logged = {a.path for a in client.list_artifacts(info.run_id)} | {
        a.path for a in client.list_artifacts(info.run_id, "figures")}
    assert {"data_window.json", "metrics.csv", "feature_importance.csv", "feature_importance.png",
            "environment.json", "figures/backtest.png"} <= logged
    env = json.loads(Path(client.download_artifacts(info.run_id, "environment.json")).read_text())
    assert env["key_packages"]["mlflow"] == mlflow.__version__ and env["python"]

    model = mlflow.pyfunc.load_model(f"models:/{model_name}@challenger")
    assert model.metadata.signature.inputs.input_names() == ["segment", "x"]
    assert model.metadata.signature.outputs.input_names() == ["prediction"]
    assert model.metadata.saved_input_example_info is not None
    requirements = Path(mlflow.pyfunc.get_model_dependencies(f"models:/{model_name}/1")).read_text().split()
    assert f"mlflow=={mlflow.__version__}" in requirements and any(r.startswith("pandas==") for r in requirements)


def test_load_by_alias_round_trips_predictions(model_name):
    toy.register(model_name, {"A": 2.0, "B": 3.0, "C": 0.5})
    model = load_by_alias(model_name, "challenger")
    predicted = model.predict(toy.EXAMPLE)["prediction"].tolist()
    assert predicted == [2.0, 6.0, 1.5]


def test_missing_model_or_champion_says_what_to_do(model_name):
    with pytest.raises(ChampionMissing, match=f"no registered model '{model_name}'.*train one first") as err:
        load_by_alias(model_name)
    assert isinstance(err.value, LookupError)
    toy.register(model_name, 2.0)
    with pytest.raises(ChampionMissing, match=f"has no champion yet.*`wb models review {model_name}`"):
        load_by_alias(model_name)
    with pytest.raises(ModelAliasMissing, match="no version with alias 'staging'") as err:
        model_version_info(model_name, "staging")
    assert not isinstance(err.value, ChampionMissing)


def test_a_model_that_cannot_predict_its_example_is_not_registered(model_name):
    with pytest.raises(KeyError):
        registry.log_training_run(
            "tracking_tests", model_name=model_name, python_model=toy.FactorModel(),
            artifacts={"factors": registry.write_temp_json({"A": 1.0}, "factors.json")},
            input_example=pd.DataFrame({"x": [1.0]}), data_window={"start": "2025-01-01", "end": "2025-01-31"})
    with pytest.raises(ValueError, match="data_window needs start and end"):
        registry.log_training_run("tracking_tests", model_name=model_name, python_model=toy.FactorModel(),
                                  input_example=toy.EXAMPLE, data_window={"as_of": "2025-01-31"})
    assert model_name not in set(registry.list_models().name)


def test_metric_keys_keep_to_what_mlflow_accepts():
    assert registry.metric_key("wrmsse", "SKC×store") == "wrmsse.SKC_store"
    assert registry.metric_key("wape", None) == registry.metric_key("wape", float("nan")) == "wape"
