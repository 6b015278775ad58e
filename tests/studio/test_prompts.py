"""The ``studio:`` settings and the prompt library: unknown keys refused, prompts composed from the catalogue."""

from __future__ import annotations

import pytest

from workbench.studio.conf import load_studio_settings, studio_settings_from
from workbench.studio.prompts import Look, compose_prompt, describe_garment


def test_the_repository_settings_load_with_a_library_of_each_kind(tmp_path):
    s = load_studio_settings()
    assert s.weights_dir.is_absolute() and s.weights_dir.name == "sd-turbo"
    assert {"urban_female", "urban_male"} <= set(s.styles) and "city_street" in s.scenes and "office" in s.pairings
    assert s.mode == "inpaint" and s.guidance_scale == 0.0 and s.size % 8 == 0


def test_unknown_keys_and_bad_libraries_are_refused():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['wieghts_dir'\] in studio:"):
        studio_settings_from({"wieghts_dir": "x"})
    with pytest.raises(ValueError, match="studio.scenes must map each key"):
        studio_settings_from({"scenes": ["beach"]})


def test_relative_paths_resolve_from_the_root_and_the_environment_overrides_the_weights(tmp_path, monkeypatch):
    s = studio_settings_from({"weights_dir": "w", "output_dir": "/abs/out"}, root=tmp_path)
    assert s.weights_dir == tmp_path / "w" and str(s.output_dir) == "/abs/out" and s.model_name == "w"
    assert s.with_(model_id="stabilityai/sd-turbo").model_name == "stabilityai/sd-turbo"
    monkeypatch.setenv("WB_STUDIO_WEIGHTS", str(tmp_path / "elsewhere"))
    assert load_studio_settings().weights_dir == tmp_path / "elsewhere"
    assert load_studio_settings(weights_dir=tmp_path / "mine", steps=None, size="").weights_dir == tmp_path / "mine"


def test_a_prompt_is_the_garment_in_the_chosen_look():
    s = studio_settings_from({"prompt": "{garment} | {style} | {pairing} | {scene}", "styles": {"a": "woman"},
                              "scenes": {"b": "beach"}, "pairings": {"c": "jeans"}})
    garment = describe_garment({"colour": "Red", "fabric": "viscose", "subcategory": "dress", "gender": "women"})
    assert garment == "red viscose dress, women's"
    assert compose_prompt(s, Look("a", "b", "c"), garment) == "red viscose dress, women's | woman | jeans | beach"
    assert describe_garment({"category": "tops", "gender": "unisex"}) == "tops"


def test_an_unknown_template_key_is_refused_with_the_choices():
    s = load_studio_settings()
    with pytest.raises(ValueError, match=r"unknown style 'astronaut': choose one of .*urban_female.*studio.styles") as e:
        compose_prompt(s, Look("astronaut", "moon", "office"), "dress")
    assert "unknown scene 'moon'" in str(e.value) and "pairing" not in str(e.value)
    with pytest.raises(ValueError, match="studio.prompt names 'mood'"):
        compose_prompt(s.with_(prompt="{garment} {mood}"), Look("urban_male", "cafe", "office"), "coat")
