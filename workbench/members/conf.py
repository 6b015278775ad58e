"""``members.<key>`` of the settings file (``WB_CONFIG``, else ``workbench/conf/workbench.yaml``)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml

from workbench.config import CONF_DIR

T = TypeVar("T")


def members_section(key: str, config_file: Path | None = None) -> dict[str, Any]:
    """The ``members.<key>`` mapping ({} where absent: every setting at its default)."""
    path = config_file or Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("members") or {}
    return dict(raw.get(key) or {})


def settings_from(cls: type[T], key: str, config_file: Path | None = None) -> T:
    """A settings dataclass from ``members.<key>``; an unknown field is refused by name (a typo would be ignored)."""
    raw = members_section(key, config_file)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in members.{key} of the settings file; "
                         f"the fields are {', '.join(sorted(fields))}")
    return cls(**raw)
