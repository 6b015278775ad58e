"""A tiny Stable Diffusion pipeline with random weights, built offline (微型随机权重模型).

It has the layout of a real SD-Turbo folder (``model_index.json``, ``unet/``, ``vae/``, ``text_encoder/``,
``tokenizer/``, ``scheduler/``), so the tests, the notebook test and a demo without weights exercise the
same loading and generation code as real weights. Its images are noise: it proves the plumbing, not the
pictures. Built in well under a second on a CPU and about 6 MB on disk; nothing is downloaded.

``shape="sd-turbo"`` builds the same folder in SD-Turbo's own sizes (SD 2.1's 865M-parameter UNet, the
OpenCLIP ViT-H text encoder's 23 layers, the 8x VAE), still with random weights: the work per image does
not depend on the weights' values, so it times the real model on a machine that cannot download it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TINY_MODEL_ID", "SHAPES", "build_tiny_weights", "sample_product_photo"]

TINY_MODEL_ID = "workbench/tiny-random-sd"
SHAPES = ("tiny", "sd-turbo")
_SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def _tokenizer():
    """A character-level CLIP tokenizer (printable ASCII, no merges): needs no download."""
    from transformers import CLIPTokenizer

    chars = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({s: len(vocab) + i for i, s in enumerate(_SPECIALS)})
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _sizes(shape: str) -> tuple[dict, dict, dict]:
    """Text encoder, UNet and VAE arguments: tiny, or SD-Turbo's (stabilityai/sd-turbo, SD 2.1 base)."""
    if shape == "tiny":
        text = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4)
        unet = dict(block_out_channels=(32, 64), layers_per_block=1, sample_size=8, cross_attention_dim=32,
                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=8)
        vae = dict(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                   up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
        return text, unet, vae
    # The real vocabulary's size (our tokenizer uses its first ids), so the embedding weighs what SD-Turbo's does.
    text = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
                projection_dim=512, hidden_act="gelu", vocab_size=49408)
    unet = dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=64,
                cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    vae = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, sample_size=512,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    return text, unet, vae


def _models(shape: str, tokenizer) -> dict:
    """The text encoder, UNet and VAE of ``shape``, randomly initialised (on torch's current device)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: choose {' or '.join(SHAPES)}")
    text_sizes, unet_sizes, vae_sizes = _sizes(shape)
    text_sizes.setdefault("vocab_size", len(tokenizer))
    text = CLIPTextModel(CLIPTextConfig(**text_sizes, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
                                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(**unet_sizes, in_channels=4, out_channels=4, norm_num_groups=32)
    vae = AutoencoderKL(**vae_sizes, in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=32)
    return {"text_encoder": text, "unet": unet, "vae": vae}


def _components(seed: int, shape: str = "tiny") -> dict:
    import torch
    from diffusers import EulerAncestralDiscreteScheduler

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                timestep_spacing="trailing", steps_offset=1)
    return {**_models(shape, tokenizer), "tokenizer": tokenizer, "scheduler": scheduler}


def build_tiny_weights(folder: str | Path, seed: int = 0, shape: str = "tiny") -> Path:
    """Save a random SD pipeline of ``shape`` (tiny or sd-turbo) to ``folder`` (``save_pretrained``), return it.

    The same ``seed`` gives the same weights, so tests can compare images across builds. The sd-turbo shape
    is saved in float16 (about 2.5 GB instead of 5; loading casts it to the device's precision).
    """
    import torch
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    pipe = StableDiffusionPipeline(**_components(seed, shape), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    if shape != "tiny":
        pipe = pipe.to(dtype=torch.float16)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def sample_product_photo(colour: tuple[int, int, int] = (180, 30, 40), size: int = 256):
    """A stand-in product photo (平铺图): a T-shirt shape on a white backdrop, for demos and tests."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (255, 255, 255))
    s = size / 16
    shirt = [(5, 2), (11, 2), (15, 5), (13, 7), (12, 6), (12, 14), (4, 14), (4, 6), (3, 7), (1, 5)]
    ImageDraw.Draw(image).polygon([(x * s, y * s) for x, y in shirt], fill=colour)
    return image
