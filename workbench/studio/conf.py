"""``studio:`` of the settings file: where the weights are, generation defaults and the prompt library (提示词模板库).

Unknown keys are refused by name (a typo would otherwise be ignored and a default used silently).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from workbench.config import project_root, settings_section

__all__ = ["CPU_DTYPES", "StudioSettings", "load_studio_settings", "studio_settings_from"]

CPU_DTYPES = ("float32", "bfloat16")


@dataclasses.dataclass(frozen=True)
class StudioSettings:
    """Resolved ``studio:`` settings (paths absolute)."""

    weights_dir: Path
    model_id: str | None
    output_dir: Path
    mode: str = "inpaint"
    size: int = 512
    steps: int = 4
    strength: float = 0.9
    guidance_scale: float = 0.0
    background_tolerance: float = 40.0
    cpu_dtype: str = "float32"  # a GPU always runs float16
    prompt: str = "{garment}, worn by {style}, {pairing}, {scene}"
    negative_prompt: str = ""
    styles: dict[str, str] = dataclasses.field(default_factory=dict)
    scenes: dict[str, str] = dataclasses.field(default_factory=dict)
    pairings: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def model_name(self) -> str:
        """The model recorded with every image: ``studio.model_id``, else the weights folder's name."""
        return self.model_id or Path(self.weights_dir).name

    def with_(self, **changes: Any) -> "StudioSettings":
        """A copy with some settings changed (a notebook's parameters, a test's tiny weights)."""
        return dataclasses.replace(self, **changes)


def studio_settings_from(raw: dict[str, Any], root: Path | None = None) -> StudioSettings:
    """Settings from a ``studio:`` mapping; unknown keys and non-mapping template libraries are refused."""
    fields = {f.name for f in dataclasses.fields(StudioSettings)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in studio: of the settings file; the keys are {', '.join(sorted(fields))}")
    for library in ("styles", "scenes", "pairings"):
        entries = raw.get(library) or {}
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise ValueError(f"studio.{library} must map each key to its prompt words (a string)")
    if raw.get("cpu_dtype", "float32") not in CPU_DTYPES:
        raise ValueError(f"studio.cpu_dtype is {raw['cpu_dtype']!r}: choose {' or '.join(CPU_DTYPES)}")
    root = root or project_root()
    values = dict(raw)
    values.setdefault("weights_dir", "models/weights/sd-turbo")
    values.setdefault("model_id", None)
    values.setdefault("output_dir", "data/studio")
    for key in ("weights_dir", "output_dir"):
        path = Path(values[key]).expanduser()
        values[key] = path if path.is_absolute() else root / path
    return StudioSettings(**values)


def load_studio_settings(config_file: Path | None = None, **overrides: Any) -> StudioSettings:
    """``studio:`` of ``WB_CONFIG`` (else ``workbench/conf/workbench.yaml``); ``WB_STUDIO_WEIGHTS`` and
    ``WB_STUDIO_DIR`` override the weights and output folders, then ``overrides`` (a notebook's parameters; None or "" keeps the setting)."""
    raw = settings_section("studio", config_file)
    for key, env in (("weights_dir", "WB_STUDIO_WEIGHTS"), ("output_dir", "WB_STUDIO_DIR")):
        if os.environ.get(env):
            raw[key] = os.environ[env]
    raw.update({k: v for k, v in overrides.items() if v not in (None, "")})
    return studio_settings_from(raw)
