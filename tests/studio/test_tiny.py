"""The random pipelines: the tiny one for tests, and one in SD-Turbo's sizes to time the real model."""

from __future__ import annotations

import pytest
import torch

from workbench.studio.tiny import _models, _tokenizer


def _parameters(models: dict) -> dict:
    return {name: sum(p.numel() for p in model.parameters()) for name, model in models.items()}


def test_the_sd_turbo_shape_has_the_published_models_parameter_counts():
    # Built on the meta device: the sizes without 5 GB of weights. The counts are those of
    # stabilityai/sd-turbo's (SD 2.1's) UNet, OpenCLIP ViT-H text encoder and VAE.
    with torch.device("meta"):
        models = _models("sd-turbo", _tokenizer())
    assert _parameters(models) == {"text_encoder": 340_387_840, "unet": 865_910_724, "vae": 83_653_863}


def test_the_tiny_shape_stays_tiny_and_an_unknown_shape_is_refused():
    with torch.device("meta"):
        assert sum(_parameters(_models("tiny", _tokenizer())).values()) < 2_000_000
        with pytest.raises(ValueError, match="sd-turbo"):
            _models("sdxl", _tokenizer())
