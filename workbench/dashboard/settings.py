"""The ``dashboard:`` section of ``workbench/conf/workbench.yaml``: defaults, hero styles, export limit.

Read once per dashboard; a field the file misspells is refused by name, so a
typo does not silently fall back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.config import CONF_DIR

FIELDS = ("default_measures", "default_dimension", "default_grain", "default_period", "comparison",
          "hero_styles", "hero_count", "top_n", "trend_lines", "export_max_rows", "warm_up")

# The KPI cards the issue names: sales, traffic, conversion, attach rate, average ticket, sell-through, cover.
KPI_MEASURES = ("net_sales", "traffic", "conversion", "units_per_ticket", "average_ticket", "sell_through",
                "weeks_of_cover")


@dataclass(frozen=True)
class DashboardSettings:
    default_measures: tuple[str, ...] = KPI_MEASURES
    default_dimension: str = "region"
    default_grain: str = "week"
    default_period: str = "last_4_weeks"
    comparison: str = "previous"
    hero_styles: tuple[str, ...] = ()  # 主推款 style codes; empty: the period's top sellers stand in
    hero_count: int = 5
    top_n: int = 10
    trend_lines: int = 10
    export_max_rows: int = 100_000
    warm_up: bool = True  # compile the requests one click away while the user reads (workbench/dashboard/warmup.py)


def dashboard_settings(config_file: Path | None = None, raw: Mapping[str, Any] | None = None) -> DashboardSettings:
    """``dashboard:`` of the settings file (``WB_CONFIG``, else the checked-in one), or of ``raw``."""
    if raw is None:
        path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
        raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("dashboard") or {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in dashboard:; the fields are {', '.join(FIELDS)}")
    values = dict(raw)
    for key in ("default_measures", "hero_styles"):
        if key in values:
            values[key] = tuple(str(v) for v in values[key] or ())
    for key in ("hero_count", "top_n", "trend_lines", "export_max_rows"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ValueError(f"dashboard.{key} must be a whole number of at least 1, not {values[key]!r}")
    if "warm_up" in values and not isinstance(values["warm_up"], bool):
        raise ValueError(f"dashboard.warm_up must be true or false, not {values['warm_up']!r}")
    _check_choices(values)
    return DashboardSettings(**values)


def _check_choices(values: Mapping[str, Any]) -> None:
    from workbench.dashboard.periods import PRESETS
    from workbench.dashboard.state import COMPARISONS, DIMENSIONS, GRAINS

    for key, known in (("default_dimension", DIMENSIONS), ("default_grain", GRAINS), ("default_period", PRESETS),
                       ("comparison", COMPARISONS)):
        if key in values and values[key] not in known:
            raise ValueError(f"dashboard.{key} is {values[key]!r}; choose one of {', '.join(known)}")
