"""Aligning a photo to the reference (图像配准): ORB features + RANSAC homography, with a silhouette fallback.

Features fail on plain fabric with few corners; then the garment's silhouette (segmented against the
table) gives a similarity transform from its moments, refined by ECC on the blurred images. Both return
the homography that maps the photo into the reference's frame, so the two can be compared pixel by pixel.
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
    method: str             # orb | silhouette


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
    """The photo -> reference homography: features first, the silhouette when they are too few."""
    found = _by_features(reference, photo)
    if found is not None:
        return found
    return _by_silhouette(reference, photo)


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


def foreground(image: np.ndarray, tolerance: float = 28.0) -> np.ndarray:
    """The garment against the table: pixels far from the border's median colour (uint8 0/255)."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.float32)
    table = np.median(border, axis=0)
    far = np.abs(image.astype(np.float32) - table).sum(axis=2) > tolerance
    mask = far.astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(mask, contours, -1, 255, -1)  # a white tag or button inside the garment is garment
    return mask


def _by_silhouette(reference: np.ndarray, photo: np.ndarray) -> Alignment:
    mr, mp = foreground(reference), foreground(photo)
    a, b = cv2.moments(mr, True), cv2.moments(mp, True)
    if a["m00"] < 100 or b["m00"] < 100:
        raise AlignmentError("no garment found against the table in the photo or the reference")
    scale = np.sqrt(a["m00"] / b["m00"])
    turn = _orientation(a) - _orientation(b)
    h0 = _similarity((b["m10"] / b["m00"], b["m01"] / b["m00"]), (a["m10"] / a["m00"], a["m01"] / a["m00"]),
                     scale, turn)
    warp = h0.astype(np.float32)
    try:
        _, warp = cv2.findTransformECC(cv2.GaussianBlur(mr, (0, 0), 3), cv2.GaussianBlur(mp, (0, 0), 3),
                                       np.linalg.inv(warp).astype(np.float32), cv2.MOTION_HOMOGRAPHY,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-4), None, 5)
        warp = np.linalg.inv(warp)
    except cv2.error:
        pass
    return Alignment(warp.astype(np.float64), 0, "silhouette")


def _orientation(m: dict) -> float:
    return 0.5 * np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])


def _similarity(src: tuple[float, float], dst: tuple[float, float], scale: float, turn: float) -> np.ndarray:
    c, s = scale * np.cos(turn), scale * np.sin(turn)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return (np.array([[1, 0, dst[0]], [0, 1, dst[1]], [0, 0, 1]]) @ rot
            @ np.array([[1, 0, -src[0]], [0, 1, -src[1]], [0, 0, 1]]))
