"""The evaluation set (评测集): garment-like product photos, their staff photos and planted defects.

Everything here is generated from a seed, so the same seed gives the same pixels: a reference photo per
style-colour (SKC: a silhouette, a colour, a print), the accessories declared on it (buttons, belt, tag), a
photo of the item taken on the returns table under realistic perturbations (angle, scale, perspective, crop,
light and white balance, blur, noise, JPEG), and defects planted with known masks in the reference's frame:
stains (污渍), holes / damage (破洞) and missing accessories (缺配件).

Why generate: no labelled photos of the chain's returns exist; a generator gives exact masks to score
against and any number of cases. Limits (README): defects are planted on the fabric away from the
accessories, with a colour that shows on the fabric; the background is a light, near-neutral table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from workbench.vision.garments import Accessory, Garment, random_garment, render

__all__ = ["Photo", "InspectionCase", "DEFECTS", "catalogue", "photograph", "plant", "inspection_cases",
           "search_queries"]

SIZE = 256
DEFECTS = ("stain", "hole", "missing_accessory")


@dataclass(frozen=True)
class Photo:
    """A photo of an item (拍照) and the true homography from the reference frame to it."""
    image: np.ndarray
    homography: np.ndarray


@dataclass(frozen=True)
class InspectionCase:
    """A returned item: its SKC's reference, the photo of the return, the planted defects' masks (reference frame)."""
    garment: Garment
    reference: np.ndarray
    photo: Photo
    defects: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(self.defects)


def catalogue(n: int, seed: int) -> list[Garment]:
    """``n`` style-colours with codes ``SKC00000``...; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    return [random_garment(f"SKC{i:05d}", rng) for i in range(n)]


def photograph(item: np.ndarray, rng: np.random.Generator, strength: float = 1.0, crop: float = 0.0) -> Photo:
    """The item as staff photograph it: a random homography (rotation, scale, perspective, shift), light
    (gain, white balance, gamma, a shading gradient), blur, noise and JPEG; ``crop`` cuts up to that share
    of the frame from one or two sides (the item half out of the picture)."""
    h = _random_homography(rng, strength)
    background = tuple(float(v) for v in item[0, 0])
    warped = cv2.warpPerspective(item, h, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=background)
    lit = _light(warped.astype(np.float32), rng, strength)
    out = _cropped(lit, rng, crop) if crop else lit
    out = _blur_noise(out, rng, strength)
    ok, jpeg = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8),
                            [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])
    return Photo(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), h)


def _random_homography(rng: np.random.Generator, strength: float) -> np.ndarray:
    c = SIZE / 2
    angle = rng.uniform(-25, 25) * strength
    scale = 1 + rng.uniform(-0.12, 0.12) * strength
    rot = np.vstack([cv2.getRotationMatrix2D((c, c), angle, scale), [0, 0, 1]])
    shift = np.array([[1, 0, rng.uniform(-12, 12) * strength], [0, 1, rng.uniform(-12, 12) * strength], [0, 0, 1]])
    corners = np.float32([[0, 0], [SIZE, 0], [SIZE, SIZE], [0, SIZE]])
    moved = corners + rng.uniform(-0.04, 0.04, (4, 2)).astype(np.float32) * SIZE * strength
    persp = cv2.getPerspectiveTransform(corners, moved)
    return shift @ persp @ rot


def _light(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Exposure, white balance (per-channel gain), gamma and a linear shading across the frame."""
    gain = 1 + rng.uniform(-0.2, 0.15) * strength
    balance = 1 + rng.uniform(-0.1, 0.1, 3) * strength
    gamma = 1 + rng.uniform(-0.2, 0.2) * strength
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE - 0.5
    gx, gy = rng.uniform(-0.25, 0.25, 2) * strength
    shade = 1 + gx * xx + gy * yy
    out = 255 * (img / 255) ** gamma * gain * balance[None, None, :] * shade[..., None]
    return out


def _cropped(img: np.ndarray, rng: np.random.Generator, crop: float) -> np.ndarray:
    """Cut one or two sides (by up to ``crop`` of the frame) and scale back to the frame's size."""
    top, bottom, left, right = (rng.uniform(0, crop) if rng.random() < 0.5 else 0.0 for _ in range(4))
    y0, y1 = int(top * SIZE), SIZE - int(bottom * SIZE)
    x0, x1 = int(left * SIZE), SIZE - int(right * SIZE)
    return cv2.resize(img[y0:y1, x0:x1], (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)


def _blur_noise(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    sigma = rng.uniform(0.0, 1.1) * strength
    if sigma > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    return img + rng.normal(0, rng.uniform(1.5, 5.0) * strength, img.shape).astype(np.float32)


def plant(garment: Garment, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The item with a defect of ``kind`` planted: (image, the defect's mask in the reference frame)."""
    if kind == "missing_accessory":
        return _missing_accessory(garment, rng)
    image, body, accessories = render(garment)
    allowed = cv2.erode(body, np.ones((9, 9), np.uint8)) & ~_accessory_zone(accessories)
    mask = _blob(allowed, rng, (7, 15) if kind == "stain" else (5, 11), frayed=kind == "hole")
    if kind == "stain":
        return _stain(image, mask, garment, rng), mask
    if kind == "hole":
        return _hole(image, mask, garment, rng), mask
    raise ValueError(f"unknown defect kind {kind!r}; the kinds are {', '.join(DEFECTS)}")


def _accessory_zone(accessories: list[Accessory]) -> np.ndarray:
    zone = np.zeros((SIZE, SIZE), np.uint8)
    for a in accessories:
        zone |= a.mask
    return cv2.dilate(zone, np.ones((15, 15), np.uint8))


def _blob(allowed: np.ndarray, rng: np.random.Generator, radius: tuple[int, int], frayed: bool) -> np.ndarray:
    """An irregular blob inside ``allowed``: a circle whose edge is pushed by smooth noise (torn when frayed)."""
    ys, xs = np.nonzero(allowed)
    if len(ys) == 0:
        raise ValueError("no fabric left to plant a defect on")
    i = int(rng.integers(len(ys)))
    cy, cx, r = ys[i], xs[i], rng.uniform(*radius)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = sum(rng.uniform(0.05, 0.2) * np.sin(k * angle + rng.uniform(0, 6.3)) for k in (2, 3, 5))
    if frayed:
        wobble = wobble + 0.12 * np.sin(17 * angle + rng.uniform(0, 6.3))
    inside = np.hypot(yy - cy, xx - cx) < r * (1 + wobble)
    return (inside & (allowed > 0)).astype(np.uint8) * 255


def _stain(image: np.ndarray, mask: np.ndarray, garment: Garment, rng: np.random.Generator) -> np.ndarray:
    """A colour blob with soft edges: coffee, wine, grease, ink or grass, mixed into the fabric."""
    colour = _contrasting(garment, rng)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 2.0) * rng.uniform(0.55, 0.8)
    mixed = image.astype(np.float32) * (1 - alpha[..., None]) + np.float32(colour) * alpha[..., None]
    return np.clip(mixed, 0, 255).astype(np.uint8)


STAIN_COLOURS = ((40, 70, 110), (50, 30, 120), (55, 70, 85), (130, 50, 30), (40, 110, 60), (60, 150, 200))


def _contrasting(garment: Garment, rng: np.random.Generator) -> tuple[int, int, int]:
    """A stain colour far enough from the fabric's and its print's to be seen (a stain the eye cannot see
    is not planted)."""
    def gap(c: tuple[int, int, int]) -> int:
        return min(int(np.abs(np.subtract(c, garment.colour)).sum()),
                   int(np.abs(np.subtract(c, garment.print_colour)).sum()) if garment.print_kind != "plain" else 999)
    for i in rng.permutation(len(STAIN_COLOURS)):
        if gap(STAIN_COLOURS[i]) > 160:
            return STAIN_COLOURS[i]
    return max(STAIN_COLOURS, key=gap)


def _hole(image: np.ndarray, mask: np.ndarray, garment: Garment, rng: np.random.Generator) -> np.ndarray:
    """Damage: the table shows through (a hole), or a dark tear on a light fabric, with loose threads."""
    dark = sum(garment.colour) > 330 and rng.random() < 0.5
    fill = np.float32((25, 25, 28) if dark else garment.background)
    out = image.astype(np.float32)
    out[mask > 0] = fill + rng.normal(0, 3, (int((mask > 0).sum()), 3))
    rim = cv2.dilate(mask, np.ones((3, 3), np.uint8)) & ~mask
    out[rim > 0] *= 0.75  # a shadowed, frayed edge
    return np.clip(out, 0, 255).astype(np.uint8)


def _missing_accessory(garment: Garment, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One declared accessory left off: its region shows the fabric around it."""
    if not garment.accessories:
        raise ValueError(f"{garment.skc} declares no accessory that could be missing")
    which = int(rng.integers(len(garment.accessories)))
    image, _, accessories = render(garment, without=which)
    return image, accessories[which].mask.copy()


def inspection_cases(n: int, seed: int, kinds: tuple[str, ...] = ("clean",) + DEFECTS,
                     strength: float = 1.0) -> list[InspectionCase]:
    """``n`` returns, the kinds in turn (clean, stain, hole, missing accessory), each of a fresh SKC."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        garment = random_garment(f"RET{seed % 1000:03d}{i:05d}", rng)
        reference = render(garment)[0]
        if kind == "clean":
            item, defects = reference, {}
        else:
            item, mask = plant(garment, kind, rng)
            defects = {kind: mask}
        cases.append(InspectionCase(garment, reference, photograph(item, rng, strength), defects))
    return cases


def search_queries(items: list[Garment], n: int, seed: int, crop: float = 0.15) -> list[tuple[str, np.ndarray]]:
    """``n`` staff photos of catalogue items, (true SKC, photo): angle, crop and light all vary."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(items), size=n, replace=n > len(items))
    return [(items[i].skc, photograph(render(items[i])[0], rng, 1.0, crop).image) for i in picks]
