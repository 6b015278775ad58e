"""Log a training run and register its model; load a model by alias.

Every model of the workbench goes through :func:`log_training_run`, so every
run carries the same things (DESIGN.md invariant 6): parameters, the data
window it learned from, metrics per level, feature importance, figures, the
environment, and the model itself as an ``mlflow.pyfunc`` model with a
signature and an input example. The new version is registered and gets the
alias ``challenger``; only the review gate (:mod:`workbench.tracking.review`)
moves ``champion``.

Aliases:

``challenger``         the newest registered version, waiting for review
``champion``           the version in use: what :func:`load_by_alias` loads by default
``previous_champion``  the champion before the last promotion (a way back)
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from workbench.config import Settings, load_settings
from workbench.tracking.server import tracking_uri

if TYPE_CHECKING:
    import mlflow
    from matplotlib.figure import Figure

CHALLENGER = "challenger"
CHAMPION = "champion"
PREVIOUS_CHAMPION = "previous_champion"

# Pinned (name==installed version) in every model's requirements; callers add their own.
CORE_PACKAGES = ("mlflow", "cloudpickle", "numpy", "pandas", "pyarrow")
# Reported in each run's environment.json.
KEY_PACKAGES = CORE_PACKAGES + (
    "retail-workbench", "scipy", "scikit-learn", "lightgbm", "statsforecast", "mlforecast", "optuna",
    "ibis-framework", "duckdb", "torch", "matplotlib",
)


class ModelAliasMissing(LookupError):
    """A registered model or one of its aliases does not exist; the message says what to do."""


class ChampionMissing(ModelAliasMissing):
    """No ``champion`` to load: nothing trained yet, or nothing promoted yet."""


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version, with what it was trained on and how it scored."""

    name: str
    version: int
    aliases: list[str]
    run_id: str
    source: str
    created: pd.Timestamp
    data_window: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def connect(settings: Settings | None = None) -> "mlflow.MlflowClient":
    """Point MLflow (fluent API and client) at the workbench's tracking server; a client for it."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    uri = tracking_uri(settings or load_settings())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: "mlflow.MlflowClient", name: str) -> str:
    """The id of experiment ``name``, created if needed (without changing MLflow's active experiment)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:  # created by another process meanwhile
        return client.get_experiment_by_name(name).experiment_id


def pip_requirements(extra: Sequence[str] = ()) -> list[str]:
    """``name==version`` for the core packages and ``extra`` (package names or ready-made specs).

    Explicit requirements instead of MLflow's inference: inference pins torch
    without its ``+cpu`` label and takes 2.5x longer (STACK.md).
    """
    specs = []
    for name in (*CORE_PACKAGES, *extra):
        if re.search(r"[=<>!~ @]", name):
            specs.append(name)
            continue
        try:
            specs.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(f"{name} is not installed, so it cannot be a requirement of the model") from None
    return specs


def environment() -> dict[str, Any]:
    """Python, the machine, and the versions of the key packages (an artifact of every run)."""
    installed = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions() if d.metadata["Name"]}
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
        "key_packages": {name: installed.get(name) for name in KEY_PACKAGES if name in installed},
        "pip_freeze": sorted(f"{name}=={version}" for name, version in installed.items()),
    }


_NOT_IN_NAME = re.compile(r"[^\w.\- /]", re.ASCII)


def metric_key(metric: str, level: Any = None) -> str:
    """``{metric}.{level}`` with the characters MLflow refuses in names replaced by ``_``."""
    missing = level is None or (isinstance(level, float) and math.isnan(level)) or level == ""
    return _NOT_IN_NAME.sub("_", str(metric) if missing else f"{metric}.{level}")


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def importance_figure(importance: pd.DataFrame, top: int = 30) -> "Figure":
    """A horizontal bar chart of the ``top`` features (no pyplot: works with any backend, or none)."""
    from matplotlib.figure import Figure

    shown = importance.nlargest(top, "importance").iloc[::-1]
    fig = Figure(figsize=(7, 0.25 * len(shown) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(shown["feature"].astype(str), shown["importance"], color="#4C72B0")
    ax.set_xlabel("importance")
    ax.set_title(f"Feature importance (top {len(shown)} of {len(importance)})")
    return fig


def _importance_frame(importance: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(importance, pd.Series):
        importance = importance.rename("importance").rename_axis("feature").reset_index()
    missing = {"feature", "importance"} - set(importance.columns)
    if missing:
        raise ValueError(f"feature_importance needs columns feature and importance (missing: {', '.join(sorted(missing))})")
    return importance.sort_values("importance", ascending=False, ignore_index=True)


def _check_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    missing = {"level", "metric", "value"} - set(metrics.columns)
    if missing:
        raise ValueError(f"metrics needs columns level, metric and value (missing: {', '.join(sorted(missing))})")
    return metrics


def _check_window(data_window: Mapping[str, Any]) -> dict[str, Any]:
    window = {k: _plain(v) for k, v in data_window.items()}
    missing = {"start", "end"} - set(window)
    if missing:
        raise ValueError(f"data_window needs start and end (and usually as_of); missing: {', '.join(sorted(missing))}")
    return window


def _prediction_example(python_model: Any, input_example: pd.DataFrame, artifacts: Mapping[str, str] | None) -> Any:
    """What the model predicts for its input example, with its artifacts loaded as MLflow would."""
    from mlflow.pyfunc import PythonModelContext

    context = PythonModelContext(dict(artifacts or {}), None)
    python_model.load_context(context)
    return python_model.predict(context, input_example)


def log_training_run(
    experiment: str,
    *,
    model_name: str,
    python_model: Any,
    input_example: pd.DataFrame,
    data_window: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    metrics: pd.DataFrame | None = None,
    feature_importance: pd.DataFrame | pd.Series | None = None,
    figures: Mapping[str, "Figure"] | None = None,
    artifacts: Mapping[str, str | os.PathLike] | None = None,
    tags: Mapping[str, Any] | None = None,
    requirements: Sequence[str] = (),
    code_paths: Sequence[str | os.PathLike] | None = None,
    run_name: str | None = None,
    settings: Settings | None = None,
) -> int:
    """Log one training run, register its model under ``model_name`` as ``challenger``; the new version.

    - ``python_model``: an :class:`mlflow.pyfunc.PythonModel` instance (its
      ``load_context`` reads ``artifacts``), or the path of a models-from-code file.
    - ``input_example``: a few rows of model input; with the model's prediction
      for them it gives the signature (a model that cannot predict its own
      example is not registered).
    - ``data_window``: ``start``, ``end`` (required), ``as_of`` ...: logged as
      ``data_window.*`` parameters and as ``data_window.json``.
    - ``metrics``: a frame ``[level, metric, value]``, logged as ``{metric}.{level}``
      (``level`` null: just ``{metric}``) and as ``metrics.csv``.
    - ``feature_importance``: a frame ``[feature, importance]`` (or a Series by
      feature), logged as ``feature_importance.csv`` and a bar chart.
    - ``figures``: name -> matplotlib Figure, logged as ``figures/{name}.png``.
    - ``requirements``: package names (pinned to the installed version) or
      specs, added to :data:`CORE_PACKAGES` as the model's pip requirements.
    """
    client = connect(settings)
    import mlflow
    from mlflow.models import infer_signature

    window = _check_window(data_window)
    if metrics is not None:
        metrics = _check_metrics(metrics)
    local_artifacts = {k: str(Path(v)) for k, v in (artifacts or {}).items()}
    if isinstance(python_model, (str, os.PathLike)):
        signature = None  # models from code: MLflow infers it from the example when it loads the file
    else:
        signature = infer_signature(input_example, _prediction_example(python_model, input_example, local_artifacts))

    run_tags = {"model_name": model_name, **{k: str(v) for k, v in (tags or {}).items()}}
    with mlflow.start_run(experiment_id=experiment_id(client, experiment), run_name=run_name, tags=run_tags):
        mlflow.log_params({k: _plain(v) for k, v in (params or {}).items()})
        mlflow.log_params({f"data_window.{k}": v for k, v in window.items()})
        mlflow.log_dict(window, "data_window.json")
        if metrics is not None and len(metrics):
            mlflow.log_metrics({metric_key(r.metric, r.level): float(r.value) for r in metrics.itertuples(index=False)})
            mlflow.log_text(metrics.to_csv(index=False), "metrics.csv")
        if feature_importance is not None:
            importance = _importance_frame(feature_importance)
            mlflow.log_text(importance.to_csv(index=False), "feature_importance.csv")
            mlflow.log_figure(importance_figure(importance), "feature_importance.png")
        for name, figure in (figures or {}).items():
            mlflow.log_figure(figure, f"figures/{name}.png")
        mlflow.log_dict(environment(), "environment.json")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            artifacts=local_artifacts or None,
            code_paths=[str(p) for p in code_paths] if code_paths else None,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements(requirements),
            registered_model_name=model_name,
        )
        version = int(info.registered_model_version)
        client.set_registered_model_alias(model_name, CHALLENGER, str(version))
        for key, value in window.items():
            client.set_model_version_tag(model_name, str(version), f"data_window.{key}", str(value))
        mlflow.set_tag("registered_version", str(version))
    return version


def _missing(client: "mlflow.MlflowClient", name: str, alias: str, uri: str) -> ModelAliasMissing:
    """The error for a missing model or alias, saying what to do about it."""
    from mlflow.exceptions import MlflowException

    kind = ChampionMissing if alias == CHAMPION else ModelAliasMissing
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return kind(
            f"no registered model {name!r} on {uri}: train one first (each model's training calls "
            f"workbench.tracking.log_training_run(..., model_name={name!r})), then promote it with `wb models review {name}`"
        )
    aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(model.aliases.items())) or "none"
    if alias == CHAMPION:
        todo = (f"review the challenger with `wb models review {name}`" if CHALLENGER in model.aliases
                else f"train a new version (it becomes the challenger), then `wb models review {name}`")
        return kind(f"model {name!r} has no champion yet (aliases: {aliases}): {todo}")
    return kind(f"model {name!r} has no version with alias {alias!r} (aliases: {aliases}); see `wb models list`")


def version_by_alias(name: str, alias: str = CHAMPION, *, settings: Settings | None = None):
    """The registered ``ModelVersion`` behind ``name@alias``; :class:`ModelAliasMissing` if there is none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = connect(settings)
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        raise _missing(client, name, alias, mlflow.get_registry_uri()) from None


def load_by_alias(name: str, alias: str = CHAMPION, *, settings: Settings | None = None) -> "mlflow.pyfunc.PyFuncModel":
    """The pyfunc model ``name@alias`` (the champion by default), ready to ``predict``.

    Raises :class:`ChampionMissing` (a :class:`LookupError`) saying whether to
    train a model or to review the challenger when there is none.
    """
    import mlflow

    version = version_by_alias(name, alias, settings=settings)
    return mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")


def _info(client: "mlflow.MlflowClient", version) -> ModelVersionInfo:
    run = client.get_run(version.run_id) if version.run_id else None
    params = dict(run.data.params) if run else {}
    window = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("data_window.")}
    return ModelVersionInfo(
        name=version.name,
        version=int(version.version),
        aliases=sorted(version.aliases),
        run_id=version.run_id,
        source=version.source,
        created=pd.Timestamp(version.creation_timestamp, unit="ms"),
        data_window=window,
        params={k: v for k, v in params.items() if not k.startswith("data_window.")},
        metrics=dict(run.data.metrics) if run else {},
        tags=dict(version.tags),
    )


def model_version_info(name: str, alias: str = CHAMPION, *, settings: Settings | None = None) -> ModelVersionInfo:
    """Version, run id, data window, parameters and metrics of ``name@alias``."""
    version = version_by_alias(name, alias, settings=settings)
    return _info(connect(settings), version)


def list_models(settings: Settings | None = None) -> pd.DataFrame:
    """Every registered model version: name, version, aliases, created, run id, data window."""
    client = connect(settings)
    rows = []
    for model in client.search_registered_models(max_results=1000):
        by_version: dict[str, list[str]] = {}
        for alias, number in model.aliases.items():  # search results do not carry the versions' aliases
            by_version.setdefault(str(number), []).append(alias)
        for version in client.search_model_versions(f"name = '{model.name}'"):
            tags = version.tags
            rows.append({
                "name": model.name,
                "version": int(version.version),
                "aliases": ", ".join(sorted(by_version.get(str(version.version), []))),
                "created": pd.Timestamp(version.creation_timestamp, unit="ms").floor("s"),
                "data_window": " .. ".join(filter(None, (tags.get("data_window.start"), tags.get("data_window.end")))),
                "review": tags.get("review.decision", ""),
                "run_id": version.run_id,
            })
    columns = ["name", "version", "aliases", "created", "data_window", "review", "run_id"]
    return pd.DataFrame(rows, columns=columns).sort_values(["name", "version"], ascending=[True, False], ignore_index=True)


def write_temp_json(data: Any, name: str) -> Path:
    """A JSON file in a fresh temporary folder (for ``artifacts=``: pyfunc artifacts are files)."""
    path = Path(tempfile.mkdtemp(prefix="wb-artifact-")) / name
    path.write_text(json.dumps(data, default=_plain, indent=1), encoding="utf-8")
    return path
