"""Aligning a photo to the reference (图像配准): ORB features + RANSAC homography, with a silhouette fallback.

Features fail on plain fabric with few corners and mislead on repeated prints (stripes, checks); the
garment's silhouette (segmented against the table) gives other starts from its moments. Every start is
refined by ECC and the best overlap wins (:func:`align`). The result maps the photo into the reference's
frame, so the two can be compared pixel by pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Alignment", "AlignmentError", "align", "check_image", "foreground", "MAX_SIDE"]

MAX_SIDE = 4096      # larger photos are refused before any work (bounded memory)
MIN_INLIERS = 12


class AlignmentError(ValueError):
    """The photo could not be aligned to the reference (another product, or not a garment photo)."""


@dataclass(frozen=True)
class Alignment:
    homography: np.ndarray  # photo -> reference
    inliers: int
    method: str             # orb | silhouette: where the refined transform started


def check_image(image: np.ndarray | None, what: str) -> np.ndarray:
    """A BGR uint8 image, or a ValueError saying what is wrong with it."""
    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError(f"{what} is empty or not an image (decode it with cv2.imdecode / cv2.imread first)")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{what} must be a BGR uint8 image of shape (h, w, 3), not {image.dtype} {image.shape}")
    if max(image.shape[:2]) > MAX_SIDE:
        raise ValueError(f"{what} is {image.shape[1]}x{image.shape[0]}: larger than {MAX_SIDE} pixels a side; "
                         "scale it down first")
    if min(image.shape[:2]) < 32:
        raise ValueError(f"{what} is {image.shape[1]}x{image.shape[0]}: too small to inspect (at least 32 a side)")
    return image


def _gray(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(gray)


def align(reference: np.ndarray, photo: np.ndarray) -> Alignment:
    """The photo -> reference homography.

    Candidates: ORB features + RANSAC, and the silhouette's moments (with and without their turn: the
    orientation of a near-square shape is ill-defined). Each is refined by ECC on the blurred silhouettes
    (photometric changes cannot move them) and the one whose silhouette overlaps the reference's best is
    refined once more by ECC on the blurred grey images (the print lines up to a pixel).
    """
    mr, mp = foreground(reference), foreground(photo)
    candidates = []
    found = _by_features(reference, photo)
    if found is not None:
        candidates.append((found.homography, found.inliers, "orb"))
    candidates += [(h, 0, "silhouette") for h in _silhouette_starts(mr, mp)]
    if not candidates:
        raise AlignmentError("no garment found against the table in the photo or the reference, and too few "
                         "matching features")
    scored = []
    for h, inliers, method in candidates:
        refined = _ecc(cv2.GaussianBlur(mr, (0, 0), 2), cv2.GaussianBlur(mp, (0, 0), 2), h, 2)
        scored.append((_overlap(mr, mp, refined), refined, inliers, method))
        if method == "orb" and scored[-1][0] > 0.97:
            break  # the features were right: no need to try the silhouette
    overlap, best, inliers, method = max(scored, key=lambda t: t[0])
    if overlap < 0.8:
        raise AlignmentError(f"the photo's garment outline does not fit the reference's ({overlap:.0%} overlap)")
    fine = _ecc(_gray(reference), _gray(photo), best, 1)
    if _overlap(mr, mp, fine) >= overlap - 0.1:  # silhouettes blur; the print decides the last pixel
        best = fine
    return Alignment(best, inliers, method)


def _ecc(ref: np.ndarray, photo: np.ndarray, h: np.ndarray, levels: int) -> np.ndarray:
    """Refine the photo -> reference homography by ECC (enhanced correlation: gain and offset invariant),
    coarse to fine over ``levels`` halvings; the start is kept where ECC does not converge."""
    warp = h.astype(np.float64)
    for level in reversed(range(levels)):
        f = 0.5 ** level
        scale = np.diag([f, f, 1.0])
        small_r = cv2.resize(ref, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else ref
        small_p = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else photo
        start = (scale @ np.linalg.inv(warp) @ np.linalg.inv(scale)).astype(np.float32)  # ref -> photo, scaled
        try:
            _, out = cv2.findTransformECC(small_r.astype(np.float32), small_p.astype(np.float32), start,
                                          cv2.MOTION_HOMOGRAPHY,
                                          (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-5), None, 3)
        except cv2.error:
            continue
        candidate = np.linalg.inv(np.linalg.inv(scale) @ out.astype(np.float64) @ scale)
        if _plausible(candidate, ref.shape):
            warp = candidate
    return warp / warp[2, 2]


def _overlap(mr: np.ndarray, mp: np.ndarray, h: np.ndarray) -> float:
    """Intersection over union of the reference's silhouette and the photo's warped onto it."""
    warped = cv2.warpPerspective(mp, h, (mr.shape[1], mr.shape[0]), flags=cv2.INTER_NEAREST) > 0
    ref = mr > 0
    return float((warped & ref).sum() / max((warped | ref).sum(), 1))


def _by_features(reference: np.ndarray, photo: np.ndarray) -> Alignment | None:
    orb = cv2.ORB_create(nfeatures=1200, fastThreshold=10)
    kr, dr = orb.detectAndCompute(_gray(reference), None)
    kp, dp = orb.detectAndCompute(_gray(photo), None)
    if dr is None or dp is None or len(kr) < MIN_INLIERS or len(kp) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(dp, dr, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.float32([kp[m.queryIdx].pt for m in good])
    dst = np.float32([kr[m.trainIdx].pt for m in good])
    h, inl = cv2.findHomography(src, dst, cv2.RANSAC, 3.0, maxIters=2000, confidence=0.995)
    if h is None or int(inl.sum()) < MIN_INLIERS or not _plausible(h, reference.shape):
        return None
    return Alignment(h, int(inl.sum()), "orb")


def _plausible(h: np.ndarray, shape: tuple[int, ...]) -> bool:
    """No folding or wild scaling: a photo of the same item within a sensible range of distance."""
    det = np.linalg.det(h[:2, :2])
    return 0.25 < det < 4.0 and abs(h[2, 0]) < 0.005 and abs(h[2, 1]) < 0.005


def table_colour(image: np.ndarray) -> np.ndarray:
    """The table's colour at every pixel: a plane per channel through the frame's border (light falls off
    across a photo), fitted twice, the second time without the border pixels the garment covers."""
    h, w = image.shape[:2]
    ys = np.concatenate([np.zeros(w), np.full(w, h - 1), np.arange(h), np.arange(h)]).astype(int)
    xs = np.concatenate([np.arange(w), np.arange(w), np.zeros(h), np.full(h, w - 1)]).astype(int)
    design = np.stack([np.ones(len(ys)), xs / w, ys / h], axis=1)
    values = image[ys, xs].astype(np.float64)
    keep = np.ones(len(ys), bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        resid = np.abs(design @ coef - values).sum(axis=1)
        keep = resid <= max(np.median(resid) * 3, 12)
    yy, xx = np.mgrid[0:h, 0:w]
    return (coef[0] + coef[1] * (xx / w)[..., None] + coef[2] * (yy / h)[..., None]).astype(np.float32)


def foreground(image: np.ndarray, tolerance: float = 28.0) -> np.ndarray:
    """The garment against the table: pixels far from the table's colour (uint8 0/255)."""
    far = np.abs(image.astype(np.float32) - table_colour(image)).sum(axis=2) > tolerance
    mask = far.astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(mask, contours, -1, 255, -1)  # a white tag or button inside the garment is garment
    return mask


def _silhouette_starts(mr: np.ndarray, mp: np.ndarray) -> list[np.ndarray]:
    """Similarity transforms that put the photo's silhouette on the reference's: centroids, areas, and the
    turn of their principal axes or none."""
    a, b = cv2.moments(mr, True), cv2.moments(mp, True)
    if a["m00"] < 100 or b["m00"] < 100:
        return []
    scale = np.sqrt(a["m00"] / b["m00"])
    src, dst = (b["m10"] / b["m00"], b["m01"] / b["m00"]), (a["m10"] / a["m00"], a["m01"] / a["m00"])
    return [_similarity(src, dst, scale, turn) for turn in (_orientation(a) - _orientation(b), 0.0)]


def _orientation(m: dict) -> float:
    return 0.5 * np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])


def _similarity(src: tuple[float, float], dst: tuple[float, float], scale: float, turn: float) -> np.ndarray:
    c, s = scale * np.cos(turn), scale * np.sin(turn)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return (np.array([[1, 0, dst[0]], [0, 1, dst[1]], [0, 0, 1]]) @ rot
            @ np.array([[1, 0, -src[0]], [0, 1, -src[1]], [0, 0, 1]]))
