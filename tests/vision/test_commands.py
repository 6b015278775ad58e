"""``wb vision catalogue | search | inspect`` on a generated catalogue: the shell's answers and refusals."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner

import workbench as wb
from workbench.cli import main
from workbench.config import CONF_DIR
from workbench.vision.output import TABLE


@pytest.fixture
def folders(tmp_path, monkeypatch, tiny_settings):
    catalogue, photos = tmp_path / "catalogue", tmp_path / "photos"
    config = tmp_path / "wb.yaml"  # the checked-in settings, with the two folders here
    raw = yaml.safe_load((CONF_DIR / "workbench.yaml").read_text(encoding="utf-8"))
    raw["vision"] |= {"catalogue_dir": str(catalogue), "photos_dir": str(photos)}
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    settings = tiny_settings.with_(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    for key, value in {"WB_CONFIG": config, "WB_WAREHOUSE": settings.warehouse, "WB_AUDIT_DIR": settings.audit_dir}.items():
        monkeypatch.setenv(key, str(value))
    return catalogue, photos, settings


def _wb(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_demo_catalogue_is_searched_and_a_return_inspected(folders):
    catalogue, _, settings = folders
    made = _wb("vision", "catalogue", "--demo", "30", "--seed", "5")
    assert made.exit_code == 0, made.output
    assert (catalogue / ".search-index.pkl").is_file() and "SKC00007" in made.output
    query = sorted((catalogue / "photos").glob("search-*.jpg"))[0]
    found = _wb("vision", "search", "--photo", str(query))
    assert found.exit_code == 0, found.output
    truth = query.stem.removeprefix("search-")
    assert found.output.index(truth) < found.output.index("2 ")  # the photographed SKC ranks first
    stained = next((catalogue / "photos").glob("return-*-stain.jpg"))
    skc = stained.stem.split("-")[1]
    with wb.session("u_warehouse", settings=settings) as s:
        dc = s.table("stores").filter(lambda t: t.store_type == "dc").store_code.to_pandas().iloc[0]
        sku = s.table("products").sku_code.to_pandas().iloc[0]
    verdict = _wb("vision", "inspect", "--photo", str(stained), "--skc", skc, "--user", "u_warehouse",
                  "--store", dc, "--sku", sku)
    assert verdict.exit_code == 0, verdict.output
    assert "stain" in verdict.output and ("b_goods" in verdict.output or "reject" in verdict.output)
    with wb.session("u_finance", settings=settings) as s:
        saved = s.table(TABLE).to_pandas()
    assert len(saved) == 1 and "stain" in saved["defects"].iloc[0]


def test_bad_input_is_one_line_and_exit_2(folders, tmp_path):
    catalogue, photos, _ = folders
    missing = _wb("vision", "search", "--photo", str(tmp_path / "x.jpg"))
    assert missing.exit_code == 2 and "wb vision catalogue --demo" in missing.output  # no catalogue yet
    _wb("vision", "catalogue", "--demo", "6")
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes((catalogue / "SKC00001.png").read_bytes())
    refused = _wb("vision", "search", "--photo", str(outside))
    assert refused.exit_code == 2 and "outside the folders" in refused.output
    photos.mkdir(exist_ok=True)
    (photos / "notes.jpg").write_text("not a picture")
    assert "not an image" in _wb("vision", "search", "--photo", str(photos / "notes.jpg")).output
    unknown = _wb("vision", "inspect", "--photo", str(catalogue / "SKC00001.png"), "--skc", "NOPE")
    assert unknown.exit_code == 2 and "no reference photo for SKC 'NOPE'" in unknown.output
    half = _wb("vision", "inspect", "--photo", str(catalogue / "SKC00001.png"), "--skc", "SKC00001", "--user", "u_warehouse")
    assert half.exit_code == 2 and "--store and --sku" in half.output
