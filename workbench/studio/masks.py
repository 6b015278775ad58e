"""Keeping the garment (保留服装): a mask from the product photo's background. Pure (numpy and PIL).

A product photo (平铺图 / 挂拍图) is shot on a plain background, so the background is the colour of the
photo's border: pixels within ``tolerance`` of it are background and are repainted (white in the mask),
the rest is the garment and is kept (black). A photo whose border is not plain, or with no garment left
after the cut, is refused rather than silently repainted whole.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["prepare_photo", "background_mask", "garment_share"]

MIN_SIDE = 16  # pixels: anything smaller is not a product photo
MAX_PIXELS = 40_000_000  # a larger upload is refused before it is decoded (bounded memory)


def prepare_photo(image: Image.Image, size: int) -> Image.Image:
    """The photo as RGB on a ``size`` square canvas (letterboxed with its border colour), ready to generate from."""
    if image.width < MIN_SIDE or image.height < MIN_SIDE:
        raise ValueError(f"the product photo is {image.width}x{image.height} pixels: empty or too small "
                         f"(at least {MIN_SIDE}x{MIN_SIDE})")
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"the product photo has {image.width * image.height:,} pixels; at most {MAX_PIXELS:,}")
    rgb = image.convert("RGB")
    rgb.thumbnail((size, size), Image.Resampling.LANCZOS)
    border = tuple(int(v) for v in _border_colour(np.asarray(rgb)))
    canvas = Image.new("RGB", (size, size), border)
    canvas.paste(rgb, ((size - rgb.width) // 2, (size - rgb.height) // 2))
    return canvas


def _border_colour(pixels: np.ndarray) -> np.ndarray:
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).astype(float)
    return np.median(edge, axis=0)


def background_mask(image: Image.Image, tolerance: float) -> Image.Image:
    """The repaint mask (L mode): 255 on the background (repaint), 0 on the garment (keep)."""
    pixels = np.asarray(image.convert("RGB")).astype(float)
    distance = np.linalg.norm(pixels - _border_colour(pixels), axis=2)
    background = distance <= tolerance
    share = 1.0 - background.mean()
    if share < 0.02:
        raise ValueError("no garment found in the product photo: it is all background (lower "
                         "studio.background_tolerance, or check that the photo shows the product)")
    if share > 0.95:
        raise ValueError("the product photo has no plain background to repaint: shoot it on a plain backdrop, "
                         "or use mode img2img")
    return Image.fromarray(np.where(background, 255, 0).astype(np.uint8), mode="L")


def garment_share(mask: Image.Image) -> float:
    """Share of the picture kept as garment (0-1): recorded with the image so a reviewer sees how much was kept."""
    return float((np.asarray(mask) == 0).mean())
