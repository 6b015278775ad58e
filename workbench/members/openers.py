"""Opening lines (开场白) for the staff's reactivation calls: a template library (``members.openers``) and tags.

A template is chosen by the member's RFM segment: the first template whose ``segments`` list holds it, else
the first template without ``segments`` (the default). It is filled with the member's tags:

``{name}`` as the caller's session shows it (masked for all but admin), ``{honorific}`` (女士 / 先生 in
Chinese, Ms / Mr in English, from the member's gender), ``{store}``, ``{category}`` (the first suggested
product's, else their favourite, named in the template's language through ``category_names``), ``{size}``,
``{product}`` (the first suggested product) and ``{days}`` since their last purchase. A template naming anything else is refused when the library is
loaded, so a typo in the settings file cannot reach a customer.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.members.conf import members_section

__all__ = ["OpenerLibrary", "load_openers", "opening_line", "PLACEHOLDERS", "LANGUAGES"]

PLACEHOLDERS = ("name", "honorific", "store", "category", "size", "product", "days")
LANGUAGES = ("zh", "en")
HONORIFICS = {"zh": {"F": "女士", "M": "先生"}, "en": {"F": "Ms", "M": "Mr"}}
DEFAULT_TEMPLATES = (  # used only when the settings file has no library (workbench.yaml holds the real one)
    {"zh": "{name}{honorific}您好，这里是{store}。最近到了几款{category}，{size}码有货，比如{product}，"
           "有空来店里看看吧。",
     "en": "Hello {honorific} {name}, this is {store}. Some new {category} just came in and your size {size} "
           "is in stock, such as {product}. Do drop by when you have time."},
)


@dataclass(frozen=True)
class OpenerLibrary:
    templates: tuple[Mapping[str, Any], ...] = DEFAULT_TEMPLATES
    category_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lang -> category -> name

    def __post_init__(self) -> None:
        if not any(not t.get("segments") for t in self.templates):
            raise ValueError("members.openers.templates needs a default template (one without `segments`)")
        for i, template in enumerate(self.templates):
            for lang in LANGUAGES:
                text = template.get(lang)
                if not text:
                    raise ValueError(f"members.openers.templates[{i}] has no `{lang}` text")
                used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
                if used - set(PLACEHOLDERS):
                    raise ValueError(f"members.openers.templates[{i}].{lang} uses unknown placeholder(s) "
                                     f"{sorted(used - set(PLACEHOLDERS))}; the known ones are {', '.join(PLACEHOLDERS)}")

    def template_for(self, segment: str | None) -> Mapping[str, Any]:
        for template in self.templates:
            if segment and segment in (template.get("segments") or ()):
                return template
        return next(t for t in self.templates if not t.get("segments"))

    def category(self, name: str | None, lang: str) -> str:
        if not name:
            return {"zh": "新品", "en": "new arrivals"}[lang]
        return self.category_names.get(lang, {}).get(name, name)


def load_openers() -> OpenerLibrary:
    """``members.openers`` of the settings file (templates and category names); the built-in library if absent."""
    conf = members_section("openers")
    unknown = sorted(set(conf) - {"templates", "category_names"})
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in members.openers; the fields are templates, category_names")
    templates = tuple(conf.get("templates") or DEFAULT_TEMPLATES)
    return OpenerLibrary(templates, conf.get("category_names") or {})


def opening_line(member: Mapping[str, Any], library: OpenerLibrary, lang: str) -> str:
    """The opening line for one call-list row (``member_name``, ``gender``, ``store_name``, ``categories`` ...)."""
    template = library.template_for(member.get("segment"))
    favourite = member.get("product_1_category") or (member.get("categories") or "").split(", ")[0] or None
    values = {
        "name": member.get("member_name") or "",
        "honorific": HONORIFICS[lang].get(member.get("gender") or "", ""),
        "store": member.get("store_name") or "",
        "category": library.category(favourite, lang),
        "size": member.get("sizes") or "",
        "product": member.get("product_1_name") or library.category(favourite, lang),
        "days": member.get("recency_days") if member.get("recency_days") is not None else "",
    }
    return template[lang].format(**values).strip()
