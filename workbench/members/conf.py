"""``members.<key>`` of the settings file (``WB_CONFIG``, else ``workbench/conf/workbench.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from workbench.config import dataclass_from, settings_section

T = TypeVar("T")


def members_section(key: str, config_file: Path | None = None) -> dict[str, Any]:
    """The ``members.<key>`` mapping ({} where absent: every setting at its default)."""
    return dict(settings_section("members", config_file).get(key) or {})


def settings_from(cls: type[T], key: str, config_file: Path | None = None) -> T:
    """A settings dataclass from ``members.<key>``; an unknown field is refused by name (a typo would be ignored)."""
    return dataclass_from(cls, members_section(key, config_file), f"members.{key} of the settings file")
