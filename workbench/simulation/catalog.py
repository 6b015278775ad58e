"""The range: suppliers, and brands → categories → styles (款) → style-colours (SKC, 款色) → sizes (SKU).

Each season (``2024SS``, ``2024AW``) launches in three waves, is reviewed for
markdowns mid-season, cleared, recalled to the DC, partly returned to the
supplier and resold in outlets the following year. ``BASIC`` style-colours
sell all year and are replenished from rolling orders.

Hidden demand parameters per SKC go to ``truth.products``: the planners see
only ``base_known`` (what a buyer can judge from the sample), the customers
answer to ``base_known × hot factor`` -- so a few items turn out 3-5x hotter
than the rest (爆款) and many turn out weak, which is why hot items get
under-bought and cold ones over-bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from workbench.simulation.calendar import Calendar
from workbench.simulation.chain import BRANDS
from workbench.simulation.scales import Scale
from workbench.simulation.seeding import rng

THIN, MEDIUM, THICK = 0, 1, 2
THICKNESS = ("thin", "medium", "thick")

# name: (category, code, weight in SS, weight in AW, thickness SS, thickness AW, price low, high, fabrics, size run, occasion)
SUBCATEGORIES: dict[str, tuple] = {
    "t-shirt": ("tops", "TS", 3.0, 0.7, THIN, THIN, 79, 199, ("cotton", "modal", "linen blend"), "letter", "casual"),
    "shirt": ("tops", "SH", 2.0, 1.2, THIN, MEDIUM, 199, 399, ("cotton", "linen", "silk blend"), "letter", "office"),
    "knitwear": ("tops", "KN", 0.7, 2.2, MEDIUM, MEDIUM, 249, 599, ("wool", "cashmere blend", "acrylic"), "letter", "office"),
    "sweatshirt": ("tops", "SW", 0.8, 1.5, MEDIUM, MEDIUM, 199, 349, ("cotton fleece", "cotton"), "letter", "sport"),
    "jeans": ("bottoms", "JE", 1.4, 1.4, MEDIUM, MEDIUM, 249, 499, ("denim",), "waist", "casual"),
    "trousers": ("bottoms", "TR", 1.4, 1.4, THIN, MEDIUM, 199, 449, ("polyester", "wool blend", "cotton"), "waist", "office"),
    "skirt": ("bottoms", "SK", 1.5, 0.8, THIN, MEDIUM, 199, 399, ("cotton", "polyester", "wool blend"), "letter", "party"),
    "dress": ("dresses", "DR", 2.5, 1.0, THIN, MEDIUM, 299, 799, ("silk blend", "cotton", "viscose"), "letter", "party"),
    "jacket": ("outerwear", "JK", 1.0, 1.6, MEDIUM, MEDIUM, 399, 899, ("nylon", "cotton twill", "denim"), "letter", "casual"),
    "coat": ("outerwear", "CT", 0.1, 1.6, MEDIUM, THICK, 799, 1899, ("wool", "cashmere blend"), "letter", "office"),
    "down jacket": ("outerwear", "DJ", 0.0, 1.6, THICK, THICK, 699, 1599, ("down", "nylon"), "letter", "sport"),
    "scarf": ("accessories", "SC", 0.2, 0.8, THIN, THICK, 99, 299, ("silk", "wool", "cashmere"), "one", "casual"),
    "bag": ("accessories", "BG", 0.5, 0.5, MEDIUM, MEDIUM, 199, 699, ("leather", "canvas"), "one", "casual"),
    "hat": ("accessories", "HT", 0.4, 0.5, THIN, THICK, 79, 199, ("cotton", "wool"), "one", "sport"),
}
BRAND_RANGE = {
    "Lumen": ("t-shirt", "shirt", "knitwear", "trousers", "skirt", "dress", "jacket", "coat", "down jacket", "scarf", "bag"),
    "Stride": ("t-shirt", "shirt", "knitwear", "sweatshirt", "jeans", "trousers", "jacket", "coat", "down jacket", "hat"),
    "Meadow": ("t-shirt", "sweatshirt", "jeans", "jacket", "down jacket", "hat", "bag"),
}
BRAND_SHARE = (0.45, 0.35, 0.20)
GENDER = {"Lumen": "women", "Stride": "men", "Meadow": "unisex"}
# Size runs on one body scale 1..6 (XS..XXL); size_rank is that position, 0 for one-size items.
SIZE_RUNS = {
    ("letter", "women"): (("XS", 1), ("S", 2), ("M", 3), ("L", 4), ("XL", 5)),
    ("letter", "men"): (("S", 2), ("M", 3), ("L", 4), ("XL", 5), ("XXL", 6)),
    ("letter", "unisex"): (("S", 2), ("M", 3), ("L", 4), ("XL", 5)),
    ("waist", "women"): (("25", 1), ("26", 2), ("27", 3), ("28", 4), ("29", 5)),
    ("waist", "men"): (("29", 2), ("30", 3), ("32", 4), ("34", 5), ("36", 6)),
    ("waist", "unisex"): (("27", 2), ("29", 3), ("31", 4), ("33", 5)),
}
RUN_CENTRE = {"women": 2.8, "men": 4.0, "unisex": 3.5}  # where the planners' generic size curve peaks
COLOURS = (("BLK", "black", "dark"), ("NAV", "navy", "dark"), ("WHT", "white", "light"), ("PNK", "pink", "light"),
           ("BEI", "beige", "neutral"), ("GRY", "grey", "neutral"), ("KHA", "khaki", "neutral"), ("CAM", "camel", "neutral"),
           ("RED", "red", "bright"), ("BLU", "blue", "bright"), ("GRN", "green", "bright"))
ADJECTIVES = ("Relaxed", "Cropped", "Classic", "Oversized", "Slim", "Pleated", "Soft", "Structured", "Everyday",
              "City", "Weekend", "Tailored", "Washed", "Light", "Quilted", "Belted")
SUPPLIER_COUNTRIES = ("China", "China", "China", "Vietnam", "Bangladesh", "Turkey", "Italy", "Cambodia")

# Season milestones as (month, day, years after the season year).
SS_MILESTONES = dict(waves=((2, 20, 0), (3, 15, 0), (4, 10, 0)), review=(6, 1, 0), clearance=(8, 1, 0),
                     season_end=(8, 31, 0), recall=(9, 10, 0), supplier_return=(10, 10, 0),
                     outlet=(3, 1, 1), outlet_deep=(9, 1, 1))
AW_MILESTONES = dict(waves=((8, 15, 0), (9, 10, 0), (10, 8, 0)), review=(12, 1, 0), clearance=(1, 5, 1),
                     season_end=(2, 28, 1), recall=(3, 10, 1), supplier_return=(4, 10, 1),
                     outlet=(9, 1, 1), outlet_deep=(3, 1, 2))
BASIC_LAUNCH = date(2020, 3, 1)
NEVER = 10**6  # a day number no simulation reaches


@dataclass(frozen=True)
class Catalog:
    """Products at SKU grain (core.products) plus per-SKC arrays the simulation works with."""

    products: pd.DataFrame  # core.products, row = SKU index, sku_id = index + 1
    suppliers: pd.DataFrame  # core.suppliers
    seasons: tuple[str, ...]
    skc: pd.DataFrame  # one row per SKC (index = SKC index): hidden and planning attributes, day numbers of milestones

    @property
    def n_skc(self) -> int:
        return len(self.skc)

    @property
    def n_sku(self) -> int:
        return len(self.products)

    def sku_skc(self) -> np.ndarray:
        """SKC index of each SKU (SKUs of one SKC are contiguous)."""
        return self.products["skc_id"].to_numpy(np.int32) - 1


def season_names(sim_start: date, end: date) -> tuple[str, ...]:
    return tuple(f"{y}{s}" for y in range(sim_start.year, end.year + 1) for s in ("SS", "AW")) + ("BASIC",)


def build_catalog(scale: Scale, seed: int, cal: Calendar) -> Catalog:
    seasons = season_names(cal.sim_start, cal.end)
    suppliers = _suppliers(scale, seed)
    skc = pd.concat([_season_skcs(scale, seed, s, k, cal) for k, s in enumerate(seasons)], ignore_index=True)
    skc = _assign_suppliers(skc, suppliers, seed)
    skc = _hidden_demand(skc, seed)
    skc["skc_id"] = np.arange(1, len(skc) + 1, dtype=np.int32)
    products = _expand_sizes(skc)
    return Catalog(products=products, suppliers=suppliers, seasons=seasons, skc=skc)


def _suppliers(scale: Scale, seed: int) -> pd.DataFrame:
    g = rng(seed, "suppliers")
    n = {"tiny": 5, "demo": 12}.get(scale.name, 20)
    countries = g.choice(SUPPLIER_COUNTRIES, size=n)
    return pd.DataFrame({
        "supplier_id": np.arange(1, n + 1, dtype=np.int32),
        "supplier_name": [f"{c} Garment Co. {i:02d}" for i, c in enumerate(countries, start=1)],
        "country": countries,
        "lead_time_days": np.where(np.isin(countries, ("Italy", "Turkey")), g.integers(75, 120, n), g.integers(45, 90, n)).astype(np.int16),
        "return_allowance": g.uniform(0.05, 0.20, n).round(3),
    })


def _season_skcs(scale: Scale, seed: int, season: str, season_index: int, cal: Calendar) -> pd.DataFrame:
    """Styles of one season with their colours; milestones as day numbers of the simulation."""
    g = rng(seed, "season-range", season_index)
    basic = season == "BASIC"
    n_skc = scale.basics if basic else scale.skcs_per_season
    rows = []
    style_no = 0
    while sum(r["n_colours"] for r in rows) < n_skc:
        brand = str(g.choice(BRANDS, p=BRAND_SHARE))
        names = BRAND_RANGE[brand]
        # a basic is a year-round version of a spring/summer or an autumn/winter item
        ss_like = bool(g.random() < 0.5) if basic else season.endswith("SS")
        weights = np.array([SUBCATEGORIES[s][2 if ss_like else 3] for s in names]) + (0.3 if basic else 0.0)
        sub = str(g.choice(names, p=weights / weights.sum()))
        style_no += 1
        rows.append(dict(brand=brand, subcategory=sub, style_no=style_no, ss_like=ss_like,
                         n_colours=int(g.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))))
    styles = pd.DataFrame(rows)
    styles = _style_attributes(styles, g, season)
    skc = styles.loc[styles.index.repeat(styles["n_colours"])].reset_index(drop=True).iloc[:n_skc].copy()
    colour_pick = [g.choice(len(COLOURS), size=k, replace=False) for k in styles["n_colours"]]
    skc["colour_index"] = np.concatenate(colour_pick)[:n_skc]
    skc["season"] = season
    skc["season_index"] = season_index
    skc["is_basic"] = basic
    return _milestones(skc, g, season, cal)


def _style_attributes(styles: pd.DataFrame, g: np.random.Generator, season: str) -> pd.DataFrame:
    n = len(styles)
    sub = styles["subcategory"]
    info = sub.map(SUBCATEGORIES)
    lo = info.map(lambda v: v[6]).to_numpy(float)
    hi = info.map(lambda v: v[7]).to_numpy(float)
    position = g.random(n)
    price = lo + position * (hi - lo)
    styles["full_price"] = np.maximum(49.0, np.round(price / 50.0) * 50.0 - 1.0)  # 299, 349 ... as tagged
    styles["price_band"] = np.select([position < 0.33, position < 0.75], ["entry", "core"], "premium")
    styles["unit_cost"] = (styles["full_price"] * g.uniform(0.26, 0.38, n)).round(2)
    styles["category"] = info.map(lambda v: v[0])
    styles["thickness_code"] = np.where(styles["ss_like"], info.map(lambda v: v[4]), info.map(lambda v: v[5])).astype(np.int8)
    styles["fabric"] = [str(g.choice(v[8])) for v in info]
    styles["size_run"] = info.map(lambda v: v[9])
    styles["occasion"] = info.map(lambda v: v[10])
    styles["versatility"] = g.integers(1, 6, n).astype(np.int8)
    styles["gender"] = styles["brand"].map(GENDER)
    prefix = "BASIC" if season == "BASIC" else season[2:]
    styles["style_code"] = [f"{prefix}-{SUBCATEGORIES[s][1]}{k:04d}" for s, k in zip(sub, styles["style_no"])]
    adjective = g.choice(ADJECTIVES, size=n)
    styles["style_name"] = [f"{a} {f} {s}" for a, f, s in zip(adjective, styles["fabric"], sub)]
    return styles


def _milestones(skc: pd.DataFrame, g: np.random.Generator, season: str, cal: Calendar) -> pd.DataFrame:
    n = len(skc)
    if season == "BASIC":
        skc["launch_day"] = 3  # on shelf since 2020; the simulation stocks them in its first days
        for key in ("review_day", "clearance_day", "season_end_day", "recall_day", "return_day", "outlet_day", "outlet_deep_day"):
            skc[key] = NEVER
        skc["launch_date"] = BASIC_LAUNCH
        skc["season_end_date"] = None
        skc["season_year"] = BASIC_LAUNCH.year
        return skc
    year = int(season[:4])
    plan = SS_MILESTONES if season.endswith("SS") else AW_MILESTONES

    def day(m: tuple[int, int, int]) -> int:
        return cal.index(date(year + m[2], m[0], m[1]))

    wave = g.integers(0, 3, n)
    waves = np.array([day(w) for w in plan["waves"]])
    skc["launch_day"] = waves[wave] + g.integers(-3, 4, n)
    for key, name in (("review", "review_day"), ("clearance", "clearance_day"), ("season_end", "season_end_day"),
                      ("recall", "recall_day"), ("supplier_return", "return_day"), ("outlet", "outlet_day"),
                      ("outlet_deep", "outlet_deep_day")):
        skc[name] = day(plan[key])
    skc["launch_date"] = [cal.date(d) for d in skc["launch_day"]]
    skc["season_end_date"] = cal.date(day(plan["season_end"]))
    skc["season_year"] = year
    return skc


def _assign_suppliers(skc: pd.DataFrame, suppliers: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each supplier makes a few subcategories; a style's colours come from one supplier."""
    g = rng(seed, "supplier-assignment")
    subs = sorted(SUBCATEGORIES)
    makers = {s: g.choice(suppliers["supplier_id"].to_numpy(), size=min(2, len(suppliers)), replace=False) for s in subs}
    style_key = skc["season"] + skc["style_code"]
    first = ~style_key.duplicated()
    pick = {k: int(g.choice(makers[s])) for k, s in zip(style_key[first], skc["subcategory"][first])}
    skc["supplier_id"] = style_key.map(pick).astype(np.int32)
    return skc


def _hidden_demand(skc: pd.DataFrame, seed: int) -> pd.DataFrame:
    """What a buyer can see (base_known) and what customers will do (hot factor, elasticity, lifecycle)."""
    g = rng(seed, "product-truth")
    n = len(skc)
    info = skc["subcategory"].map(SUBCATEGORIES)
    season_weight = np.where(skc["ss_like"], info.map(lambda v: v[2]), info.map(lambda v: v[3])).astype(float) + 0.3
    band = skc["price_band"].map({"entry": 1.4, "core": 1.0, "premium": 0.6}).to_numpy()
    known = season_weight * band * (0.7 + 0.15 * skc["versatility"].to_numpy()) * g.lognormal(0, 0.3, n)
    known = known * np.where(skc["is_basic"], 0.5, 1.0)  # steady sellers, never at their peak
    u = g.random(n)
    hotness = np.select([u < 0.06, u < 0.60], ["hot", "normal"], "cold")
    factor = np.select([hotness == "hot", hotness == "normal"], [g.uniform(3.0, 5.0, n), g.lognormal(0, 0.25, n)], g.uniform(0.15, 0.5, n))
    limited = (~skc["is_basic"].to_numpy()) & (skc["price_band"].to_numpy() != "entry") & (g.random(n) < 0.04)
    hotness = np.where(limited & (g.random(n) < 0.6), "hot", hotness)
    factor = np.where(limited & (hotness == "hot"), np.maximum(factor, 3.0), factor)
    limited = _at_least_one_limited_per_season(skc, limited, g)
    hotness = np.where(limited & (hotness == "cold"), "normal", hotness)
    factor = np.where(limited, np.maximum(factor, 1.0), factor)
    skc["is_limited"] = limited
    skc["base_known"] = known
    skc["base_true"] = known * factor
    skc["hotness"] = hotness
    skc["elasticity"] = np.where(skc["price_band"] == "premium", g.uniform(1.0, 2.0, n), g.uniform(1.4, 2.8, n)).round(3)
    skc["peak_week"] = g.uniform(2.0, 8.0, n).round(2)
    skc["decay"] = (g.uniform(0.04, 0.14, n) * np.where(hotness == "hot", 0.6, 1.0)).round(4)
    skc["target_sell_through"] = (skc["price_band"].map({"entry": 0.80, "core": 0.72, "premium": 0.62}) + g.normal(0, 0.03, n)).round(3)
    return skc


def _at_least_one_limited_per_season(skc: pd.DataFrame, limited: np.ndarray, g: np.random.Generator) -> np.ndarray:
    """Every season has a limited release, so scalping cases exist even in the tiny chain."""
    limited = limited.copy()
    for season, rows in skc.groupby("season").groups.items():
        rows = np.asarray(rows)
        if season == "BASIC" or limited[rows].any():
            continue
        eligible = rows[skc["price_band"].to_numpy()[rows] != "entry"]
        limited[g.choice(eligible if len(eligible) else rows)] = True
    return limited


def _expand_sizes(skc: pd.DataFrame) -> pd.DataFrame:
    """One row per size of each SKC: the core.products table."""
    runs = [SIZE_RUNS.get((r, gd), (("F", 0),)) for r, gd in zip(skc["size_run"], skc["gender"])]
    counts = np.array([len(r) for r in runs])
    rows = skc.loc[skc.index.repeat(counts)].reset_index(drop=True)
    sizes = [s for run in runs for s in run]
    rows["size"] = [s for s, _ in sizes]
    rows["size_rank"] = np.array([k for _, k in sizes], dtype=np.int8)
    centre = rows["gender"].map(RUN_CENTRE).to_numpy()
    rows["is_core_size"] = (rows["size_rank"] == 0) | (np.abs(rows["size_rank"] - centre) <= 1.1)
    colour = np.array(COLOURS, dtype=object)[rows["colour_index"].to_numpy()]
    rows["colour"] = [c[1] for c in colour]
    rows["colour_family"] = [c[2] for c in colour]
    rows["skc_code"] = rows["style_code"] + "-" + [c[0] for c in colour]
    rows["sku_code"] = rows["skc_code"] + "-" + rows["size"]
    rows["sku_id"] = np.arange(1, len(rows) + 1, dtype=np.int32)
    style_key = rows["season"] + rows["style_code"]
    rows["style_id"] = (pd.factorize(style_key)[0] + 1).astype(np.int32)
    rows["thickness"] = np.array(THICKNESS)[rows["thickness_code"].to_numpy()]
    return rows[[
        "sku_id", "sku_code", "skc_id", "skc_code", "style_id", "style_code", "style_name", "brand", "category",
        "subcategory", "gender", "season", "season_year", "launch_date", "season_end_date", "colour", "colour_family",
        "size", "size_rank", "is_core_size", "fabric", "thickness", "versatility", "occasion", "price_band",
        "full_price", "unit_cost", "supplier_id", "target_sell_through", "is_limited",
    ]]
