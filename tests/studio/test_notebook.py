"""``notebooks/model_photos.ipynb`` under Papermill on the tiny chain with the tiny random pipeline: stored clean
and thin, it generates, shows the images and their provenance, stores them and lists the review queue."""

from __future__ import annotations

import nbformat
import pytest

import workbench as wb
from workbench.config import project_root
from workbench.studio.review import review_queue

from ..notebook_checks import assert_clean_and_thin

NOTEBOOK = project_root() / "notebooks" / "model_photos.ipynb"


def test_the_notebook_is_stored_clean_and_thin():
    assert_clean_and_thin(NOTEBOOK, ("skc_code", "photo", "style", "scene", "pairing", "n", "seed", "mode",
                                     "weights_dir", "output_dir", "size", "steps", "user"))


def _text(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.get("outputs", []))


@pytest.mark.slow
def test_the_notebook_generates_and_queues_photos_with_the_tiny_pipeline(warehouse, tiny_weights, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("WB_WAREHOUSE", str(warehouse.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(warehouse.audit_dir))
    out = tmp_path / "model_photos.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                               parameters={"weights_dir": str(tiny_weights), "output_dir": str(tmp_path / "studio"),
                                           "size": 64, "steps": 2, "n": 2, "seed": 9, "style": "mature_female"})
    nb = nbformat.read(out, as_version=4)
    cells = {c.source.splitlines()[0]: c for c in nb.cells if c.cell_type == "code" and c.source}
    sheet = cells["contact_sheet(photos, source=source)"]
    assert any("image/png" in o.get("data", {}) for o in sheet.outputs)  # the images are shown
    provenance = _text(cells["provenance_table(photos)"])
    assert "mature_female" in provenance and "tiny-sd" in provenance  # the model: the weights folder's name
    queue_text = _text(cells['review_queue(writer, skc_code=skc_code)[["photo_id", "status", "variant", "seed", "style", "scene", "pairing", "created_by"]]'])
    assert queue_text.count("pending") == 2 and "u_marketing" in queue_text
    with wb.session("u_marketing_lead", settings=warehouse) as s:
        queue = review_queue(s)
    assert queue["seed"].tolist() == [9, 10] and set(queue["style"]) == {"mature_female"}
    assert all((tmp_path / "studio" / p).is_file() for p in queue["image_path"])
