"""The catalogue's reference photos on disk (商品参考图), as the inspection station and the photo search read them.

A folder (``vision.catalogue_dir``): ``<SKC>.png`` (or ``.jpg`` / ``.webp``) is the style-colour's reference
photo, flat on a plain table; ``<SKC>.<kind>.<n>.png`` declares an accessory region on it (white on black:
``button``, ``belt``, ``tag`` ...), which inspection checks is still there. The search index of the folder is
kept beside it (``.search-index.pkl``) and rebuilt when a photo is newer than it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from workbench.vision.conf import SearchSettings
from workbench.vision.photos import read_photo
from workbench.vision.search import SearchIndex, build_index

__all__ = ["Reference", "load_catalogue", "catalogue_index", "write_demo_catalogue"]

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
INDEX_FILE = ".search-index.pkl"


@dataclass(frozen=True)
class Reference:
    """A style-colour's reference photo and its declared accessory regions (kind, mask)."""
    image: np.ndarray
    accessories: tuple[tuple[str, np.ndarray], ...] = ()


def _photos(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"no catalogue folder {folder}: set vision.catalogue_dir, or try "
                                f"`wb vision catalogue --demo 50` to write a generated one")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def load_catalogue(folder: Path) -> dict[str, Reference]:
    """Every SKC of the folder with its reference photo and accessory masks."""
    photos = _photos(folder)
    masks: dict[str, list[tuple[str, np.ndarray]]] = {}
    for p in (p for p in photos if p.stem.count(".") == 2):
        skc, kind, _ = p.stem.split(".")
        masks.setdefault(skc, []).append((kind, cv2.cvtColor(read_photo(p, [folder]), cv2.COLOR_BGR2GRAY)))
    found = {p.stem: Reference(read_photo(p, [folder]), tuple(masks.get(p.stem, ())))
             for p in photos if "." not in p.stem}
    if not found:
        raise FileNotFoundError(f"no reference photos (<SKC>.png) in {folder}")
    return found


def catalogue_index(folder: Path, settings: SearchSettings, progress: bool = False) -> SearchIndex:
    """The search index of the folder's reference photos, built once and kept until a photo changes."""
    path = folder / INDEX_FILE
    newest = max((p.stat().st_mtime for p in _photos(folder)), default=0.0)
    if path.is_file() and path.stat().st_mtime >= newest:
        with path.open("rb") as f:
            index = pickle.load(f)  # our own file, written below
        if index.settings == settings:
            return index
    photos = {skc: ref.image for skc, ref in load_catalogue(folder).items()}
    index = build_index(photos, settings, progress=progress)
    with path.open("wb") as f:
        pickle.dump(index, f)
    return index


def write_demo_catalogue(folder: Path, skcs: int, seed: int = 42) -> list[Path]:
    """A generated catalogue (:mod:`workbench.vision.synthetic`) and, under ``photos/``, photos of a few returns
    (one clean, one with each defect) and of staff searching, to try the commands on."""
    from workbench.vision import synthetic
    from workbench.vision.garments import render

    folder.mkdir(parents=True, exist_ok=True)
    items = synthetic.catalogue(skcs, seed)
    for g in items:
        image, _, accessories = render(g)
        cv2.imwrite(str(folder / f"{g.skc}.png"), image)
        for n, a in enumerate(accessories, 1):
            cv2.imwrite(str(folder / f"{g.skc}.{a.kind}.{n}.png"), (a.mask > 0).astype(np.uint8) * 255)
    shots = folder / "photos"
    shots.mkdir(exist_ok=True)
    written = []
    for case in synthetic.inspection_cases(4, seed):
        name = "-".join(sorted(case.labels)) or "clean"
        cv2.imwrite(str(folder / f"{case.garment.skc}.png"), case.reference)
        for n, a in enumerate(render(case.garment)[2], 1):
            cv2.imwrite(str(folder / f"{case.garment.skc}.{a.kind}.{n}.png"), (a.mask > 0).astype(np.uint8) * 255)
        written.append(shots / f"return-{case.garment.skc}-{name}.jpg")
        cv2.imwrite(str(written[-1]), case.photo.image)
    for skc, photo in synthetic.search_queries(items, 3, seed + 1):
        written.append(shots / f"search-{skc}.jpg")
        cv2.imwrite(str(written[-1]), photo)
    return written
