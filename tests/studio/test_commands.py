"""``wb studio``: generate, list, review and the photos for use from the shell; refusals on one line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from workbench.cli import main
from workbench.studio.tiny import sample_product_photo

from .conftest import SKC


def _wb(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_generate_review_and_list_from_the_shell(warehouse, tiny_weights, tmp_path, monkeypatch):
    for key, value in {"WB_WAREHOUSE": warehouse.warehouse, "WB_AUDIT_DIR": warehouse.audit_dir,
                       "WB_STUDIO_WEIGHTS": tiny_weights, "WB_STUDIO_DIR": tmp_path / "studio"}.items():
        monkeypatch.setenv(key, str(value))
    sample_product_photo().save(tmp_path / "dress.png")
    made = _wb("studio", "generate", "--skc", SKC, "--photo", str(tmp_path / "dress.png"), "--n", "2", "--size", "64",
               "--steps", "2", "--format", "json")
    assert made.exit_code == 0, made.output
    photos = json.loads(made.stdout)
    assert [p["seed"] for p in photos] == [42, 43] and all((tmp_path / "studio" / SKC).glob("*.png"))
    ids = [p["photo_id"] for p in photos]
    assert _wb("studio", "review", ids[0], "--approve").output.strip() == "1 photo(s) approved by u_marketing_lead"
    refused = _wb("studio", "review", ids[1], "--reject")
    assert refused.exit_code == 2 and "a reason is required to reject" in refused.output
    own = _wb("studio", "review", ids[1], "--approve", "--user", "u_marketing")
    assert own.exit_code == 2 and "another person must review it" in own.output
    usable = json.loads(_wb("studio", "list", "--status", "approved", "--format", "json").stdout)
    assert [p["photo_id"] for p in usable] == ids[:1]
    pending = json.loads(_wb("studio", "list", "--status", "pending", "--format", "json").stdout)
    assert [p["photo_id"] for p in pending] == ids[1:]


def test_missing_weights_and_unknown_templates_are_one_line_refusals(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("WB_WAREHOUSE", str(warehouse.warehouse))
    monkeypatch.setenv("WB_STUDIO_WEIGHTS", str(tmp_path / "no-weights"))
    sample_product_photo().save(tmp_path / "dress.png")
    missing = _wb("studio", "generate", "--skc", SKC, "--photo", str(tmp_path / "dress.png"))
    assert missing.exit_code == 2 and "studio.weights_dir" in missing.output and "Traceback" not in missing.output
    unknown = _wb("studio", "generate", "--skc", SKC, "--photo", str(tmp_path / "dress.png"), "--scene", "moon")
    assert unknown.exit_code == 2 and "unknown scene 'moon'" in unknown.output
    listed = _wb("studio", "templates")
    assert listed.exit_code == 0 and "urban_female" in listed.output and "city_street" in listed.output
