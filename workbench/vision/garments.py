"""Garment-like product photos (商品图) drawn from a few numbers: silhouette, colour, print, accessories.

A :class:`Garment` is a style-colour's (SKC) look; :func:`render` draws its reference photo on a light
table, with its fabric (base colour, a print: stripes, checks, dots or florals from procedural noise, a weave
and folds) and its declared accessories (buttons, a belt, a tag), each with its own mask, so that a
missing accessory can be planted and checked region by region. Deterministic: the garment's numbers fix
every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Garment", "Accessory", "SILHOUETTES", "PRINTS", "random_garment", "render"]

SIZE = 256
SILHOUETTES = ("tee", "shirt", "dress", "trousers", "jacket")
PRINTS = ("plain", "stripes", "checks", "dots", "florals")


@dataclass(frozen=True)
class Garment:
    """One style-colour's look: everything :func:`render` needs."""
    skc: str
    silhouette: str
    colour: tuple[int, int, int]        # BGR
    print_kind: str
    print_colour: tuple[int, int, int]
    print_period: float
    print_angle: float
    width: float                        # half width of the body, pixels
    top: float
    length: float
    background: tuple[int, int, int]
    accessories: tuple[str, ...]        # button | belt | tag, in drawing order
    pattern_seed: int


@dataclass(frozen=True)
class Accessory:
    """A declared accessory region (配件区域) on the reference photo."""
    kind: str
    mask: np.ndarray


def random_garment(skc: str, rng: np.random.Generator) -> Garment:
    silhouette = SILHOUETTES[int(rng.integers(len(SILHOUETTES)))]
    colour = _colour(rng)
    print_kind = PRINTS[int(rng.integers(len(PRINTS)))]
    grey = int(rng.integers(205, 236))
    background = tuple(int(np.clip(grey + rng.integers(-6, 7), 0, 255)) for _ in range(3))
    return Garment(skc, silhouette, colour, print_kind, _colour(rng, away_from=colour),
                   float(rng.uniform(9, 22)), float(rng.choice([0.0, 90.0, 45.0, -30.0])),
                   float(rng.uniform(42, 56)), float(rng.uniform(38, 52)), float(rng.uniform(150, 175)),
                   background, _accessories(silhouette, rng), int(rng.integers(2**31)))


def _colour(rng: np.random.Generator, away_from: tuple[int, int, int] | None = None) -> tuple[int, int, int]:
    """A fabric colour in HSV, not too close to the light table (a white tee on a white table is left out)."""
    for _ in range(50):
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 256), rng.integers(40, 200)]]])
        bgr = tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])
        if away_from is None or np.abs(np.subtract(bgr, away_from)).sum() > 150:
            return bgr
    return bgr


def _accessories(silhouette: str, rng: np.random.Generator) -> tuple[str, ...]:
    buttons = {"shirt": int(rng.integers(3, 6)), "jacket": int(rng.integers(2, 4))}.get(silhouette, 0)
    belt = silhouette in ("dress", "trousers") and rng.random() < 0.7
    tag = rng.random() < 0.6 or (buttons == 0 and not belt)
    return ("button",) * buttons + (("belt",) if belt else ()) + (("tag",) if tag else ())


def render(g: Garment, without: int | None = None) -> tuple[np.ndarray, np.ndarray, list[Accessory]]:
    """(the reference photo, the garment's mask, its accessories); ``without`` leaves that accessory off."""
    body = _silhouette(g)
    image = np.empty((SIZE, SIZE, 3), np.float32)
    image[:] = g.background
    fabric = _fabric(g)
    image[body > 0] = fabric[body > 0]
    accessories = _accessory_masks(g, body)
    for i, accessory in enumerate(accessories):
        if i != without:
            _draw_accessory(image, g, accessory)
    return np.clip(image, 0, 255).astype(np.uint8), body, accessories


def _silhouette(g: Garment) -> np.ndarray:
    c, w, t, b = SIZE / 2, g.width, g.top, g.top + g.length
    shapes = {
        "tee": [(c - 18, t), (c - w, t + 6), (c - w - 34, t + 36), (c - w - 20, t + 56), (c - w, t + 42),
                (c - w, b), (c + w, b), (c + w, t + 42), (c + w + 20, t + 56), (c + w + 34, t + 36), (c + w, t + 6),
                (c + 18, t)],
        "shirt": [(c - 16, t), (c - w, t + 6), (c - w - 40, t + 112), (c - w - 24, t + 118), (c - w, t + 44),
                  (c - w, b), (c + w, b), (c + w, t + 44), (c + w + 24, t + 118), (c + w + 40, t + 112),
                  (c + w, t + 6), (c + 16, t)],
        "jacket": [(c - 20, t), (c - w - 4, t + 4), (c - w - 44, t + 108), (c - w - 26, t + 116), (c - w - 2, t + 46),
                   (c - w - 4, b - 20), (c + w + 4, b - 20), (c + w + 2, t + 46), (c + w + 26, t + 116),
                   (c + w + 44, t + 108), (c + w + 4, t + 4), (c + 20, t), (c, t + 48)],
        "dress": [(c - 14, t), (c - 0.6 * w, t), (c - 0.65 * w, t + 60), (c - 1.35 * w, b), (c + 1.35 * w, b),
                  (c + 0.65 * w, t + 60), (c + 0.6 * w, t), (c + 14, t), (c, t + 16)],
        "trousers": [(c - w, t), (c + w, t), (c + w + 6, b), (c + 8, b), (c, t + 48), (c - 8, b), (c - w - 6, b)],
    }
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.fillPoly(mask, [np.int32(np.round(shapes[g.silhouette]))], 255)
    if g.silhouette in ("tee", "shirt"):
        cv2.ellipse(mask, (int(c), int(t)), (16, 10), 0, 0, 360, 0, -1)
    return mask


def _fabric(g: Garment) -> np.ndarray:
    """Base colour, the print, a fine weave and soft folds."""
    rng = np.random.default_rng(g.pattern_seed)
    share = _print_share(g, rng)
    base = np.float32(g.colour)[None, None, :]
    fabric = base * (1 - share[..., None]) + np.float32(g.print_colour)[None, None, :] * share[..., None]
    weave = rng.normal(0, 4, (SIZE, SIZE)).astype(np.float32)
    folds = cv2.resize(rng.normal(0, 0.05, (6, 6)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    return fabric * (1 + folds[..., None]) + weave[..., None]


def _print_share(g: Garment, rng: np.random.Generator) -> np.ndarray:
    """Where the print colour lies, 0..1, in the garment's frame."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    a = np.deg2rad(g.print_angle)
    u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
    p = g.print_period
    if g.print_kind == "stripes":
        return (np.mod(u, p) < p * 0.4).astype(np.float32)
    if g.print_kind == "checks":
        return 0.55 * (np.mod(u, p) < p * 0.45) + 0.45 * (np.mod(v, p) < p * 0.45)
    if g.print_kind == "dots":
        du, dv = np.mod(u, p) - p / 2, np.mod(v + (np.floor(u / p) % 2) * p / 2, p) - p / 2
        return (np.hypot(du, dv) < p * 0.22).astype(np.float32)
    if g.print_kind == "florals":
        return _florals(rng, p)
    return np.zeros((SIZE, SIZE), np.float32)


def _florals(rng: np.random.Generator, period: float) -> np.ndarray:
    """Leafy blobs from thresholded value noise, with five-petal flowers on top."""
    cells = max(4, int(SIZE / (period * 1.5)))
    noise = cv2.resize(rng.random((cells, cells)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    share = (noise > 0.68).astype(np.float32) * 0.6
    for _ in range(int((SIZE / period) ** 2 / 6)):
        cx, cy, r = rng.uniform(0, SIZE), rng.uniform(0, SIZE), period * rng.uniform(0.15, 0.3)
        for k in range(5):
            ang = 2 * np.pi * k / 5
            cv2.circle(share, (int(cx + 1.3 * r * np.cos(ang)), int(cy + 1.3 * r * np.sin(ang))), int(r), 1.0, -1)
    return share


def _accessory_masks(g: Garment, body: np.ndarray) -> list[Accessory]:
    c, t, b = SIZE / 2, g.top, g.top + g.length
    out, buttons = [], [k for k in g.accessories if k == "button"]
    for i, _ in enumerate(buttons):
        mask = np.zeros((SIZE, SIZE), np.uint8)
        x = c + (8 if g.silhouette == "jacket" else 0)
        y = t + (58 if g.silhouette == "jacket" else 22) + i * (b - t - 60) / max(len(buttons), 4)
        cv2.circle(mask, (int(x), int(y)), 6, 255, -1)
        out.append(Accessory("button", mask))
    if "belt" in g.accessories:
        mask = np.zeros((SIZE, SIZE), np.uint8)
        y = int(t + 56) if g.silhouette == "dress" else int(t + 2)
        cv2.rectangle(mask, (0, y), (SIZE - 1, y + 9), 255, -1)
        out.append(Accessory("belt", mask & body))
    if "tag" in g.accessories:
        mask = np.zeros((SIZE, SIZE), np.uint8)
        x, y = (int(c + g.width * 0.45), int(b - 40)) if g.silhouette != "trousers" else (int(c - g.width + 8), int(t + 22))
        cv2.rectangle(mask, (x, y), (x + 15, y + 10), 255, -1)
        out.append(Accessory("tag", mask & body))
    return out


def _draw_accessory(image: np.ndarray, g: Garment, a: Accessory) -> None:
    """Buttons contrast with the fabric, with two thread holes; a leather belt with a buckle; a printed tag."""
    m = a.mask > 0
    ys, xs = np.nonzero(m)
    if len(ys) == 0:
        return
    if a.kind == "button":
        colour = _contrasting_button(g)
        image[m] = colour
        cy, cx = int(ys.mean()), int(xs.mean())
        for dx in (-2, 2):
            cv2.circle(image, (cx + dx, cy), 1, (90, 90, 90) if sum(colour) > 300 else (150, 150, 150), -1)
    elif a.kind == "belt":
        image[m] = (30, 45, 70) if sum(g.colour) > 250 else (150, 170, 200)
        cx = SIZE // 2
        buckle = np.zeros_like(a.mask)
        cv2.rectangle(buckle, (cx - 7, int(ys.min()) - 1), (cx + 7, int(ys.max()) + 1), 255, 2)
        image[(buckle > 0) & m] = (40, 170, 210)
    else:
        image[m] = (245, 245, 240)
        for row in range(int(ys.min()) + 3, int(ys.max()), 3):
            image[row, int(xs.min()) + 2:int(xs.max()) - 2] = (60, 60, 60)


BUTTON_COLOURS = ((225, 228, 230), (30, 30, 35), (40, 170, 210), (40, 40, 170))


def _contrasting_button(g: Garment) -> tuple[int, int, int]:
    """The button colour farthest from both the fabric and its print (a button must show to be checked)."""
    def gap(c: tuple[int, int, int]) -> int:
        return min(int(np.abs(np.subtract(c, g.colour)).sum()), int(np.abs(np.subtract(c, g.print_colour)).sum()))
    return max(BUTTON_COLOURS, key=gap)
