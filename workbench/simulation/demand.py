"""Expected demand per SKU × location × day, and the calibration that sizes the chain.

expected = K × group factor × store effect × size share × traffic index

- *group factor* (per SKC × channel × region, per day): the SKC's base rate,
  its lifecycle (launch ramp, peak, weekly decay), the weather of the region
  against the item's thickness (North buys thick items earlier and longer),
  and the price effect ``(price paid / tag price) ** -elasticity`` of
  markdowns and promotions (saturating at 4x). Outlets sell old stock at a low appeal.
- *store effect* and *size share*: hidden per store; each store's size curve
  is shifted (North toward larger sizes, South smaller), while the planners
  allocate with one generic curve -- so sizes break (断码) unevenly.
- *traffic index*: today's footfall over the store's ordinary footfall, so
  demand rises and falls with visitors (weekends, holidays, the Spring
  Festival slump, Double 11 online).

The calibration pass evaluates this on sample days before the simulation to
set the global scale K (so an average own store sells ``units_per_store_day``),
each store's ordinary footfall (so conversion = tickets / visitors matches the
store's hidden conversion), the planners' forecasts (from what they can see)
that drive buying and allocation, and the monthly sales plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.simulation.calendar import Calendar
from workbench.simulation.catalog import RUN_CENTRE, Catalog
from workbench.simulation.chain import Chain
from workbench.simulation.promotions import ONLINE, OUTLET, STORE
from workbench.simulation.ranging import N_CHANNEL_KEYS, OUTLET as OUTLET_RECORD, SEASON, RangePlan

OUTLET_APPEAL = 0.25  # an old season's pull in the outlet, before its low price
MAX_PRICE_LIFT = 4.0  # deep discounts saturate: half price does not sell 7x
SAMPLE_STEP = 5  # calibration samples every 5th day (cycles through the weekdays)
SIZE_SPREAD = 1.0  # standard deviation of a size curve, in sizes
EXPECTED_FILL = 0.8  # share of demand that stock on the shelf serves, on average


@dataclass(frozen=True)
class Groups:
    """Demand groups: one per SKC × channel-region (see ranging.N_CHANNEL_KEYS)."""

    skc: np.ndarray
    channel: np.ndarray  # STORE | ONLINE | OUTLET
    region: np.ndarray  # 0..4, 5 = national (online)
    brand: np.ndarray
    category: np.ndarray
    limited: np.ndarray


def build_groups(catalog: Catalog) -> Groups:
    key = np.tile(np.arange(N_CHANNEL_KEYS), catalog.n_skc)
    skc = np.repeat(np.arange(catalog.n_skc), N_CHANNEL_KEYS)
    channel = np.select([key < 5, key == 5], [STORE, ONLINE], OUTLET).astype(np.int8)
    region = np.select([key < 5, key == 5], [key, 5], key - 6).astype(np.int8)
    info = catalog.skc
    return Groups(skc=skc, channel=channel, region=region, brand=info["brand"].to_numpy()[skc],
                  category=info["category"].to_numpy()[skc], limited=info["is_limited"].to_numpy()[skc])


def lifecycle(weeks: np.ndarray, peak: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Launch at 35% of peak, ramp linearly to the peak week, then decay weekly; zero before launch."""
    ramp = 0.35 + 0.65 * np.clip(weeks / peak, 0.0, 1.0)
    after = (1.0 - decay) ** np.maximum(weeks - peak, 0.0)
    return np.where(weeks < 0, 0.0, np.where(weeks < peak, ramp, after))


def climate_table(cal: Calendar) -> np.ndarray:
    """(thickness, region, day) multipliers: thin items like warmth, thick items cold."""
    t = cal.temperature
    thin = np.clip(np.exp(0.05 * (t - 18.0)), 0.3, 2.5)
    medium = 0.6 + 0.5 * np.exp(-(((t - 15.0) / 12.0) ** 2))
    thick = np.clip(np.exp(0.08 * (10.0 - t)), 0.15, 4.0)
    return np.stack([thin, medium, thick])


class DemandModel:
    """Evaluates group factors for a day; holds the per-SKC hidden parameters it needs."""

    def __init__(self, cal: Calendar, catalog: Catalog, groups: Groups):
        info = catalog.skc
        self.groups = groups
        self.base = info["base_true"].to_numpy(float)
        self.known_ratio = info["base_known"].to_numpy(float) / self.base
        self.launch = info["launch_day"].to_numpy(float)
        self.outlet_day = info["outlet_day"].to_numpy(float)
        self.peak = info["peak_week"].to_numpy(float)
        self.decay = info["decay"].to_numpy(float)
        self.elasticity = info["elasticity"].to_numpy(float)
        self.basic = info["is_basic"].to_numpy()
        self.thickness = info["thickness_code"].to_numpy()
        self.climate = climate_table(cal)

    def factor(self, day: int, price_ratio: np.ndarray | None = None) -> np.ndarray:
        """Group factor for one day (without K and store terms); ``price_ratio`` = paid / tag per group."""
        g = self.groups
        skc = g.skc
        weeks = (day - self.launch) / 7.0
        life_skc = np.where(self.basic, 1.0, lifecycle(weeks, self.peak, self.decay))
        outlet_weeks = (day - self.outlet_day) / 7.0
        outlet_life = np.where(outlet_weeks >= 0, OUTLET_APPEAL * 0.985 ** np.maximum(outlet_weeks, 0), 0.0)
        life = np.where(g.channel == OUTLET, outlet_life[skc], life_skc[skc])
        clim = self.climate[self.thickness[skc], g.region, day]
        f = self.base[skc] * life * clim
        if price_ratio is not None:
            f = f * np.minimum(price_ratio ** (-self.elasticity[skc]), MAX_PRICE_LIFT)
        return f


def size_weight(catalog: Catalog, sku: np.ndarray, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """Unnormalised size curve: a bell over the size run, centred on the run's middle plus ``shift``."""
    products = catalog.products
    rank = products["size_rank"].to_numpy(float)[sku]
    centre = products["gender"].map(RUN_CENTRE).to_numpy()[sku]
    z = (rank - centre - shift) / SIZE_SPREAD
    return np.where(rank == 0, 1.0, np.exp(-0.5 * z * z))  # one-size items: all of it


def size_shares(plan: RangePlan, catalog: Catalog, shift: np.ndarray) -> np.ndarray:
    """Share of an SKC's demand (or allocation) falling on each size, per slot; DC slots get 0.

    ``shift`` is per location: the hidden store shift for demand, zeros for the
    planners' generic curve.
    """
    weight = size_weight(catalog, plan.slot_sku, shift[plan.slot_loc])
    weight = np.where(plan.slot_rec >= 0, weight, 0.0)
    rec = np.maximum(plan.slot_rec, 0)
    total = np.bincount(rec, weights=weight, minlength=plan.n_records)
    return np.where(plan.slot_rec >= 0, weight / np.maximum(total[rec], 1e-12), 0.0)


def traffic_profile(cal: Calendar, chain: Chain, open_day: np.ndarray) -> np.ndarray:
    """(locations, days) expected footfall index: calendar profile, zero before opening, closures averaged."""
    online = chain.type == "online"
    store = cal.store_traffic * (1.0 - cal.closed_share)
    profile = np.where(online[:, None], cal.online_traffic[None, :], store[None, :])
    opened = np.arange(cal.n_days)[None, :] > open_day[:, None]
    return np.where(opened & (chain.type != "dc")[:, None], profile, 0.0)


@dataclass(frozen=True)
class Calibration:
    k: float  # global demand scale
    visitors: np.ndarray  # per location: footfall on an index-1 day
    units_per_day: np.ndarray  # per location: expected units on an average open day
    rec_weekly: np.ndarray  # per range record: planners' expected units per week while ranged
    rec_season_units: np.ndarray  # per range record: planners' expected full-price-season units
    plan_units: np.ndarray  # (months, locations, brands) planners' expected units
    plan_revenue: np.ndarray  # same, in CNY at the expected realised price


def calibrate(cal: Calendar, chain: Chain, catalog: Catalog, plan: RangePlan, model: DemandModel,
              open_day: np.ndarray, target_units: float, online_share: float, brands: tuple[str, ...]) -> Calibration:
    """Sample the noise-free demand over the simulated days and derive the scales (see module doc).

    Mutates ``chain.effect`` for the online shop, whose size is set relative to the stores.
    """
    profile = traffic_profile(cal, chain, open_day)
    rec_group = plan.rec_group()
    rec_loc, rec_skc = plan.rec_loc, plan.rec_skc
    skc = catalog.skc
    clearance = skc["clearance_day"].to_numpy()[rec_skc]
    brand_index = {b: i for i, b in enumerate(brands)}
    rec_brand = np.array([brand_index[b] for b in skc["brand"]])[rec_skc]
    price = skc["full_price"].to_numpy()[rec_skc]
    months = _month_index(cal)
    n_loc, n_rec = chain.n, plan.n_records
    true_units, open_days, index_sum = np.zeros(n_loc), np.zeros(n_loc), np.zeros(n_loc)
    season_units, season_days = np.zeros(n_rec), np.zeros(n_rec)
    plan_units = np.zeros((months.max() + 1) * n_loc * len(brands))
    plan_revenue = np.zeros_like(plan_units)
    for day in range(0, cal.n_days, SAMPLE_STEP):
        f = model.factor(day)
        live = np.flatnonzero((plan.rec_start <= day) & (day <= plan.rec_end) & (plan.rec_kind != OUTLET_RECORD))
        loc = rec_loc[live]
        value = f[rec_group[live]] * chain.effect[loc] * profile[loc, day]
        known = value * model.known_ratio[rec_skc[live]] * SAMPLE_STEP
        true_units += np.bincount(loc, weights=value, minlength=n_loc) * SAMPLE_STEP
        is_open = profile[:, day] > 0
        open_days += is_open * SAMPLE_STEP
        index_sum += profile[:, day] * SAMPLE_STEP
        full_price = (plan.rec_kind[live] != SEASON) | (day < clearance[live])
        season_units[live] += np.where(full_price, known, 0.0)
        season_days[live] += np.where(full_price, SAMPLE_STEP, 0)
        key = (months[day] * n_loc + loc) * len(brands) + rec_brand[live]
        plan_units += np.bincount(key, weights=known, minlength=len(plan_units))
        plan_revenue += np.bincount(key, weights=known * price[live] * 0.8, minlength=len(plan_units))
    per_day = true_units / np.maximum(open_days, 1)
    own = chain.type == "own"
    k = target_units / per_day[own].mean()
    online = np.flatnonzero(chain.type == "online")
    physical = np.isin(chain.type, ("own", "consignment"))
    scale = np.ones(n_loc)
    scale[online] = online_share * per_day[physical].sum() / np.maximum(per_day[online], 1e-12)
    chain.effect[:] = chain.effect * scale
    per_day = per_day * scale * k
    outlet = chain.type == "outlet"
    per_day[outlet] = 0.8 * per_day[own].mean()  # outlets: a nominal size; their sales depend on the stock they get
    mean_index = index_sum / np.maximum(open_days, 1)
    # footfall is sized on what stores will really sell (stock-outs cost about a fifth of demand),
    # so realised conversion lands near each store's hidden conversion
    visitors = per_day * EXPECTED_FILL / np.maximum(mean_index, 1e-9) / (chain.conversion * chain.attach)
    rec_scale = k * scale[rec_loc]
    weekly = season_units * rec_scale / np.maximum(season_days, 1) * 7.0
    season_total = season_units * rec_scale * _uncovered_season(plan, clearance, cal.n_days)
    shape = (months.max() + 1, n_loc, len(brands))
    loc_scale = (k * scale)[None, :, None]
    return Calibration(
        k=float(k), visitors=np.where(chain.type == "dc", 0.0, visitors), units_per_day=per_day,
        rec_weekly=weekly, rec_season_units=season_total,
        plan_units=plan_units.reshape(shape) * loc_scale, plan_revenue=plan_revenue.reshape(shape) * loc_scale,
    )


def _uncovered_season(plan: RangePlan, clearance: np.ndarray, n_days: int) -> np.ndarray:
    """Seasons running past the last simulated day: scale the sampled part up to the whole season."""
    length = np.maximum(clearance - plan.rec_start, 1)
    covered = np.clip(np.minimum(clearance, n_days) - plan.rec_start, 1, None)
    return np.where(plan.rec_kind == SEASON, np.maximum(length / covered, 1.0), 1.0)


def _month_index(cal: Calendar) -> np.ndarray:
    """Month number of each day counted from the simulation's first month."""
    months = cal.dates.astype("datetime64[M]").astype(np.int64)
    return months - months[0]
