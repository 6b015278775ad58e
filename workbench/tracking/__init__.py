"""Model tracking (MLflow): the local server, training runs, the registry and the review gate.

- ``server``    ``wb mlflow serve|stop|status``; :func:`tracking_uri`, :func:`running_server`
- ``registry``  :func:`log_training_run` (registers ``challenger``), :func:`load_by_alias`,
                :func:`model_version_info`, :class:`ChampionMissing`
- ``review``    ``review.review()``: challenger vs champion on the same backtest; the only way to ``champion``
- ``commands``  ``wb mlflow ...``, ``wb models list|show|review``

Names are imported lazily (``from workbench.tracking import load_by_alias``
works; mlflow itself is imported only when a function needs it). See
``workbench/tracking/README.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "tracking_uri": "server", "running_server": "server", "ServerNotRunning": "server", "TrackingError": "server",
    "log_training_run": "registry", "load_by_alias": "registry", "model_version_info": "registry",
    "list_models": "registry", "ChampionMissing": "registry", "ModelAliasMissing": "registry",
    "CHAMPION": "registry", "CHALLENGER": "registry", "PREVIOUS_CHAMPION": "registry",
    "ReviewDecision": "review", "REVIEWERS": "review", "ChallengerMissing": "review",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workbench.tracking' has no attribute {name!r}")
    return getattr(importlib.import_module(f"workbench.tracking.{_EXPORTS[name]}"), name)
