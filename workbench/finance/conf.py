"""The ``finance:`` section of the settings file, one sub-key per rule set.

Each module (``pnl``, ``stock_age``, ``b_goods``, ``write_down``, ``store_model``, ``risk``) reads its own sub-key and checks it itself, so a
mistake names the field to fix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from workbench.config import CONF_DIR

__all__ = ["finance_section", "check_fields"]


def finance_section(key: str, config_file: Path | None = None, required: bool = True) -> Mapping[str, Any]:
    """``finance.<key>`` of the settings file (``WB_CONFIG``, else ``workbench/conf/workbench.yaml``); an
    absent section is refused when ``required``, else read as empty (every setting at its default)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("finance") or {}
    if key not in raw and required:
        raise ValueError(f"{path} has no finance.{key} section: add it (see workbench/conf/workbench.yaml)")
    return raw[key] or {}


def check_fields(raw: Mapping[str, Any], fields: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in {where}; the fields are {', '.join(fields)}")
