"""Inspection results through the governed door (raw.return_inspections), audited; photos read safely."""

from __future__ import annotations

import datetime as dt
import shutil

import cv2
import numpy as np
import pytest

import workbench as wb
from workbench.vision import synthetic
from workbench.vision.conf import load_inspection_rules
from workbench.vision.garments import render
from workbench.vision.inspection import inspect
from workbench.vision.output import TABLE, b_goods_events, inspection_row, sku_of, write_inspections
from workbench.vision.photos import PhotoError, read_photo, reference_of

cv2.setNumThreads(1)


@pytest.fixture
def warehouse(tiny_settings, tmp_path):
    settings = tiny_settings.with_(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    return settings


def _verdicts():
    rules = load_inspection_rules()
    return [inspect(c.reference, c.photo.image, [(a.kind, a.mask) for a in render(c.garment)[2]], rules)
            for c in synthetic.inspection_cases(4, 21)]


def test_inspections_are_written_through_the_door_and_audited(warehouse):
    verdicts = _verdicts()
    when = dt.datetime(2025, 12, 30, 10, 0)
    with wb.session("u_warehouse", settings=warehouse, run_id="insp-test") as s:
        dc = int(s.table("stores").filter(s.table("stores").store_type == "dc").store_id.to_pandas().iloc[0])
        sku = sku_of(s, s.table("products").sku_code.to_pandas().iloc[0])
        rows = [inspection_row(v, store_id=dc, sku_id=sku, photo_ref=f"returns/{i}.jpg", inspected_at=when)
                for i, v in enumerate(verdicts)]
        assert write_inspections(s, rows) == 4
        assert write_inspections(s, rows) == 4  # a retried batch replaces its rows
        with pytest.raises(KeyError, match="unknown SKU"):
            sku_of(s, "NO-SUCH-SKU")
    with wb.session("u_finance", settings=warehouse) as s:
        saved = s.table(TABLE).to_pandas()
    with wb.session("u_auditor", settings=warehouse) as s:
        log = s.table("audit_log").to_pandas()
    assert len(saved) == 4 and list(saved["decision"]) == [v.decision for v in verdicts]
    assert saved["decision"].iloc[0] == "accept" and saved["defect_type"].iloc[0] is None
    writes = log[(log["action"] == "write") & (log["run_id"] == "insp-test")]
    assert set(writes["user"]) == {"u_warehouse"} and len(writes) == 2
    events = b_goods_events(saved)
    assert len(events) == sum(v.decision != "accept" for v in verdicts)
    assert set(events["defect_type"]) <= {"stain", "hole", "missing_accessory"}


def test_a_store_manager_may_not_write_inspections(warehouse):
    row = inspection_row(_verdicts()[0], store_id=1, sku_id=1)
    with wb.session("u_store_001", settings=warehouse, read_only=False) as s:
        with pytest.raises(PermissionError, match="return_inspections"):
            write_inspections(s, [row])


def test_photos_are_read_only_from_allowed_folders_and_must_be_images(tmp_path):
    allowed = tmp_path / "returns"
    allowed.mkdir()
    good = allowed / "ok.jpg"
    cv2.imwrite(str(good), synthetic.inspection_cases(1, 1)[0].photo.image)
    assert read_photo(good, [allowed]).shape == (256, 256, 3)
    (allowed / "notes.jpg").write_text("not a photo")
    with pytest.raises(PhotoError, match="not an image"):
        read_photo(allowed / "notes.jpg", [allowed])
    outside = tmp_path / "elsewhere.jpg"
    shutil.copyfile(good, outside)
    with pytest.raises(PhotoError, match="outside the folders"):
        read_photo(allowed / ".." / "elsewhere.jpg", [allowed])
    huge = allowed / "huge.png"
    cv2.imwrite(str(huge), np.zeros((10, 5000, 3), np.uint8))
    with pytest.raises(PhotoError, match="larger than 4096"):
        read_photo(huge, [allowed])
    with pytest.raises(KeyError, match="no reference photo for SKC 'X1'"):
        reference_of({}, "X1")
