"""Photo search (拍照识别商品): a staff photo in, the top-5 style-colours (SKC) of the catalogue out.

The catalogue's reference photos are indexed once (:func:`build_index`): per photo the garment is cut
from the table (:func:`workbench.vision.align.foreground`), its colours are white-balanced on the table
(the table is near-neutral: its colour in the photo is the light's), and described by a Lab a*b* and L*
histogram (colour), a histogram of gradient magnitudes and of local orientations relative to the dominant
one (texture: the print, rotation-invariant) and Hu moments of the silhouette (shape). A query is the same
vector; the nearest neighbours are one matrix product (numpy). The closest ``rerank`` candidates are then
re-ranked by ORB feature matches verified by a RANSAC homography (the print and the accessories in
place), which settles near-twins that colour and texture histograms cannot tell apart; the verification
stops at the first candidate with :data:`SURE_INLIERS` matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from workbench.vision.align import check_image, foreground
from workbench.vision.conf import SearchSettings

__all__ = ["SearchIndex", "build_index", "describe", "search"]

SIDE = 160
SURE_INLIERS = 30  # verified matches beyond which a candidate is taken as the item (another SKC gets a handful)


@dataclass(frozen=True)
class SearchIndex:
    """The catalogue's descriptors, one row per SKC (built once, kept in memory)."""
    skcs: tuple[str, ...]
    vectors: np.ndarray  # float32, rows L2-normalised per block and weighted
    features: tuple      # per SKC: (keypoint coordinates, ORB descriptors)
    settings: SearchSettings


def describe(photo: np.ndarray, settings: SearchSettings) -> np.ndarray:
    """The photo's descriptor: colour, texture and shape blocks, each normalised, then weighted."""
    check_image(photo, "the photo")
    image = cv2.resize(photo, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    mask = foreground(image)
    if mask.sum() < 255 * 200:
        mask = np.full(mask.shape, 255, np.uint8)  # no garment found against a table: use the whole photo
    balanced = _white_balance(image, mask)
    blocks = (_colour(balanced, mask) * settings.colour_weight, _texture(balanced, mask) * settings.texture_weight,
              _shape(mask) * settings.shape_weight)
    return np.concatenate(blocks).astype(np.float32)


def _white_balance(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Divide by the table's colour (the border outside the garment): the light's cast and exposure."""
    table = image[mask == 0]
    if len(table) < 100:
        table = image.reshape(-1, 3)
    gain = 200.0 / np.maximum(np.median(table, axis=0).astype(np.float32), 1)
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.sqrt(np.maximum(v.astype(np.float32), 0))  # Hellinger: histograms compared by their square roots
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    ab = cv2.calcHist([lab], [1, 2], mask, [12, 12], [64, 192, 64, 192]).ravel()
    light = cv2.calcHist([lab], [0], mask, [8], [0, 256]).ravel()
    return np.concatenate([_unit(ab), 0.6 * _unit(light)])


def _texture(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    mag, ang = cv2.cartToPolar(gx, gy)
    strength = np.histogram(np.log1p(mag[inner]), bins=8, range=(0, 7))[0]
    weights = mag[inner]
    folded = np.mod(ang[inner], np.pi)
    hist = np.histogram(folded, bins=12, range=(0, np.pi), weights=weights)[0]
    turned = np.roll(hist, -int(np.argmax(hist)))  # relative to the dominant direction: rotation-invariant
    return np.concatenate([_unit(strength), _unit(turned)])


def _shape(mask: np.ndarray) -> np.ndarray:
    hu = cv2.HuMoments(cv2.moments(mask, True)).ravel()[:4]
    return _unit(np.abs(np.sign(hu) * np.log10(np.abs(hu) + 1e-30)) ** 2)


def build_index(photos: dict[str, np.ndarray], settings: SearchSettings, progress: bool = False) -> SearchIndex:
    """The index of the catalogue's reference photos ({SKC: photo}); once, before the queries."""
    if not photos:
        raise ValueError("the catalogue is empty: nothing to index")
    items = photos.items()
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc="index", unit="SKC")
    skcs, rows, features = zip(*((skc, describe(p, settings), _features(p)) for skc, p in items))
    return SearchIndex(tuple(skcs), np.vstack(rows), features, settings)


_ORB = None


def _features(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    global _ORB
    if _ORB is None:
        _ORB = cv2.ORB_create(nfeatures=300, fastThreshold=12)
    gray = cv2.cvtColor(cv2.resize(photo, (256, 256), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    points, desc = _ORB.detectAndCompute(gray, None)
    return np.float32([p.pt for p in points]).reshape(-1, 2), desc


def _verified(query: tuple, candidate: tuple, matcher: cv2.BFMatcher) -> int:
    """ORB matches of the query kept by a RANSAC homography onto the candidate's reference."""
    (qp, qd), (cp, cd) = query, candidate
    if qd is None or cd is None or len(qd) < 8 or len(cd) < 8:
        return 0
    pairs = matcher.knnMatch(qd, cd, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < 8:
        return len(good) // 2
    _, inliers = cv2.findHomography(qp[[m.queryIdx for m in good]], cp[[m.trainIdx for m in good]], cv2.RANSAC, 5.0)
    return int(inliers.sum()) if inliers is not None else 0


def search(index: SearchIndex, photo: np.ndarray, k: int | None = None) -> list[tuple[str, float]]:
    """The ``k`` (``search.top_k``) best SKCs for the photo, (SKC, score), best first: the ``rerank`` nearest by
    descriptor, re-ranked by verified feature matches (score: inliers, then closeness)."""
    k = min(k or index.settings.top_k, len(index.skcs))
    q = describe(photo, index.settings)
    dist = np.einsum("ij,ij->i", index.vectors, index.vectors) - 2 * index.vectors @ q + q @ q
    n = min(max(k, int(index.settings.rerank)), len(index.skcs))
    near = np.argpartition(dist, n - 1)[:n]
    near = near[np.argsort(dist[near])]
    query, matcher = _features(photo), cv2.BFMatcher(cv2.NORM_HAMMING)
    inliers = np.zeros(len(near))
    for j, i in enumerate(near):
        inliers[j] = _verified(query, index.features[i], matcher)
        if inliers[j] >= SURE_INLIERS:
            break  # the item itself: the rest keep their descriptor order
    order = np.lexsort((dist[near], -inliers))[:k]
    return [(index.skcs[near[j]], float(inliers[j])) for j in order]
