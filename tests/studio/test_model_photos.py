"""Generation with a tiny random SD pipeline built offline, loaded back with ``local_files_only=True`` through
the same code path as real weights: reproducible by seed, ``n`` variants, the garment kept, clear errors."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import workbench as wb
from workbench.studio.conf import studio_settings_from
from workbench.studio.masks import background_mask, prepare_photo
from workbench.studio.model_photos import (PhotoRequest, WeightsMissing, device_for, generate_model_photos,
                                           load_pipeline, model_photos, read_photo)
from workbench.studio.prompts import Look
from workbench.studio.tiny import sample_product_photo

from .conftest import SKC

LOOK = Look("urban_female", "city_street", "casual")


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels in a few bytes (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _shoot(studio, n=1, seed=3, mode=None, photo=None):
    pipe = load_pipeline(studio, mode)
    return generate_model_photos(pipe, studio, PhotoRequest(SKC, LOOK, n=n, seed=seed, mode=mode),
                                 photo or sample_product_photo(), "a red dress", "sha")


def _pixels(photo) -> np.ndarray:
    return np.asarray(photo.image).astype(int)


def test_the_tiny_weights_load_offline_in_both_modes(studio):
    assert (studio.weights_dir / "model_index.json").is_file() and (studio.weights_dir / "unet").is_dir()
    assert type(load_pipeline(studio, "inpaint")).__name__ == "StableDiffusionInpaintPipeline"
    pipe = load_pipeline(studio, "img2img")
    assert type(pipe).__name__ == "StableDiffusionImg2ImgPipeline" and str(pipe.device) == "cpu"


def test_both_modes_share_one_copy_of_the_weights(studio):
    # A real model is 5 GB in float32: switching mode must not load it a second time.
    inpaint, img2img = load_pipeline(studio, "inpaint"), load_pipeline(studio, "img2img")
    assert inpaint is not img2img and load_pipeline(studio, "inpaint") is inpaint
    assert all(getattr(inpaint, part) is getattr(img2img, part) for part in ("unet", "vae", "text_encoder"))


def test_the_same_seed_makes_the_same_image_and_another_seed_another(studio):
    started = time.perf_counter()
    first, again, other = _shoot(studio, seed=3), _shoot(studio, seed=3), _shoot(studio, seed=4)
    assert time.perf_counter() - started < 30  # seconds on a CPU, not minutes
    assert np.array_equal(_pixels(first[0]), _pixels(again[0])) and first[0].photo_id == again[0].photo_id
    assert not np.array_equal(_pixels(first[0]), _pixels(other[0])) and first[0].photo_id != other[0].photo_id
    assert first[0].image.size == (64, 64)


def test_n_variants_have_their_own_seeds_and_variant_i_does_not_depend_on_n(studio):
    three = _shoot(studio, n=3, seed=10)
    assert [p.provenance["seed"] for p in three] == [10, 11, 12] and [p.provenance["variant"] for p in three] == [0, 1, 2]
    assert len({p.photo_id for p in three}) == 3
    assert not np.array_equal(_pixels(three[0]), _pixels(three[1]))
    assert np.array_equal(_pixels(three[1]), _pixels(_shoot(studio, n=1, seed=11)[0]))


def test_inpainting_keeps_the_garment_and_repaints_the_background(studio):
    photo = sample_product_photo((20, 90, 200))
    canvas = prepare_photo(photo, 64)
    garment = np.asarray(background_mask(canvas, studio.background_tolerance)) == 0
    result = _pixels(_shoot(studio, photo=photo)[0])
    assert 0.2 < garment.mean() < 0.8
    assert np.array_equal(result[garment], np.asarray(canvas).astype(int)[garment])  # the garment, exactly
    assert np.abs(result[~garment] - 255).mean() > 10  # the white backdrop was repainted
    restyled = _shoot(studio, mode="img2img", photo=photo)[0]
    assert restyled.provenance["mode"] == "img2img" and "garment_share" not in restyled.provenance
    assert not np.array_equal(_pixels(restyled)[garment], np.asarray(canvas).astype(int)[garment])


def test_the_whole_shoot_reads_the_product_and_records_the_provenance(studio, tiny_settings):
    with wb.session("u_marketing", settings=tiny_settings) as s:
        photos = model_photos(s, sample_product_photo(), PhotoRequest(SKC, LOOK, n=2, seed=5), studio)
    p = photos[0].provenance
    assert p["prompt"].startswith("red viscose dress, women's, worn by a young East Asian woman")
    assert "city street" in p["prompt"] and "jeans" in p["prompt"] and p["negative_prompt"] == studio.negative_prompt
    assert (p["skc_code"], p["model_id"], p["created_by"], p["device"], p["dtype"]) == (
        SKC, "workbench/tiny-random-sd", "u_marketing", "cpu", "float32")
    assert (p["steps"], p["strength"], p["guidance_scale"], p["width"], p["seed"]) == (2, 0.9, 0.0, 64, 5)
    assert len(p["source_sha256"]) == 64 and 0 < p["garment_share"] < 1


def test_a_missing_weights_folder_names_the_setting_and_how_to_get_weights(studio, tmp_path):
    with pytest.raises(WeightsMissing, match=r"does not exist.*studio\.weights_dir.*huggingface-cli download"):
        load_pipeline(studio.with_(weights_dir=tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsMissing, match=r"no model_index.json.*studio\.weights_dir"):
        load_pipeline(studio.with_(weights_dir=tmp_path / "empty"))


def test_cuda_runs_in_half_precision_and_the_cpu_in_full_unless_set_to_bfloat16():
    assert device_for(True) == ("cuda", "float16") and device_for(False) == ("cpu", "float32")
    assert device_for(True, "bfloat16") == ("cuda", "float16") and device_for(False, "bfloat16") == ("cpu", "bfloat16")


def test_a_bfloat16_cpu_image_is_its_own_photo_with_its_precision_recorded(studio):
    full, half = _shoot(studio, seed=3)[0], _shoot(studio.with_(cpu_dtype="bfloat16"), seed=3)[0]
    assert (full.provenance["dtype"], half.provenance["dtype"]) == ("float32", "bfloat16")
    assert half.photo_id != full.photo_id and half.image.size == full.image.size
    assert _shoot(studio.with_(cpu_dtype="bfloat16"), seed=3)[0].photo_id == half.photo_id


def test_an_unknown_cpu_precision_is_refused_naming_the_setting():
    with pytest.raises(ValueError, match=r"studio\.cpu_dtype is 'float16': choose float32 or bfloat16"):
        studio_settings_from({"cpu_dtype": "float16"})


@pytest.mark.parametrize("n, seed, mode, message", [
    (0, 1, None, "n must be a whole number from 1 to 16"), (-2, 1, None, "n must be"), (17, 1, None, "n must be"),
    (2.5, 1, None, "n must be"), (1, -1, None, "seed must be"), (1, 1, "outpaint", "unknown mode 'outpaint'")])
def test_a_bad_request_is_refused_before_any_work(studio, tiny_settings, n, seed, mode, message):
    with wb.session("u_marketing", settings=tiny_settings) as s, pytest.raises(ValueError, match=message):
        model_photos(s, b"", PhotoRequest(SKC, LOOK, n=n, seed=seed, mode=mode), studio)


def test_bad_photos_and_unknown_products_are_refused(studio, tiny_settings, tmp_path):
    with pytest.raises(ValueError, match=r"empty \(0 bytes\)"):
        read_photo(b"")
    with pytest.raises(ValueError, match="not a readable image"):
        read_photo(b"GIF89a not really")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_photo(tmp_path / "empty.png")
    for side in (8000, 30000):  # our limit; Pillow's decompression-bomb limit: refused before decoding
        with pytest.raises(ValueError, match="at most 40,000,000"):
            read_photo(_png_header(side, side))
    with pytest.raises(ValueError, match="less than one denoising step would run"):
        _shoot(studio.with_(steps=1, strength=0.5))
    with pytest.raises(ValueError, match="too small"):
        _shoot(studio, photo=Image.new("RGB", (8, 8)))
    with pytest.raises(ValueError, match="no garment found"):
        _shoot(studio, photo=Image.new("RGB", (64, 64), (255, 255, 255)))
    with wb.session("u_marketing", settings=tiny_settings) as s:
        with pytest.raises(ValueError, match="unknown SKC 'NOPE-1'"):
            model_photos(s, sample_product_photo(), PhotoRequest("NOPE-1", LOOK), studio)
        with pytest.raises(ValueError, match="unknown pairing 'gala'"):
            model_photos(s, sample_product_photo(), PhotoRequest(SKC, Look("urban_female", "cafe", "gala")), studio)
