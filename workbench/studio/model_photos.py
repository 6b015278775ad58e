"""AI model photos (AI模特): from a product photo, on-model / styled images in a chosen look.

The garment is kept and the rest repainted (``inpaint``: the mask comes from the product photo's plain
background, :mod:`workbench.studio.masks`), or the whole photo restyled (``img2img``). Each of ``n``
variants has its own seed (``seed + i``), so variant *i* is the same image whatever ``n`` is, and the same
request on the same weights and device gives the same images.

Weights are a local diffusers folder (``studio.weights_dir``): loaded with ``local_files_only=True``,
nothing is fetched. CUDA when present (float16), else the CPU (``studio.cpu_dtype``: float32, or bfloat16,
about twice as fast where the CPU has AVX-512 BF16 or AMX). Generation is pure in-memory work;
:mod:`workbench.studio.review` stores the images and their provenance through the governed door.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from workbench.studio.conf import StudioSettings
from workbench.studio.masks import MAX_PIXELS, background_mask, garment_share, prepare_photo
from workbench.studio.prompts import Look, compose_prompt, describe_garment

__all__ = ["MODES", "WeightsMissing", "PhotoRequest", "ModelPhoto", "device_for", "load_pipeline", "read_photo",
           "product_row", "generate_model_photos", "model_photos"]

MODES = ("inpaint", "img2img")
MAX_VARIANTS = 16
_PRODUCT_COLUMNS = ["skc_code", "style_name", "category", "subcategory", "gender", "colour", "fabric"]


class WeightsMissing(FileNotFoundError):
    """No usable diffusers folder where ``studio.weights_dir`` points."""


@dataclass(frozen=True)
class PhotoRequest:
    """One shoot (一次拍摄): the product, the look, how many variants and the seed of the first."""

    skc_code: str
    look: Look
    n: int = 1
    seed: int = 0
    mode: str | None = None  # None: studio.mode

    def problems(self) -> list[str]:
        """What is wrong with the request (empty: nothing)."""
        out = []
        if not isinstance(self.n, int) or isinstance(self.n, bool) or not 1 <= self.n <= MAX_VARIANTS:
            out.append(f"n must be a whole number from 1 to {MAX_VARIANTS} (got {self.n!r})")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            out.append(f"seed must be a whole number of 0 or more (got {self.seed!r})")
        if self.mode is not None and self.mode not in MODES:
            out.append(f"unknown mode {self.mode!r}: choose {' or '.join(MODES)}")
        return out


@dataclass
class ModelPhoto:
    """A generated image with its provenance (生成记录): everything needed to make it again."""

    image: Image.Image
    provenance: dict = field(default_factory=dict)

    @property
    def photo_id(self) -> str:
        return self.provenance["photo_id"]


def device_for(cuda_available: bool, cpu_dtype: str = "float32") -> tuple[str, str]:
    """Where to run and in what precision: ``("cuda", "float16")`` on a GPU, else the CPU in ``cpu_dtype``."""
    return ("cuda", "float16") if cuda_available else ("cpu", cpu_dtype)


def _check_weights(folder: Path) -> None:
    if not (folder / "model_index.json").is_file():
        what = "does not exist" if not folder.exists() else "holds no model_index.json (not a diffusers folder)"
        raise WeightsMissing(
            f"no model weights: {folder} {what}. Set studio.weights_dir in workbench/conf/workbench.yaml "
            "(or WB_STUDIO_WEIGHTS) to a diffusers folder. Get one on a connected machine with "
            "`huggingface-cli download stabilityai/sd-turbo --local-dir sd-turbo` and copy the folder here; "
            "nothing is downloaded at run time (workbench/studio/README.md)")


@functools.lru_cache(maxsize=1)
def _weights(folder: str, device: str, dtype: str):
    """The folder's models, loaded once: both modes' pipelines share them (one copy in memory, not two)."""
    import torch
    from diffusers import AutoPipelineForImage2Image

    pipe = AutoPipelineForImage2Image.from_pretrained(folder, local_files_only=True, dtype=getattr(torch, dtype),
                                                      safety_checker=None, requires_safety_checker=False)
    return pipe.to(device)


@functools.lru_cache(maxsize=2)
def _pipeline(folder: str, mode: str, device: str, dtype: str):
    from diffusers import AutoPipelineForInpainting

    pipe = _weights(folder, device, dtype)
    if mode == "inpaint":
        pipe = AutoPipelineForInpainting.from_pipe(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_pipeline(settings: StudioSettings, mode: str | None = None, device: str | None = None):
    """The diffusers pipeline for ``mode`` from ``studio.weights_dir`` (kept loaded for the next call).

    Raises :class:`WeightsMissing` naming ``studio.weights_dir`` when the folder is not a diffusers folder.
    """
    import torch

    mode = mode or settings.mode
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: choose {' or '.join(MODES)} (studio.mode)")
    folder = Path(settings.weights_dir).resolve()
    _check_weights(folder)
    device = device or device_for(torch.cuda.is_available())[0]
    return _pipeline(str(folder), mode, device, device_for(device.startswith("cuda"), settings.cpu_dtype)[1])


def read_photo(source: str | Path | bytes | Image.Image) -> tuple[Image.Image, str]:
    """The product photo and its SHA-256; an empty, corrupt or huge file is refused with a clear error."""
    if isinstance(source, Image.Image):
        buffer = io.BytesIO()
        source.save(buffer, format="PNG")
        data = buffer.getvalue()
    else:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not data:
        raise ValueError("the product photo is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ValueError(f"the product photo has {probe.width * probe.height:,} pixels; at most {MAX_PIXELS:,}")
            image = probe.convert("RGB")
    except Image.DecompressionBombError:
        raise ValueError(f"the product photo has more than {MAX_PIXELS:,} pixels (at most {MAX_PIXELS:,})") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"the product photo is not a readable image ({type(exc).__name__})") from None
    return image, hashlib.sha256(data).hexdigest()


def product_row(session, skc_code: str) -> dict:
    """The catalogue row of ``skc_code`` as the user sees it; an unknown SKC is refused."""
    products = session.table("products")
    rows = products.filter(products.skc_code == skc_code).select(_PRODUCT_COLUMNS).limit(1).to_pandas()
    if rows.empty:
        raise ValueError(f"unknown SKC {skc_code!r}: no such style-colour in core.products")
    return rows.iloc[0].to_dict()


def _photo_id(provenance: dict) -> str:
    keys = ("source_sha256", "model_id", "prompt", "negative_prompt", "mode", "steps", "strength",
            "guidance_scale", "width", "seed", "device", "dtype")
    return hashlib.sha256(json.dumps([provenance[k] for k in keys]).encode()).hexdigest()[:16]


def _parameters(settings: StudioSettings, request: PhotoRequest, prompt: str, source_sha: str, pipe) -> dict:
    return {"skc_code": request.skc_code, "style": request.look.style, "scene": request.look.scene,
            "pairing": request.look.pairing, "prompt": prompt, "negative_prompt": settings.negative_prompt,
            "mode": request.mode or settings.mode, "steps": settings.steps, "strength": settings.strength,
            "guidance_scale": settings.guidance_scale, "width": settings.size, "height": settings.size,
            "model_id": settings.model_name, "weights_dir": str(settings.weights_dir), "source_sha256": source_sha,
            "device": str(pipe.device), "dtype": str(pipe.dtype).removeprefix("torch.")}


def generate_model_photos(pipe, settings: StudioSettings, request: PhotoRequest, photo: Image.Image,
                          prompt: str, source_sha: str) -> list[ModelPhoto]:
    """``request.n`` images from ``photo`` with ``pipe``; variant *i* uses seed ``request.seed + i``."""
    import torch

    problems = request.problems()
    if int(settings.steps * settings.strength) < 1:
        problems.append(f"studio.steps x studio.strength is {settings.steps} x {settings.strength}: "
                        "less than one denoising step would run; raise either")
    if problems:
        raise ValueError("; ".join(problems))
    canvas = prepare_photo(photo, settings.size)
    base = _parameters(settings, request, prompt, source_sha, pipe)
    inputs = {"prompt": prompt, "negative_prompt": settings.negative_prompt or None, "image": canvas,
              "strength": settings.strength, "num_inference_steps": settings.steps,
              "guidance_scale": settings.guidance_scale}
    if base["mode"] == "inpaint":
        mask = background_mask(canvas, settings.background_tolerance)
        inputs.update(mask_image=mask, height=settings.size, width=settings.size)
        base["garment_share"] = garment_share(mask)
    photos = []
    for variant in range(request.n):
        seed = request.seed + variant
        image = pipe(**inputs, generator=torch.Generator("cpu").manual_seed(seed)).images[0]
        if "mask_image" in inputs:  # the garment's own pixels, exactly: the model only paints around them
            image = Image.composite(image.resize(canvas.size), canvas, inputs["mask_image"])
        provenance = {**base, "seed": seed, "variant": variant}
        photos.append(ModelPhoto(image, {**provenance, "photo_id": _photo_id(provenance)}))
    return photos


def model_photos(session, source, request: PhotoRequest, settings: StudioSettings, *, device: str | None = None,
                 source_name: str | None = None) -> list[ModelPhoto]:
    """The whole shoot for the session's user: check the request, read the product and its photo, compose the
    prompt, load the weights, generate. Nothing is stored yet (:func:`workbench.studio.review.save_photos`)."""
    problems = request.problems()
    if problems:
        raise ValueError("; ".join(problems))
    prompt = compose_prompt(settings, request.look, describe_garment(product_row(session, request.skc_code)))
    photo, sha = read_photo(source)
    pipe = load_pipeline(settings, request.mode, device)
    photos = generate_model_photos(pipe, settings, request, photo, prompt, sha)
    name = source_name or (str(source) if isinstance(source, (str, Path)) else None)
    for p in photos:
        p.provenance.update(source_image=name, created_by=session.user.name)
    return photos
