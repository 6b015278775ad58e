"""The ``vision:`` section of the settings file: inspection thresholds and photo search settings.

Each sub-key (``inspection``, ``search``) is read into a dataclass; an unknown key is refused by name,
so a typo cannot silently leave a threshold at its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from workbench.config import dataclass_from, project_root, settings_file, settings_section

__all__ = ["InspectionRules", "SearchSettings", "load_inspection_rules", "load_search_settings", "vision_section",
           "vision_folders"]

T = TypeVar("T")
SECTIONS = ("inspection", "search", "catalogue_dir", "photos_dir")


@dataclass(frozen=True)
class InspectionRules:
    """Thresholds of returns inspection (返货检查); the ``*_min_*`` ones calibrated by ``wb bench vision``."""
    stain_min_share: float = 0.00065     # largest stain region, share of the garment, to count as a stain
    hole_min_share: float = 0.00103      # largest hole region, share of the garment, to count as a hole
    missing_min_share: float = 0.133    # share of an accessory's region that differs, to count it missing
    reject_hole_share: float = 0.0      # a hole at least this large rejects the item (0: any hole)
    reject_stain_share: float = 0.02    # a stain at least this large rejects it; smaller ones make B-goods
    pixel_tolerance: float = 45.0       # summed BGR difference beyond the reference's local range


@dataclass(frozen=True)
class SearchSettings:
    """Photo search (拍照识别商品)."""
    top_k: int = 5
    colour_weight: float = 1.0
    texture_weight: float = 0.5
    shape_weight: float = 0.3
    rerank: int = 40                    # nearest candidates re-ranked by verified ORB matches


def vision_section(config_file: Path | None = None) -> dict[str, Any]:
    """``vision:`` of the settings file (``WB_CONFIG``, else workbench/conf/workbench.yaml); {} where absent."""
    raw = settings_section("vision", config_file)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in vision: of {settings_file(config_file)}; "
                         f"the keys are {', '.join(SECTIONS)}")
    return raw


def settings_from(cls: type[T], raw: dict[str, Any] | None, where: str) -> T:
    """A settings dataclass from a mapping; an unknown field is refused by name, a value must be a number."""
    for name, value in (raw or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{where}.{name} must be a number of at least 0, not {value!r}")
    return dataclass_from(cls, raw, where)


def load_inspection_rules(config_file: Path | None = None) -> InspectionRules:
    return settings_from(InspectionRules, vision_section(config_file).get("inspection"), "vision.inspection")


def load_search_settings(config_file: Path | None = None) -> SearchSettings:
    return settings_from(SearchSettings, vision_section(config_file).get("search"), "vision.search")


def vision_folders(config_file: Path | None = None) -> tuple[Path, Path]:
    """The catalogue's reference photos (``vision.catalogue_dir``) and where photos of items arrive
    (``vision.photos_dir``, the only other folder photos are read from); relative to the project."""
    raw = vision_section(config_file)
    folders = (raw.get("catalogue_dir") or "data/vision/catalogue", raw.get("photos_dir") or "data/vision/photos")
    return tuple(p if p.is_absolute() else project_root() / p for p in map(Path, folders))  # type: ignore[return-value]
