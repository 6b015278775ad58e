"""The locations of the chain: own stores graded A/B/C, outlets, consignment counters, online, the DC.

Conventions other code relies on (stable across scales and seeds):

- ``store_code`` ``S001`` ... for physical stores; ``store_id`` is the number
  (``S017`` → 17). ``ONLINE01`` has ``store_id`` 1000, the warehouse ``DC01``
  has ``store_id`` 0. The online shop and the DC belong to no sales region
  (``region`` is null): they serve the whole country.
- ``S001`` is an A-grade own store in Shanghai (East) at every scale; every
  region has own stores; every scale has outlets and consignment counters.
- At ``tiny`` scale the layout is hand-written (see ``TINY_LAYOUT``).

A consignment counter (代销专柜) sits in a department store, sells one brand
and is settled monthly by the host, who keeps a commission. Hidden store
parameters (demand multiplier, size-curve shift, conversion, attach rate)
go to ``truth.stores``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from workbench.simulation.calendar import REGIONS
from workbench.simulation.scales import Scale
from workbench.simulation.seeding import rng

DC_ID = 0
ONLINE_ID = 1000
BRANDS: tuple[str, ...] = ("Lumen", "Stride", "Meadow")  # women's, men's, unisex casual

# city: (province, region, tier, latitude, longitude)
CITIES: dict[str, tuple[str, str, int, float, float]] = {
    "Shanghai": ("Shanghai", "East", 1, 31.23, 121.47),
    "Hangzhou": ("Zhejiang", "East", 2, 30.27, 120.15),
    "Nanjing": ("Jiangsu", "East", 2, 32.06, 118.80),
    "Suzhou": ("Jiangsu", "East", 2, 31.30, 120.58),
    "Ningbo": ("Zhejiang", "East", 3, 29.87, 121.55),
    "Hefei": ("Anhui", "East", 2, 31.82, 117.23),
    "Jinan": ("Shandong", "East", 2, 36.65, 117.12),
    "Qingdao": ("Shandong", "East", 2, 36.07, 120.38),
    "Wuxi": ("Jiangsu", "East", 3, 31.49, 120.31),
    "Wenzhou": ("Zhejiang", "East", 3, 28.00, 120.70),
    "Beijing": ("Beijing", "North", 1, 39.90, 116.41),
    "Tianjin": ("Tianjin", "North", 2, 39.13, 117.20),
    "Shenyang": ("Liaoning", "North", 2, 41.80, 123.43),
    "Dalian": ("Liaoning", "North", 2, 38.91, 121.61),
    "Harbin": ("Heilongjiang", "North", 2, 45.80, 126.53),
    "Shijiazhuang": ("Hebei", "North", 3, 38.04, 114.51),
    "Taiyuan": ("Shanxi", "North", 3, 37.87, 112.55),
    "Changchun": ("Jilin", "North", 3, 43.82, 125.32),
    "Baotou": ("Inner Mongolia", "North", 4, 40.66, 109.84),
    "Guangzhou": ("Guangdong", "South", 1, 23.13, 113.26),
    "Shenzhen": ("Guangdong", "South", 1, 22.54, 114.06),
    "Xiamen": ("Fujian", "South", 2, 24.48, 118.09),
    "Fuzhou": ("Fujian", "South", 2, 26.07, 119.30),
    "Dongguan": ("Guangdong", "South", 3, 23.02, 113.75),
    "Foshan": ("Guangdong", "South", 3, 23.02, 113.12),
    "Nanning": ("Guangxi", "South", 3, 22.82, 108.32),
    "Haikou": ("Hainan", "South", 3, 20.04, 110.35),
    "Shantou": ("Guangdong", "South", 4, 23.35, 116.68),
    "Wuhan": ("Hubei", "Central", 2, 30.59, 114.31),
    "Changsha": ("Hunan", "Central", 2, 28.23, 112.94),
    "Zhengzhou": ("Henan", "Central", 2, 34.75, 113.63),
    "Nanchang": ("Jiangxi", "Central", 3, 28.68, 115.86),
    "Luoyang": ("Henan", "Central", 4, 34.62, 112.45),
    "Yichang": ("Hubei", "Central", 4, 30.69, 111.29),
    "Chengdu": ("Sichuan", "West", 2, 30.57, 104.07),
    "Chongqing": ("Chongqing", "West", 2, 29.56, 106.55),
    "Xi'an": ("Shaanxi", "West", 2, 34.34, 108.94),
    "Kunming": ("Yunnan", "West", 3, 25.04, 102.71),
    "Guiyang": ("Guizhou", "West", 3, 26.65, 106.63),
    "Lanzhou": ("Gansu", "West", 3, 36.06, 103.83),
    "Urumqi": ("Xinjiang", "West", 4, 43.83, 87.62),
}
REGION_SHARE = {"East": 0.30, "North": 0.20, "South": 0.20, "Central": 0.15, "West": 0.15}
REGION_SIZE_SHIFT = {"East": 0.0, "North": 0.45, "South": -0.40, "Central": 0.05, "West": -0.10}
MALLS = ("Wanda Plaza", "Joy City", "Raffles City", "MixC", "IFS", "K11", "Taikoo Li", "Powerlong Plaza",
         "Longfor Paradise Walk", "Hang Lung Plaza", "Grand Gateway", "Aegean Place")
DEPARTMENT_STORES = ("Parkson", "Intime", "Wangfujing", "New World", "Golden Eagle", "Maoye", "Jinying", "Chongqing Bailian")
TIER_RENT = {1: 620.0, 2: 360.0, 3: 210.0, 4: 130.0}  # CNY per m² per month
UNITS_PER_M2, DEMO_UNITS_PER_STORE_DAY = 14, 60.0  # shelf capacity at demo's trade (shelf_capacity)
TIER_DEMAND = {1: 1.25, 2: 1.0, 3: 0.85, 4: 0.7}
GRADE_DEMAND = {"A": 1.6, "B": 1.0, "C": 0.62}
DC_LOCATION = ("Kunshan", "Jiangsu", 2, 31.38, 120.98)

# Tiny: one own store per region (two in Shanghai, one of them opening in the window),
# an outlet and a consignment counter. (code, type, grade, city, opens in window)
TINY_LAYOUT = (
    ("S001", "own", "A", "Shanghai", False),
    ("S002", "own", "B", "Beijing", False),
    ("S003", "own", "A", "Guangzhou", False),
    ("S004", "own", "C", "Wuhan", False),
    ("S005", "own", "B", "Chengdu", False),
    ("S006", "own", "B", "Shanghai", True),
    ("S007", "outlet", None, "Suzhou", False),
    ("S008", "consignment", None, "Hangzhou", False),
)


@dataclass(frozen=True)
class Chain:
    """The locations table (row order = internal location index) and hidden per-location parameters."""

    stores: pd.DataFrame  # the columns of core.stores
    effect: np.ndarray  # demand multiplier (truth.stores.store_effect)
    size_shift: np.ndarray  # size-curve shift toward larger sizes, in sizes
    conversion: np.ndarray  # share of visitors who buy
    attach: np.ndarray  # mean units per ticket (连带率)
    return_rate: np.ndarray  # share of units brought back
    member_share: np.ndarray  # target share of tickets with a member card
    brand: np.ndarray  # the one brand a consignment counter sells, else ""
    lead_days: np.ndarray  # DC → location transport days
    replenish_days: np.ndarray  # (locations, 7) bool: weekdays the DC replenishes it

    @property
    def n(self) -> int:
        return len(self.stores)

    @property
    def store_id(self) -> np.ndarray:
        return self.stores["store_id"].to_numpy(np.int32)

    @property
    def type(self) -> np.ndarray:
        return self.stores["store_type"].to_numpy()

    @property
    def region_index(self) -> np.ndarray:
        """0..4 for the sales regions, -1 for the online shop and the DC."""
        lookup = {r: i for i, r in enumerate(REGIONS)}
        return np.array([lookup.get(r, -1) for r in self.stores["region"]], dtype=np.int8)

    def index_of(self, store_code: str) -> int:
        return int(np.flatnonzero(self.stores["store_code"].to_numpy() == store_code)[0])


def build_chain(scale: Scale, seed: int, sim_start: date, window_start: date, end: date) -> Chain:
    """Physical stores first (S001 ...), then the online shop, with the DC as row 0."""
    physical = _tiny_layout(scale, window_start, end, seed) if scale.name == "tiny" else _generated_layout(scale, seed, sim_start, window_start, end)
    stores = pd.concat([_dc_row(), physical, _online_row()], ignore_index=True)
    return _with_hidden_parameters(stores, seed)


def shelf_capacity(area_m2: np.ndarray, scale: Scale) -> np.ndarray:
    """Units a store can hold: 14 a square metre at demo's trade (60 units a day in an average store).

    A scale whose stores sell more holds proportionally more in the same floor area (deeper fixtures and
    back rooms); otherwise the ``large`` chain's stores, which sell six times demo's, would hold three
    to eight times their capacity, and every store would look full to the allocation planner.
    """
    return (area_m2 * UNITS_PER_M2 * scale.units_per_store_day / DEMO_UNITS_PER_STORE_DAY).astype(np.int32)


def _tiny_layout(scale: Scale, window_start: date, end: date, seed: int) -> pd.DataFrame:
    g = rng(seed, "tiny-layout")
    rows = []
    for code, kind, grade, city, opens in TINY_LAYOUT:
        open_date = date(2025, 3, 28) if opens else date(2012 + int(g.integers(0, 10)), int(g.integers(1, 13)), 1)
        rows.append(dict(store_code=code, store_type=kind, grade=grade, city=city, open_date=open_date))
    frame = pd.DataFrame(rows)
    frame["host_brand"] = np.where(frame["store_type"] == "consignment", "Lumen", "")
    return _physical_attributes(frame, seed, scale)


def _generated_layout(scale: Scale, seed: int, sim_start: date, window_start: date, end: date) -> pd.DataFrame:
    g = rng(seed, "layout")
    kinds = (["own"] * scale.own_stores) + (["outlet"] * scale.outlets) + (["consignment"] * scale.consignment)
    grades = (["A"] * scale.grades[0]) + (["B"] * scale.grades[1]) + (["C"] * scale.grades[2]) + [None] * (scale.outlets + scale.consignment)
    frame = pd.DataFrame({"store_type": kinds, "grade": grades})
    # S001 is always the Shanghai flagship; the others get their codes in shuffled order.
    order = np.r_[0, 1 + g.permutation(len(frame) - 1)]
    frame = frame.iloc[order].reset_index(drop=True)
    frame["store_code"] = [f"S{i + 1:03d}" for i in range(len(frame))]
    frame["city"] = [_pick_city(g, kind, grade, i) for i, (kind, grade) in enumerate(zip(frame["store_type"], frame["grade"]))]
    frame.loc[0, "city"] = "Shanghai"
    _ensure_every_region(frame, g)
    frame["open_date"] = [date(int(g.integers(2010, sim_start.year)), int(g.integers(1, 13)), int(g.integers(1, 28))) for _ in range(len(frame))]
    openers = g.choice(np.flatnonzero((frame["store_type"] == "own") & (frame["grade"] != "A")), size=scale.openings, replace=False)
    window_days = (end - window_start).days - 120  # at least four months of trading in the window
    for i in openers:
        frame.loc[i, "open_date"] = window_start + timedelta(days=int(g.integers(30, window_days)))
    counters = frame["store_type"] == "consignment"
    frame["host_brand"] = ""
    frame.loc[counters, "host_brand"] = g.choice(BRANDS, size=int(counters.sum()), p=[0.5, 0.3, 0.2])
    return _physical_attributes(frame, seed, scale)


def _pick_city(g: np.random.Generator, kind: str, grade: str | None, i: int) -> str:
    """Big cities get more and better stores; counters and outlets spread wider."""
    region = g.choice(REGIONS, p=[REGION_SHARE[r] for r in REGIONS])
    names = [c for c, v in CITIES.items() if v[1] == region]
    tiers = np.array([CITIES[c][2] for c in names], dtype=float)
    if grade == "A":
        weight = np.where(tiers <= 2, 4.0 / tiers, 0.1)
    elif kind == "outlet":
        weight = np.where(tiers <= 2, 1.0, 0.2)
    else:
        weight = 1.0 / tiers
    return str(g.choice(names, p=weight / weight.sum()))


def _ensure_every_region(frame: pd.DataFrame, g: np.random.Generator) -> None:
    """Business users scope by region, so every region must have own stores: move one from the busiest region."""
    for region in REGIONS:
        regions = frame["city"].map(lambda c: CITIES[c][1])
        own = (frame["store_type"] == "own") & (frame.index > 0)
        if (own & (regions == region)).any():
            continue
        busiest = regions[own].value_counts().index[0]
        i = int(g.choice(frame.index[own & (regions == busiest)].to_numpy()))
        frame.loc[i, "city"] = next(c for c, v in CITIES.items() if v[1] == region and v[2] <= 2)


def _physical_attributes(frame: pd.DataFrame, seed: int, scale: Scale) -> pd.DataFrame:
    """Names, sizes, costs and coordinates from type, grade and city."""
    g = rng(seed, "store-attributes")
    n = len(frame)
    city = frame["city"]
    tier = city.map(lambda c: CITIES[c][2]).to_numpy()
    kind = frame["store_type"].to_numpy()
    grade = frame["grade"].to_numpy()
    area = np.select(
        [grade == "A", grade == "B", grade == "C", kind == "outlet", kind == "consignment"],
        [g.uniform(250, 400, n), g.uniform(150, 250, n), g.uniform(80, 150, n), g.uniform(300, 500, n), g.uniform(40, 80, n)],
    ).round(0)
    staff = np.maximum(2, np.round(area / 28 + g.normal(0, 1, n))).astype(np.int16)
    rent = np.where(kind == "consignment", 0.0, area * np.vectorize(TIER_RENT.get)(tier) * np.where(kind == "outlet", 0.45, 1.0))
    host = np.where(kind == "consignment", g.choice(DEPARTMENT_STORES, size=n), None)
    mall = g.choice(MALLS, size=n)
    names = [
        f"{c} {h} counter" if k == "consignment" else f"{c} Outlets" if k == "outlet" else f"{c} {m}"
        for c, k, h, m in zip(city, kind, host, mall)
    ]
    return pd.DataFrame({
        "store_id": np.array([int(c[1:]) for c in frame["store_code"]], dtype=np.int32),
        "store_code": frame["store_code"].to_numpy(),
        "store_name": names,
        "store_type": kind,
        "grade": grade,
        "region": city.map(lambda c: CITIES[c][1]).to_numpy(),
        "province": city.map(lambda c: CITIES[c][0]).to_numpy(),
        "city": city.to_numpy(),
        "city_tier": tier.astype(np.int8),
        "host_department_store": host,
        "commission_rate": np.where(kind == "consignment", g.uniform(0.18, 0.30, n).round(3), np.nan),
        "open_date": frame["open_date"].to_numpy(),
        "close_date": [None] * n,
        "area_m2": area,
        "staff_count": staff,
        "monthly_rent": rent.round(2),
        "monthly_staff_cost": (staff * np.where(tier == 1, 9000.0, 6500.0) * g.uniform(0.9, 1.1, n)).round(2),
        "capacity_units": shelf_capacity(area, scale),
        "latitude": (city.map(lambda c: CITIES[c][3]).to_numpy() + g.normal(0, 0.03, n)).round(5),
        "longitude": (city.map(lambda c: CITIES[c][4]).to_numpy() + g.normal(0, 0.03, n)).round(5),
        "host_brand": frame["host_brand"].to_numpy(),
    })


def _dc_row() -> pd.DataFrame:
    city, province, tier, lat, lon = DC_LOCATION
    return pd.DataFrame([dict(
        store_id=DC_ID, store_code="DC01", store_name="Kunshan central warehouse", store_type="dc", grade=None,
        region=None, province=province, city=city, city_tier=tier, host_department_store=None,
        commission_rate=np.nan, open_date=date(2010, 1, 1), close_date=None, area_m2=24000.0, staff_count=60,
        monthly_rent=480000.0, monthly_staff_cost=420000.0, capacity_units=2_000_000, latitude=lat, longitude=lon,
        host_brand="",
    )])


def _online_row() -> pd.DataFrame:
    return pd.DataFrame([dict(
        store_id=ONLINE_ID, store_code="ONLINE01", store_name="Online flagship (Tmall / WeChat mini-shop)",
        store_type="online", grade=None, region=None, province="Shanghai", city="Shanghai", city_tier=1,
        host_department_store=None, commission_rate=np.nan, open_date=date(2016, 6, 1), close_date=None,
        area_m2=np.nan, staff_count=25, monthly_rent=60000.0, monthly_staff_cost=260000.0, capacity_units=200_000,
        latitude=31.23, longitude=121.47, host_brand="",
    )])


def _with_hidden_parameters(stores: pd.DataFrame, seed: int) -> Chain:
    g = rng(seed, "store-truth")
    n = len(stores)
    kind = stores["store_type"].to_numpy()
    grade = stores["grade"].fillna("").to_numpy()
    tier = stores["city_tier"].to_numpy()
    region = stores["region"].fillna("").to_numpy()
    own = kind == "own"
    effect = np.where(own, np.vectorize(lambda x: GRADE_DEMAND.get(x, 1.0))(grade), 1.0)
    effect = effect * np.vectorize(TIER_DEMAND.get)(tier) * g.lognormal(0, 0.2, n)
    effect = np.select([kind == "consignment", kind == "outlet", kind == "dc"], [effect * 0.45, effect * 1.0, 0.0], effect)
    shift = np.array([REGION_SIZE_SHIFT.get(r, 0.0) for r in region]) + g.normal(0, 0.25, n)
    grade_conv = np.vectorize(lambda x: {"A": 0.15, "B": 0.13, "C": 0.11}.get(x, 0.12))(grade)
    conversion = np.select([kind == "online", kind == "outlet", kind == "consignment"], [0.03, 0.15, 0.12], grade_conv)
    conversion = conversion * g.uniform(0.85, 1.15, n)
    attach = np.select([kind == "online", kind == "outlet", kind == "consignment"],
                       [g.uniform(1.40, 1.55, n), g.uniform(1.9, 2.2, n), g.uniform(1.3, 1.5, n)], g.uniform(1.4, 2.0, n))
    return_rate = np.select([kind == "online", kind == "outlet"], [g.uniform(0.17, 0.23, n), g.uniform(0.02, 0.035, n)], g.uniform(0.035, 0.07, n))
    member_share = np.where(kind == "online", g.uniform(0.35, 0.45, n), g.uniform(0.36, 0.50, n))
    lead = np.select([kind == "online", region == "East", region == "West"], [1, 1, 3], 2).astype(np.int16)
    replenish = np.zeros((n, 7), dtype=bool)
    for i, k in enumerate(kind):
        if k == "online":
            replenish[i, :] = True  # the online shop sits next to the DC: topped up daily
        elif k in ("own", "consignment"):
            first = int(stores["store_id"].iloc[i]) % 3  # Mon/Thu, Tue/Fri or Wed/Sat
            replenish[i, [first, first + 3]] = True
    brand = stores.pop("host_brand").to_numpy()
    dc = kind == "dc"
    return Chain(
        stores=stores,
        effect=effect,
        size_shift=np.where(dc, 0.0, shift),
        conversion=np.where(dc, np.nan, conversion),
        attach=np.where(dc, np.nan, attach),
        return_rate=np.where(dc, 0.0, return_rate),
        member_share=np.where(dc, 0.0, member_share),
        brand=brand,
        lead_days=lead,
        replenish_days=replenish,
    )
