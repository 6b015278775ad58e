"""Showing a shoot (展示): the images side by side and their provenance as a table. Pure."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from PIL import Image

from workbench.studio.model_photos import ModelPhoto, read_photo

__all__ = ["contact_sheet", "provenance_table"]

PROVENANCE_COLUMNS = ["photo_id", "skc_code", "variant", "seed", "style", "scene", "pairing", "mode", "steps",
                      "strength", "guidance_scale", "model_id", "device", "dtype", "garment_share", "prompt"]


def contact_sheet(photos: Sequence[ModelPhoto], source=None, height: int = 256) -> Image.Image:
    """The product photo (if given: an image or a file) and the variants in one row, ``height`` pixels high (小样图)."""
    if source is not None and not isinstance(source, Image.Image):
        source = read_photo(source)[0]
    images = ([source] if source is not None else []) + [p.image for p in photos]
    if not images:
        raise ValueError("no photos to show")
    scaled = [im.convert("RGB").resize((max(1, im.width * height // im.height), height)) for im in images]
    sheet = Image.new("RGB", (sum(im.width for im in scaled) + 4 * (len(scaled) - 1), height), (255, 255, 255))
    x = 0
    for im in scaled:
        sheet.paste(im, (x, 0))
        x += im.width + 4
    return sheet


def provenance_table(photos: Sequence[ModelPhoto]) -> pd.DataFrame:
    """One row per photo: how it was made (prompt, parameters, model, seed)."""
    frame = pd.DataFrame([p.provenance for p in photos])
    return frame.reindex(columns=[c for c in PROVENANCE_COLUMNS if c in frame.columns])
