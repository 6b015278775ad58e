"""Returns inspection (智能返货检查): stains, holes and missing accessories on a returned item's photo.

:func:`measure` aligns the photo to the SKC's reference (:mod:`workbench.vision.align`), fits the light of
the photo (exposure, white balance, gamma, a shading gradient: per channel ``log p = a + b log r + c x + d
y`` over the fabric and the table around it, trimmed so the defects do not pull the fit) and marks the pixels the reference
cannot explain, allowing for a pixel or two of misalignment (the reference's local minimum and maximum).
Those that look like the table under the same light, or dark, are holes (破洞); the others stains (污渍);
each declared accessory region (配件) mostly unexplained is missing. :func:`decide` turns the scores into
accept (合格) / B-goods (次品) / reject (退回) by the thresholds of ``vision.inspection``, calibrated on
generated data by :func:`calibrate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from workbench.vision.align import AlignmentError, align, check_image, foreground
from workbench.vision.conf import InspectionRules

__all__ = ["Measurement", "Inspection", "InspectionError", "measure", "decide", "inspect", "calibrate",
           "DEFECT_TYPES", "DECISIONS"]

DEFECT_TYPES = ("stain", "hole", "missing_accessory")
DECISIONS = ("accept", "b_goods", "reject")
WORK_SIDE = 256  # both images are compared at this size (the reference's longer side)


class InspectionError(ValueError):
    """The photo cannot be inspected against this reference (bad image, another product)."""


@dataclass(frozen=True)
class Measurement:
    """What the photo shows against the reference, before any threshold: scores per defect type."""
    scores: dict[str, float]           # stain, hole: largest region, share of the garment; missing: worst share
    stain_map: np.ndarray              # uint8 0/255, reference frame at WORK_SIDE
    hole_map: np.ndarray
    accessory_shares: tuple[float, ...]
    accessory_masks: tuple[np.ndarray, ...]
    accessory_kinds: tuple[str, ...]
    alignment: str


@dataclass(frozen=True)
class Inspection:
    """The verdict on a return: a decision, the defect mask, scores per defect type and the reason in words."""
    decision: str
    defects: tuple[str, ...]
    scores: dict[str, float]
    mask: np.ndarray
    reason: str
    alignment: str = field(default="orb")


def _resize(image: np.ndarray, scale: float, nearest: bool = False) -> np.ndarray:
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def measure(reference: np.ndarray, photo: np.ndarray, accessories: Sequence[tuple[str, np.ndarray]] = (),
            pixel_tolerance: float = 45.0) -> Measurement:
    """Scores of each defect type for ``photo`` against ``reference`` (accessories: (kind, mask) on the reference)."""
    check_image(reference, "the reference photo")
    check_image(photo, "the photo of the return")
    scale = WORK_SIDE / max(reference.shape[:2])
    ref = _resize(reference, scale)
    pho = _resize(photo, WORK_SIDE / max(photo.shape[:2]))
    masks = tuple((_resize(m, scale, nearest=True) > 0).astype(np.uint8) * 255 for _, m in accessories)
    try:
        found = align(ref, pho)
    except AlignmentError as err:
        raise InspectionError(f"cannot align the photo to the reference: {err}") from None
    warped, valid = _warp(pho, found.homography, ref.shape)
    body = foreground(ref) & valid
    if body.sum() / 255 < 500:
        raise InspectionError("the reference shows no garment against its background")
    zone = _zone(masks, body.shape)
    table_seen = valid & ~cv2.dilate(foreground(ref), np.ones((15, 15), np.uint8))
    expected, table = _light_model(ref, warped, (body & ~zone) | table_seen)
    unexplained = _unexplained(warped, expected, pixel_tolerance) & (body > 0)
    if unexplained[body > 0].mean() > 0.4:
        raise InspectionError(f"the photo does not match the reference ({unexplained[body > 0].mean():.0%} of the "
                              "garment differs): another product, or another colour of it?")
    inner = (cv2.erode(body, np.ones((7, 7), np.uint8)) > 0) & ~(zone > 0)  # the edge: misalignment, not damage
    stains, holes = _split(unexplained & inner, warped, expected, table)
    shares = tuple(float(unexplained[m > 0].mean()) if (m > 0).any() else 0.0 for m in masks)
    area = float((body > 0).sum())
    scores = {"stain": _largest(stains) / area, "hole": _largest(holes) / area,
              "missing_accessory": max(shares, default=0.0)}
    return Measurement(scores, stains, holes, shares, masks, tuple(k for k, _ in accessories), found.method)


def _warp(photo: np.ndarray, h: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    size = (shape[1], shape[0])
    warped = cv2.warpPerspective(photo, h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpPerspective(np.full(photo.shape[:2], 255, np.uint8), h, size, flags=cv2.INTER_NEAREST)
    return warped, cv2.erode(valid, np.ones((5, 5), np.uint8))


def _zone(masks: tuple[np.ndarray, ...], shape: tuple[int, ...]) -> np.ndarray:
    """The accessories and a margin: judged region by region, not as stains."""
    zone = np.zeros(shape, np.uint8)
    for m in masks:
        zone |= m
    return cv2.dilate(zone, np.ones((9, 9), np.uint8))


def _light_model(ref: np.ndarray, photo: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference as the photo's light would show it, and the table's colour under that light, per pixel."""
    r = np.log1p(cv2.GaussianBlur(ref, (0, 0), 1.0).astype(np.float32))
    p = np.log1p(cv2.GaussianBlur(photo, (0, 0), 1.0).astype(np.float32))
    yy, xx = np.mgrid[0:ref.shape[0], 0:ref.shape[1]].astype(np.float32) / ref.shape[0]
    table = np.median(np.concatenate([ref[0], ref[-1], ref[:, 0], ref[:, -1]]), axis=0).astype(np.float32)
    sel = where > 0
    expected, table_seen = np.empty_like(r), np.empty_like(r)
    for ch in range(3):
        design = np.stack([np.ones(sel.sum(), np.float32), r[..., ch][sel], xx[sel], yy[sel]], axis=1)
        coef = _trimmed_fit(design, p[..., ch][sel])
        light = coef[0] + coef[2] * xx + coef[3] * yy
        expected[..., ch] = light + coef[1] * r[..., ch]
        table_seen[..., ch] = light + coef[1] * np.log1p(table[ch])
    return np.expm1(expected), np.expm1(table_seen)


def _trimmed_fit(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    keep = np.ones(len(target), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        resid = np.abs(design @ coef - target)
        keep = resid < max(3 * np.median(resid[keep]) * 1.4826, 0.02)
    return coef


def _unexplained(photo: np.ndarray, expected: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels of the photo outside the reference's local range (5x5: a pixel or two of misalignment) by
    more than ``tolerance`` (summed over the channels)."""
    seen = cv2.GaussianBlur(photo, (0, 0), 1.0).astype(np.float32)
    kernel = np.ones((5, 5), np.uint8)
    low, high = cv2.erode(expected, kernel), cv2.dilate(expected, kernel)
    outside = np.maximum(seen - high, 0) + np.maximum(low - seen, 0)
    return outside.sum(axis=2) > tolerance


def _split(unexplained: np.ndarray, photo: np.ndarray, expected: np.ndarray,
           table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(stains, holes), region by region: a region whose core moved most of the way from the fabric's
    colour to the table's (the table shows through) or went dark on a light fabric is a hole, its frayed
    and shadowed rim with it; any other region is a stain."""
    regions = _clean(unexplained)
    n, labels = cv2.connectedComponents(regions, connectivity=8)
    seen = cv2.GaussianBlur(photo, (0, 0), 1.0).astype(np.float32)
    stains, holes = np.zeros_like(regions), np.zeros_like(regions)
    for i in range(1, n):
        region = labels == i
        core = _core(region)
        (holes if _is_hole(seen[core], expected[core], table[core]) else stains)[region] = 255
    return stains, holes


def _core(region: np.ndarray) -> np.ndarray:
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return inner if inner.sum() >= 4 else region


def _is_hole(seen: np.ndarray, expected: np.ndarray, table: np.ndarray) -> bool:
    s, e, t = (np.median(v, axis=0) for v in (seen, expected, table))
    to_table, from_fabric = np.abs(s - t).sum(), np.abs(e - t).sum()
    dark = s.max() < 50 and e.max() > 110
    return bool(dark or to_table < 0.35 * from_fabric or to_table < 30)


def _clean(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8) * 255
    return cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def _largest(mask: np.ndarray) -> float:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return float(stats[1:, cv2.CC_STAT_AREA].max()) if n > 1 else 0.0


def decide(m: Measurement, rules: InspectionRules) -> Inspection:
    """Accept, B-goods or reject by the rules; the defect mask and the reason in words."""
    found, words = [], []
    if m.scores["stain"] >= rules.stain_min_share:
        found.append("stain")
        words.append(f"stain over {m.scores['stain']:.2%} of the garment")
    if m.scores["hole"] >= rules.hole_min_share:
        found.append("hole")
        words.append(f"hole / damage over {m.scores['hole']:.2%} of the garment")
    missing = [i for i, s in enumerate(m.accessory_shares) if s >= rules.missing_min_share]
    if missing:
        found.append("missing_accessory")
        words.append("missing " + ", ".join(f"{m.accessory_kinds[i]} {i + 1} ({m.accessory_shares[i]:.0%} of "
                                            "its region differs)" for i in missing))
    decision = _decision(m, found, rules)
    mask = _defect_mask(m, found, missing)
    reason = "; ".join(words) if words else "no defect found"
    return Inspection(decision, tuple(found), dict(m.scores), mask, f"{decision}: {reason}", m.alignment)


def _decision(m: Measurement, found: list[str], rules: InspectionRules) -> str:
    if not found:
        return "accept"
    if "hole" in found and m.scores["hole"] >= rules.reject_hole_share:
        return "reject"
    if "stain" in found and m.scores["stain"] >= rules.reject_stain_share:
        return "reject"
    return "b_goods"


def _defect_mask(m: Measurement, found: list[str], missing: list[int]) -> np.ndarray:
    mask = np.zeros_like(m.stain_map)
    if "stain" in found:
        mask |= m.stain_map
    if "hole" in found:
        mask |= m.hole_map
    for i in missing:
        mask |= m.accessory_masks[i]
    return mask


def inspect(reference: np.ndarray, photo: np.ndarray, accessories: Sequence[tuple[str, np.ndarray]],
            rules: InspectionRules) -> Inspection:
    """:func:`measure` then :func:`decide`."""
    return decide(measure(reference, photo, accessories, rules.pixel_tolerance), rules)


def calibrate(scores: Sequence[dict[str, float]], labels: Sequence[frozenset[str]]) -> dict[str, float]:
    """Per defect type, the score threshold that best separates the cases with it from those without (the
    largest of min(precision, recall), ties to the middle of the gap) on a calibration split."""
    out = {}
    for kind in DEFECT_TYPES:
        values = np.array([s[kind] for s in scores])
        truth = np.array([kind in lab for lab in labels])
        out[kind] = _best_threshold(values, truth)
    return out


def _best_threshold(values: np.ndarray, truth: np.ndarray) -> float:
    candidates = np.unique(values[np.isfinite(values)])
    if len(candidates) < 2 or not truth.any() or truth.all():
        raise ValueError("calibration needs cases with and without each defect type")
    mids = (candidates[:-1] + candidates[1:]) / 2
    quality = np.array([_min_precision_recall(values >= t, truth) for t in mids])
    best = mids[quality >= quality.max() - 1e-9]
    return float(np.sqrt(best.min() * best.max())) if best.min() > 0 else float((best.min() + best.max()) / 2)


def _min_precision_recall(hit: np.ndarray, truth: np.ndarray) -> float:
    tp = float((hit & truth).sum())
    return min(tp / max(hit.sum(), 1), tp / truth.sum())
