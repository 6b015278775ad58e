"""Provenance and the review queue: photos stored once with their provenance, decided by another person,
append-only and audited; only approved photos are for use."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import workbench as wb
from workbench.studio.model_photos import PhotoRequest, model_photos
from workbench.studio.prompts import Look
from workbench.studio.review import decide, decision_problems, photos_for_use, review_queue, save_photos
from workbench.studio.tiny import sample_product_photo

from .conftest import SKC


@pytest.fixture
def stored(studio, warehouse):
    """Three variants generated and stored by the content designer; their rows."""
    with wb.session("u_marketing", settings=warehouse) as s:  # read-only: generating locks nothing
        assert s.read_only
        photos = model_photos(s, sample_product_photo(), PhotoRequest(SKC, Look("urban_male", "cafe", "office"), n=3,
                                                                      seed=1), studio, source_name="dress.png")
    with wb.session("u_marketing", settings=warehouse, read_only=False) as s:
        rows = save_photos(s, photos, studio.output_dir)
        again = save_photos(s, photos, studio.output_dir)
    assert len(rows) == 3 and again.empty  # a shoot stored twice is stored once
    return rows


def test_every_photo_is_stored_with_its_provenance(stored, studio, warehouse):
    first = stored.iloc[0]
    png = studio.output_dir / first["image_path"]
    assert png.is_file() and first["image_path"] == f"{SKC}/{first['photo_id']}.png"
    sidecar = json.loads(png.with_suffix(".json").read_text(encoding="utf-8"))
    embedded = json.loads(Image.open(png).text["provenance"])
    for record in (sidecar, embedded):
        assert record["photo_id"] == first["photo_id"] and record["seed"] == 1 and record["prompt"] == first["prompt"]
    assert sidecar["image_sha256"] == first["image_sha256"] and sidecar["source_image"] == "dress.png"
    with wb.session("u_marketing", settings=warehouse) as s:
        queue, usable = review_queue(s), photos_for_use(s)
    assert len(queue) == 3 and set(queue["status"]) == {"pending"} and usable.empty
    assert queue["seed"].tolist() == [1, 2, 3] and set(queue["created_by"]) == {"u_marketing"}
    assert set(queue["model_id"]) == {"workbench/tiny-random-sd"} and queue["run_id"].notna().all()


def test_a_reviewer_approves_and_rejects_and_only_approved_photos_are_for_use(stored, warehouse):
    ids = stored["photo_id"].tolist()
    with wb.session("u_marketing_lead", settings=warehouse, read_only=False) as s:
        decide(s, ids[:2], "approved")
        decide(s, [ids[2]], "rejected", "  the collar is deformed ")
        decide(s, [ids[1]], "rejected", "second look: wrong sleeve length")  # a change of mind: a new row
        queue = review_queue(s).set_index("photo_id")
        usable = photos_for_use(s)
        log = s.table("raw.model_photo_decisions").to_pandas()
    assert queue.loc[ids, "status"].tolist() == ["approved", "rejected", "rejected"]
    assert queue.loc[ids[2], "reason"] == "the collar is deformed" and queue.loc[ids[0], "decided_by"] == "u_marketing_lead"
    assert usable["photo_id"].tolist() == [ids[0]] and len(log) == 4  # append-only: both decisions on ids[1] kept
    with wb.session("u_auditor", settings=warehouse) as a:
        audit = a.table("audit_log").to_pandas()
    writes = audit[(audit["action"] == "write") & (audit["user"] == "u_marketing_lead")]
    assert len(writes) == 3 and set(writes["tables"].astype(str).str.strip("[]'\"")) == {"raw.model_photo_decisions"}
    made = audit[(audit["action"] == "write") & (audit["user"] == "u_marketing")]
    assert set(made["tables"].astype(str).str.strip("[]'\"")) == {"raw.model_photos"} and made["rows"].max() == 3


def test_bad_decisions_are_refused_and_nothing_is_written(stored, warehouse):
    ids = stored["photo_id"].tolist()
    with wb.session("u_marketing_lead", settings=warehouse, read_only=False) as s:
        with pytest.raises(ValueError, match="a reason is required to reject"):
            decide(s, ids[:1], "rejected", "  ")
        with pytest.raises(ValueError, match="unknown decision 'maybe'"):
            decide(s, ids[:1], "maybe")
        with pytest.raises(ValueError, match=r"ffff: no such photo.*\n?.*") as e:
            decide(s, [ids[0], "ffff"], "approved")
        assert "ffff" in str(e.value)
        with pytest.raises(ValueError, match="nothing to decide"):
            decide(s, [], "approved")
        assert not s.table_exists("raw.model_photo_decisions")
    with wb.session("u_marketing", settings=warehouse, read_only=False) as s:  # four eyes: not one's own shoot
        with pytest.raises(ValueError, match="u_marketing generated this photo; another person must review it"):
            decide(s, ids[:1], "approved")
    with wb.session("u_analyst", settings=warehouse) as s, pytest.raises(PermissionError):
        decide(s, ids[:1], "approved")  # no write grant on the decisions


def test_decision_rules_are_pure():
    import pandas as pd

    photos = pd.DataFrame({"photo_id": ["a"], "created_by": ["u_x"]})
    assert decision_problems("a", "approved", "", "u_y", photos) == []
    assert decision_problems("a", "approved", "x" * 1001, "u_y", photos) == ["a: the reason is 1001 characters; keep it under 1000"]


def test_marketing_sees_the_catalogue_without_costs_and_no_sales(warehouse):
    with wb.session("u_marketing", settings=warehouse) as s:
        assert "unit_cost" not in s.table("products").columns and "colour" in s.table("products").columns
        with pytest.raises(PermissionError):
            s.table("sales")
