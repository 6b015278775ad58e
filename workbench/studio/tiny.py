"""A tiny Stable Diffusion pipeline with random weights, built offline (微型随机权重模型).

It has the layout of a real SD-Turbo folder (``model_index.json``, ``unet/``, ``vae/``, ``text_encoder/``,
``tokenizer/``, ``scheduler/``), so the tests, the notebook test and a demo without weights exercise the
same loading and generation code as real weights. Its images are noise: it proves the plumbing, not the
pictures. Built in well under a second on a CPU and about 6 MB on disk; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TINY_MODEL_ID", "build_tiny_weights", "sample_product_photo"]

TINY_MODEL_ID = "workbench/tiny-random-sd"
_SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def _tokenizer():
    """A character-level CLIP tokenizer (printable ASCII, no merges): needs no download."""
    from transformers import CLIPTokenizer

    chars = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab.update({s: len(vocab) + i for i, s in enumerate(_SPECIALS)})
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _components(seed: int) -> dict:
    import torch
    from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37,
                                        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
                                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                                        pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=8, norm_num_groups=32)
    vae = AutoencoderKL(block_out_channels=(32, 64), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=32, sample_size=32)
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                timestep_spacing="trailing", steps_offset=1)
    return {"unet": unet, "vae": vae, "text_encoder": text, "tokenizer": tokenizer, "scheduler": scheduler}


def build_tiny_weights(folder: str | Path, seed: int = 0) -> Path:
    """Save a tiny random SD pipeline to ``folder`` (``save_pretrained``) and return it.

    The same ``seed`` gives the same weights, so tests can compare images across builds.
    """
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    pipe = StableDiffusionPipeline(**_components(seed), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
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
