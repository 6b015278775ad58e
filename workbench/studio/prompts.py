"""The prompt of an AI model photo (AI模特提示词): the garment's words from the catalogue, the chosen
model style (模特风格), scene (场景) and pairing (搭配) from the template library in ``studio:``. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

__all__ = ["Look", "describe_garment", "compose_prompt"]

_LIBRARIES = {"style": "styles", "scene": "scenes", "pairing": "pairings"}


@dataclass(frozen=True)
class Look:
    """What the shoot should look like: one key of each template library."""

    style: str
    scene: str
    pairing: str


def describe_garment(product: Mapping[str, object]) -> str:
    """Words for the garment from its catalogue row: ``red viscose dress, women's`` (colour, fabric, subcategory)."""
    words = [str(product.get(k)) for k in ("colour", "fabric") if product.get(k)]
    words.append(str(product.get("subcategory") or product.get("category") or "garment"))
    gender = product.get("gender")
    suffix = f", {gender}'s" if gender in ("women", "men") else ""
    return " ".join(words).lower() + suffix


def _words(settings, look: Look) -> dict[str, str]:
    """The library words for each part of ``look``; an unknown key is refused with the choices."""
    problems, words = [], {}
    for part, library in _LIBRARIES.items():
        choices = getattr(settings, library)
        key = getattr(look, part)
        if key not in choices:
            problems.append(f"unknown {part} {key!r}: choose one of {', '.join(sorted(choices)) or '(none configured)'} "
                            f"(studio.{library} in the settings file)")
        else:
            words[part] = choices[key]
    if problems:
        raise ValueError("; ".join(problems))
    return words


def compose_prompt(settings, look: Look, garment: str) -> str:
    """The prompt: ``studio.prompt`` with ``{garment}``, ``{style}``, ``{scene}``, ``{pairing}`` filled in."""
    try:
        return settings.prompt.format(garment=garment, **_words(settings, look))
    except KeyError as missing:
        raise ValueError(f"studio.prompt names {missing}, which is not one of garment, style, scene, pairing") from None
