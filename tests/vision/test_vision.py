"""Returns inspection and photo search on generated data (workbench.vision): small sizes, seconds."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from workbench.vision import synthetic
from workbench.vision.align import align
from workbench.vision.conf import InspectionRules, SearchSettings, load_inspection_rules
from workbench.vision.garments import render
from workbench.vision.inspection import InspectionError, Measurement, decide, inspect, measure
from workbench.vision.search import build_index, search

cv2.setNumThreads(1)
RULES = load_inspection_rules()


def _accessories(garment):
    return [(a.kind, a.mask) for a in render(garment)[2]]


def test_generation_is_deterministic():
    a, b = synthetic.inspection_cases(4, 3), synthetic.inspection_cases(4, 3)
    for x, y in zip(a, b):
        assert np.array_equal(x.photo.image, y.photo.image) and x.labels == y.labels
    assert not np.array_equal(a[0].photo.image, synthetic.inspection_cases(4, 4)[0].photo.image)


def test_alignment_recovers_a_known_homography():
    case = synthetic.inspection_cases(1, 5)[0]
    found = align(case.reference, case.photo.image).homography
    corners = np.float32([[60, 60], [196, 60], [196, 196], [60, 196]]).reshape(-1, 1, 2)
    back = cv2.perspectiveTransform(cv2.perspectiveTransform(corners, case.photo.homography), found)
    assert np.abs(back - corners).max() < 1.0


@pytest.mark.parametrize("kind", ["stain", "hole", "missing_accessory"])
def test_each_defect_is_found_when_planted_and_not_on_the_clean_item(kind):
    """On 12 returns (3 of each kind): every planted defect of the kind found, no clean item flagged."""
    found = planted = 0
    for case in synthetic.inspection_cases(12, 21):
        result = inspect(case.reference, case.photo.image, _accessories(case.garment), RULES)
        if kind in case.labels:
            planted += 1
            found += kind in result.defects and bool(result.mask.any())
        elif not case.labels:
            assert result.decision == "accept", result.reason
    assert planted == 3 and found == 3


def _measurement(stain=0.0, hole=0.0, missing=0.0) -> Measurement:
    empty = np.zeros((8, 8), np.uint8)
    return Measurement({"stain": stain, "hole": hole, "missing_accessory": missing}, empty, empty,
                       (missing,), (empty,), ("button",), "orb")


def test_decision_rules():
    rules = InspectionRules(stain_min_share=0.001, hole_min_share=0.004, missing_min_share=0.35,
                            reject_hole_share=0.0, reject_stain_share=0.02)
    assert decide(_measurement(), rules).decision == "accept"
    assert decide(_measurement(stain=0.005), rules).decision == "b_goods"
    assert decide(_measurement(stain=0.05), rules).decision == "reject"
    assert decide(_measurement(hole=0.005), rules).decision == "reject"
    verdict = decide(_measurement(missing=0.9), rules)
    assert verdict.decision == "b_goods" and "missing button 1" in verdict.reason


def test_search_finds_the_right_skc_for_a_perturbed_photo():
    items = synthetic.catalogue(40, 8)
    index = build_index({g.skc: render(g)[0] for g in items}, SearchSettings())
    hits = [skc == search(index, photo)[0][0] for skc, photo in synthetic.search_queries(items, 10, 9)]
    assert sum(hits) >= 9


def test_bad_input_gets_a_clear_error():
    case = synthetic.inspection_cases(1, 2)[0]
    with pytest.raises(ValueError, match="empty or not an image"):
        measure(case.reference, np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError, match="empty or not an image"):
        measure(None, case.photo.image)
    with pytest.raises(ValueError, match="larger than"):
        measure(case.reference, np.zeros((5000, 10, 3), np.uint8))
    other = synthetic.inspection_cases(2, 99)[1]
    with pytest.raises(InspectionError):
        measure(case.reference, np.full_like(other.photo.image, 128))


def test_unknown_settings_are_refused(tmp_path):
    path = tmp_path / "wb.yaml"
    path.write_text("vision:\n  inspection:\n    stain_min_shar: 0.1\n")
    with pytest.raises(ValueError, match="stain_min_shar"):
        load_inspection_rules(path)
    path.write_text("vision:\n  inspektion: {}\n")
    with pytest.raises(ValueError, match="inspektion"):
        load_inspection_rules(path)


def test_a_small_bench_writes_the_json(tmp_path):
    from click.testing import CliRunner

    from workbench.vision.bench import command

    out = tmp_path / "v.json"
    result = CliRunner().invoke(command, ["--cases", "16", "--catalogue", "12", "--queries", "4", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    metrics = {(r["metric"], r["level"]) for r in data["results"]}
    assert data["bench"] == "vision" and ("precision", "hole") in metrics and ("top1", None) in metrics


def test_a_photo_of_another_product_is_refused_not_inspected():
    """A return photographed against the wrong SKC's reference: a clear error, never a verdict on the wrong item."""
    items = synthetic.catalogue(6, 31)
    refused = 0
    for reference_item, photographed in zip(items, items[1:] + items[:1]):
        photo = synthetic.photograph(render(photographed)[0], np.random.default_rng(7)).image
        try:
            inspect(render(reference_item)[0], photo, _accessories(reference_item), RULES)
        except InspectionError as err:
            refused += 1
            assert "another product" in str(err) or "does not fit" in str(err) or "cannot align" in str(err)
    assert refused == len(items)
