"""Where things live and which engine runs the warehouse.

Settings come from ``workbench/conf/workbench.yaml`` (under version control),
overridden by environment variables so that tests, CI and deployments can
point the same code elsewhere without editing files:

``WB_HOME``      project root (default: the folder holding ``workbench/``)
``WB_CONFIG``    another settings file
``WB_ENGINE``    engine profile name (``duckdb`` or ``pyspark``)
``WB_WAREHOUSE`` warehouse location for the chosen engine (file or folder)
``WB_ACCESS``    the users / roles / policies file
``WB_AUDIT_DIR`` folder of audit log files
``WB_MODELS_DIR`` the local MLflow store (backend database, artifacts, server PID and log)
``WB_RUNS_DIR``  archived pipeline runs (executed notebooks, logs) and the run locks
``WB_MLFLOW_URI`` an MLflow server that is already running (read by ``workbench.tracking``)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
CONF_DIR = PACKAGE_DIR / "conf"


def project_root() -> Path:
    """The checkout (or deployment) root that holds ``data/``, ``notebooks/`` ..."""
    env = os.environ.get("WB_HOME")
    return Path(env).resolve() if env else PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    """Resolved settings: absolute paths and the engine profile in use."""

    engine: str
    warehouse: Path
    access_file: Path
    audit_dir: Path
    data_dir: Path
    engine_options: dict[str, Any] = field(default_factory=dict)
    # The local MLflow store (``models/store``) and the ``mlflow:`` section of the settings file.
    models_dir: Path = field(default_factory=lambda: project_root() / "models" / "store")
    mlflow: dict[str, Any] = field(default_factory=dict)
    # Archived pipeline runs (``<runs_dir>/<pipeline>/<as_of>/<run_id>/``) and the ``pipelines:`` section.
    runs_dir: Path = field(default_factory=lambda: project_root() / "data" / "runs")
    pipelines: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (tests point one at a temp folder)."""
        return replace(self, **changes)


def settings_file(config_file: str | os.PathLike | None = None) -> Path:
    """The settings file: ``config_file``, else ``WB_CONFIG``, else the checked-in ``conf/workbench.yaml``."""
    return Path(config_file or os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))


def settings_section(name: str, config_file: str | os.PathLike | None = None) -> dict[str, Any]:
    """The ``<name>:`` section of the settings file ({} where absent: every setting at its default)."""
    raw = yaml.safe_load(settings_file(config_file).read_text(encoding="utf-8")) or {}
    return dict(raw.get(name) or {})


def dataclass_from(cls: type, raw: dict[str, Any] | None, where: str) -> Any:
    """A settings dataclass from a mapping; an unknown field is refused by name (a typo would be ignored)."""
    import dataclasses

    raw = dict(raw or {})
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in {where}; the fields are {', '.join(fields)}")
    return cls(**raw)


def _resolve(root: Path, value: str | os.PathLike) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (root / path)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings file, then the ``WB_*`` environment, then ``overrides``."""
    root = project_root()
    config_file = Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}

    engine = overrides.pop("engine", None) or os.environ.get("WB_ENGINE") or raw["engine"]
    profiles = raw.get("engines", {})
    if engine not in profiles:
        known = ", ".join(sorted(profiles))
        raise ValueError(f"unknown engine {engine!r} (known: {known}); set WB_ENGINE or edit {config_file}")
    profile = dict(profiles[engine])
    warehouse = os.environ.get("WB_WAREHOUSE") or profile.pop("warehouse")
    profile.pop("warehouse", None)
    paths = raw.get("paths", {})

    settings = Settings(
        engine=engine,
        warehouse=_resolve(root, warehouse),
        access_file=_resolve(root, os.environ.get("WB_ACCESS") or CONF_DIR / paths.get("access", "access.yaml")),
        audit_dir=_resolve(root, os.environ.get("WB_AUDIT_DIR") or paths.get("audit", "data/audit")),
        data_dir=_resolve(root, paths.get("data", "data")),
        engine_options=profile,
        models_dir=_resolve(root, os.environ.get("WB_MODELS_DIR") or raw.get("mlflow", {}).get("store", "models/store")),
        mlflow=dict(raw.get("mlflow", {})),
        runs_dir=_resolve(root, os.environ.get("WB_RUNS_DIR") or paths.get("runs", "data/runs")),
        pipelines=dict(raw.get("pipelines", {})),
    )
    for name in ("warehouse", "access_file", "audit_dir", "data_dir", "models_dir", "runs_dir"):
        if name in overrides and overrides[name] is not None:
            overrides[name] = _resolve(root, overrides[name])
    return settings.with_(**overrides) if overrides else settings
