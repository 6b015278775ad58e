"""Reading a photo from disk for inspection or search (the session's I/O, not the pure functions').

Refuses, with a message saying why: a path outside the allowed folders, a file too large, a file that is
not an image (or a corrupt one), an image larger than :data:`workbench.vision.align.MAX_SIDE` a side (its
size is read from the header before any pixel is decoded, so memory stays bounded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from workbench.vision.align import MAX_SIDE

__all__ = ["PhotoError", "read_photo", "reference_of", "MAX_BYTES"]

MAX_BYTES = 25 * 2**20


class PhotoError(ValueError):
    """A photo that cannot be used: where it is, what it is, or how large."""


def read_photo(path: str | Path, allowed: Sequence[str | Path]) -> np.ndarray:
    """The photo at ``path`` as a BGR uint8 image, if it lies in one of the ``allowed`` folders."""
    from PIL import Image, UnidentifiedImageError

    real = Path(path).resolve()
    roots = [Path(a).resolve() for a in allowed]
    if not any(real.is_relative_to(root) for root in roots):
        raise PhotoError(f"{path} is outside the folders photos may be read from ({', '.join(map(str, roots))})")
    if not real.is_file():
        raise PhotoError(f"no photo at {path}")
    if real.stat().st_size > MAX_BYTES:
        raise PhotoError(f"{path} is {real.stat().st_size / 2**20:.0f} MB: larger than {MAX_BYTES // 2**20} MB")
    try:
        with Image.open(real) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError):
        raise PhotoError(f"{path} is not an image (or a corrupt one): JPEG, PNG or WebP expected") from None
    if max(width, height) > MAX_SIDE:
        raise PhotoError(f"{path} is {width}x{height}: larger than {MAX_SIDE} pixels a side; scale it down first")
    image = cv2.imdecode(np.fromfile(real, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PhotoError(f"{path} could not be decoded: a corrupt image?")
    return image


def reference_of(references: Mapping[str, np.ndarray], skc: str) -> np.ndarray:
    """The SKC's reference photo; a clear error for an SKC the catalogue has no photo of."""
    try:
        return references[skc]
    except KeyError:
        raise KeyError(f"no reference photo for SKC {skc!r}: index its catalogue photo first") from None
