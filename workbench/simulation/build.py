"""Build the simulated chain into the warehouse: ``build_warehouse(settings, scale, seed)``.

The simulation runs day by day from the warm-up start to the window's last
day. Each day: goods arrive and scheduled events happen (launches, markdowns,
recalls ...); footfall is drawn; demand is drawn for every ranged SKU at
every location and censored by the stock on the shelf; what sold becomes
tickets with payments and points; returns come back; planted irregularities
slip in; in the evening the DC replenishes and stores swap stock. Facts are
streamed to the sink as they are produced (peak memory does not grow with
the window), and the sink swaps the new warehouse in only when everything
succeeded, so a failed build leaves the previous warehouse in place.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from workbench.config import Settings
from workbench.simulation import facts
from workbench.simulation.baskets import Checkout, Lines
from workbench.simulation.calendar import build_calendar
from workbench.simulation.catalog import BASIC_LAUNCH, build_catalog
from workbench.simulation.chain import BRANDS, build_chain
from workbench.simulation.demand import DemandModel, build_groups, calibrate, size_shares
from workbench.simulation.irregularities import KINDS, Planter
from workbench.simulation.members import build_members, member_tables
from workbench.simulation.monthly import consignment_settlements, sales_plans, store_costs, window_months
from workbench.simulation.operations import Merchandising
from workbench.simulation.pricing import CHANNELS, REASONS, PriceBook, group_prices
from workbench.simulation.promotions import OUTLET, PromoCalendar, build_promotions
from workbench.simulation.ranging import BASIC, build_range_plan
from workbench.simulation.scales import Scale, get_scale
from workbench.simulation.seeding import rng
from workbench.simulation.stock import Stock
from workbench.simulation.tables import BackgroundSink, TableWriter, dates, labels, money, nullable
from workbench.warehouse.engines import open_sink
from workbench.warehouse.schema import TABLES

GENERATOR_VERSION = "3"  # bump whenever the same scale and seed would give different tables
BULK_LOAD_MEMORY = "3GB"


@dataclass
class BuildReport:
    """What a build produced: rows per table, where, how long."""

    scale: str
    seed: int
    engine: str
    path: Path
    seconds: float
    days: int
    rows: dict[str, int] = field(default_factory=dict)

    def format(self) -> str:
        width = max(len(t) for t in self.rows)
        lines = [f"{'table':<{width}}  {'rows':>13}"]
        lines += [f"{t:<{width}}  {n:>13,}" for t, n in self.rows.items()]
        lines.append(f"{'total':<{width}}  {sum(self.rows.values()):>13,}")
        lines.append(f"scale {self.scale}, seed {self.seed}, {self.days} days written, engine {self.engine}")
        lines.append(f"warehouse: {self.path}")
        lines.append(f"built in {self.seconds:.1f} s")
        return "\n".join(lines)


def build_warehouse(settings: Settings, scale: str | Scale = "demo", seed: int = 42, *, progress: bool = True,
                    user: str = "u_admin") -> BuildReport:
    """Generate the chain at ``scale`` (a name in ``scales.SCALES``, or a ``Scale``) with ``seed`` into the
    configured warehouse, replacing it atomically.

    ``user`` must be granted writes on every table (admin): the build is
    authorised and audited by the policy file like any other write.
    """
    from workbench.governance.bulk import bulk_load
    from workbench.governance.session import new_run_id

    chosen = scale if isinstance(scale, Scale) else get_scale(scale)
    what = f"simulated chain, scale {chosen.name}, seed {seed}, into {settings.warehouse}"
    with bulk_load(settings, user, list(TABLES), run_id=new_run_id(), what=what) as rows:
        report = _build(settings, chosen, seed, progress)
        rows.update(report.rows)
    return report


def _build(settings: Settings, chosen: Scale, seed: int, progress: bool) -> BuildReport:
    started = time.perf_counter()
    sink = open_sink(_bulk_load_settings(settings))
    writer_thread = BackgroundSink(sink)
    writer = TableWriter(writer_thread, chosen.flush_rows)
    try:
        writer.create_all()
        sim = Simulation(chosen, seed, writer, progress=progress)
        sim.run()
        writer.flush()
        writer_thread.close()
        path = sink.finish()
    except BaseException:
        try:
            writer_thread.close()
        except BaseException:
            pass
        sink.abort()
        raise
    return BuildReport(scale=chosen.name, seed=seed, engine=settings.engine, path=Path(path),
                       seconds=time.perf_counter() - started, days=sim.cal.n_days - sim.first, rows=dict(writer.rows))


def _bulk_load_settings(settings: Settings) -> Settings:
    """Cap DuckDB's buffer pool while loading: the simulation's own arrays need the rest of the memory
    (the large scale stays under 8 GiB peak RSS on a 24 GiB machine)."""
    if settings.engine != "duckdb":
        return settings
    limit = settings.engine_options.get("memory_limit", BULK_LOAD_MEMORY)
    if _gigabytes(limit) > _gigabytes(BULK_LOAD_MEMORY):
        limit = BULK_LOAD_MEMORY
    return settings.with_(engine_options={**settings.engine_options, "memory_limit": limit})


def _gigabytes(text: str) -> float:
    units = {"KB": 1e-6, "MB": 1e-3, "GB": 1.0, "TB": 1e3, "KIB": 2**-20, "MIB": 2**-10, "GIB": 1.0}
    text = str(text).strip().upper().replace(" ", "")
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text) / 1e9  # plain bytes


class Simulation:
    """Sets the chain up, then runs the day loop, writing through ``writer``."""

    def __init__(self, scale: Scale, seed: int, writer: TableWriter, *, progress: bool = True):
        from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals

        self.scale, self.seed, self.writer, self.progress = scale, seed, writer, progress
        with tqdm(total=6, desc=f"preparing {scale.name}", unit="step", disable=not progress, leave=False) as bar:
            self._set_up_chain(bar)
        self.keys = facts.Keys(self.chain.store_id, self.members.member_id, self.catalog.sku_skc(),
                               self.catalog.products["unit_cost"].to_numpy(float), self.plan.slot_loc, self.plan.slot_sku,
                               self.cal.epoch_day)
        self.ids = {"transfer": 1, "b_goods": 1, "entry": 1, "count": 1}
        self.month_net = np.zeros((len(window_months(self.cal)), self.chain.n))
        self._active_cache: tuple[int, tuple] = (-1, ())
        self.g_outlet = self.groups.channel == OUTLET
        self.observer = None  # fn(day, slots, expected, shock, on_shelf) each day: the forecast oracle listens

    def _set_up_chain(self, bar) -> None:
        """Calendar, stores and range; calibration; members; prices and promotions; buying; shop floor."""
        scale, seed = self.scale, self.seed

        def step(label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update(1)

        self.cal = cal = build_calendar(scale.sim_start, scale.start, scale.end, seed)
        self.first = cal.first_window_day
        self.chain = chain = build_chain(scale, seed, scale.sim_start, scale.start, scale.end)
        self.catalog = catalog = build_catalog(scale, seed, cal)
        self.open_day = np.array([cal.index(d) for d in chain.stores["open_date"]])
        self.plan = plan = build_range_plan(chain, catalog, self.open_day, cal.n_days - 1, seed)
        step("stores, products and range plan")
        self.groups = g = build_groups(catalog)
        self.model = DemandModel(cal, catalog, g)
        self.calib = calibrate(cal, chain, catalog, plan, self.model, self.open_day, scale.units_per_store_day,
                               scale.online_share, BRANDS)
        self.model.base = self.model.base * self.calib.k
        self.static = chain.effect[plan.slot_loc] * size_shares(plan, catalog, chain.size_shift)
        step("demand calibrated")
        self.members = build_members(cal, chain, self.calib.units_per_day / chain.attach, seed)
        step(f"{self.members.n:,} members")
        self.promos = build_promotions(cal)
        self.promo_calendar = PromoCalendar(self.promos, g.channel, g.brand, g.category, g.limited)
        self.prices = PriceBook(catalog.skc["full_price"].to_numpy())
        self.prices.record_launch(np.arange(catalog.n_skc), catalog.skc["launch_day"].to_numpy())
        step("prices and promotions")
        self.stock = Stock(plan.slot_loc, plan.slot_sku, seed)
        self.merch = Merchandising(cal, chain, catalog, plan, self.calib, self.stock, self.prices, seed)
        self.merch.place_season_orders(self.calib)
        step("season buys ordered")
        self.checkout = Checkout(cal, chain, catalog, plan, self.members, seed)
        self.planter = Planter(cal, chain, plan, catalog.products, self.members, self.promos, scale, seed)
        step("shop floor ready")

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        self._write_dimensions()
        from tqdm.auto import tqdm  # a widget in notebooks, a text bar in terminals

        bar = tqdm(total=self.cal.n_days, unit="day", desc=f"simulating {self.scale.name}", disable=not self.progress,
                   dynamic_ncols=True, smoothing=0.05, mininterval=0.5)
        with bar:
            for day in range(self.cal.n_days):
                self.step(day)
                bar.update(1)
                if day % 7 == 0:
                    bar.set_postfix_str(f"{self.cal.date(day)} sales lines {self.writer.rows['core.sales']:,}", refresh=False)
        self.merch.stockouts.close(np.flatnonzero(self.merch.stockouts.since >= 0), -1, still_open=True)
        self._drain_logs()
        self._write_closing_tables()

    def _active(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Ranged slots with their location, demand group and static demand weight (cached)."""
        merch = self.merch
        if self._active_cache[0] != merch.version:
            slots = merch.active()
            self._active_cache = (merch.version, (slots, self.plan.slot_loc[slots], self.plan.slot_group[slots], self.static[slots]))
        return self._active_cache[1]

    def step(self, day: int) -> None:
        merch, stock, cal = self.merch, self.stock, self.cal
        in_window = day >= self.first
        merch.morning(day)
        slots, loc, group, static = self._active()
        tidx, visitors = self._traffic(day)
        offer = self.promo_calendar.offers_on(day)
        unit_price, promo, ratio = group_prices(self.prices, self.groups.skc, self.g_outlet, offer.pct, offer.cap, offer.promo_id)
        shock = rng(self.seed, "demand-shock", day).gamma(20.0, 1.0 / 20.0, self.catalog.n_skc)
        factor = self.model.factor(day, ratio) * shock[self.groups.skc]
        expected = factor[group] * static * tidx[loc]
        wanted = rng(self.seed, "demand", day).poisson(expected)
        on_shelf = stock.a[slots]
        if self.observer is not None:
            self.observer(day, slots, expected, shock[self.groups.skc[group]], on_shelf)
        merch.stockouts.update(day, slots, on_shelf == 0)
        sold = np.minimum(wanted, on_shelf)
        stock.a[slots] = on_shelf - sold
        hit = sold > 0
        merch.record_sales(slots[hit], sold[hit])
        if in_window:
            self._trade(day, slots, expected, wanted, sold, tidx, visitors, unit_price, promo)
        merch.evening(day)
        if cal.is_snapshot(day) and day >= self.first - 1:
            self.writer.add("core.inventory", facts.inventory(day, stock.snapshot(merch.ranged, merch.is_dc_slot), self.keys))
        if in_window and cal.is_month_end(day):
            self._stock_counts(day)
        self._drain_logs()

    def _traffic(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Footfall index per location (0 when closed or not yet open) and visitors counted."""
        chain, cal = self.chain, self.cal
        g = rng(self.seed, "traffic", day)
        online = chain.type == "online"
        profile = np.where(online, cal.online_traffic[day], cal.store_traffic[day])
        is_open = (day > self.open_day) & (chain.type != "dc")
        closed = (~online) & (g.random(chain.n) < cal.closed_share[day])
        tidx = profile * is_open * ~closed * g.lognormal(0.0, 0.1, chain.n)
        return tidx, np.round(self.calib.visitors * tidx).astype(np.int64)

    def _trade(self, day, slots, expected, wanted, sold, tidx, visitors, unit_price, promo) -> None:
        """The shop floor: tickets, returns, planted cases, money and points, and the truth rows."""
        co, planter, stock, merch = self.checkout, self.planter, self.stock, self.merch
        co.start_day(day)
        planter.start_day(day)
        hit = sold > 0
        lines = co.sell(day, slots[hit], sold[hit], unit_price, promo)
        planter.discounts(day, lines)
        scalped = planter.scalping(day, co, stock, slots, unit_price)
        if len(scalped):
            at = np.searchsorted(slots, scalped.slot)
            np.add.at(wanted, at, scalped.qty)
            np.add.at(sold, at, scalped.qty)
            merch.record_sales(scalped.slot, scalped.qty)
        swap = lambda d, items, new: planter.swap_exchanges(d, items, new, stock, merch.ranged)
        returned = co.returns_due(day, stock, merch.ranged, swap=swap)
        planter.record_exchanges(day, returned)
        fake = planter.fake_returns(day, co, stock, merch.ranged, unit_price)
        sales = Lines.concat([lines, scalped])
        co.schedule_returns(day, sales)
        every = Lines.concat([sales, returned, fake])
        settled = co.settle(day, every)
        settled = planter.unpaid(day, settled)
        settled = planter.points_abuse(day, settled, every, co.balance)
        today, start = self.cal.date(day), self.cal.window_start
        month = (today.year - start.year) * 12 + today.month - start.month
        self.month_net[month] += np.bincount(every.loc, weights=every.net(), minlength=self.chain.n)
        w = self.writer
        w.add("core.sales", facts.sales(day, every, self.keys))
        w.add("core.payments", facts.payments(day, settled, self.keys))
        w.add("core.points_ledger", facts.points(day, settled, self.keys, self.ids["entry"]))
        self.ids["entry"] += len(settled.pt_ticket)
        shown = np.flatnonzero((day > self.open_day) & (self.chain.type != "dc"))
        w.add("core.traffic", facts.traffic(day, shown, visitors[shown], self.keys))
        w.add("truth.demand", facts.demand(day, slots, expected, wanted, sold, self.keys))

    def _stock_counts(self, day: int) -> None:
        """Month-end stocktakes at the consignment counters (RFID at some, manual at others)."""
        stock, merch = self.stock, self.merch
        counter = self.chain.type[self.plan.slot_loc] == "consignment"
        slots = np.flatnonzero(counter & (merch.ranged | (stock.a + stock.b > 0)))
        system = stock.a[slots] + stock.b[slots]
        counted = self.planter.shortfalls(day, slots, system, self.catalog.products["full_price"].to_numpy())
        method = (self.chain.store_id[self.plan.slot_loc[slots]] % 2 == 0).astype(np.int8)
        self.writer.add("core.stock_counts", facts.stock_counts(day, slots, system, counted, method, self.ids["count"], self.keys))
        self.ids["count"] += len(slots)

    def _drain_logs(self) -> None:
        """Movements, B-goods and closed stock-out spells, as far as they touch the window."""
        first, last = self.first, self.cal.n_days - 1
        moves = self.stock.moves.drain()
        keep = (moves["ship_day"] >= first) | (moves["receive_day"] >= first)
        moves = {k: v[keep] for k, v in moves.items()}
        if len(moves["qty"]):
            self.writer.add("core.transfers", facts.transfers(moves, self.ids["transfer"], last, self.keys))
            self.ids["transfer"] += len(moves["qty"])
        bad = self.stock.b_goods.drain()
        keep = bad["day"] >= first
        bad = {k: v[keep] for k, v in bad.items()}
        if len(bad["qty"]):
            self.writer.add("core.b_goods", facts.b_goods(bad, self.ids["b_goods"], self.keys))
            self.ids["b_goods"] += len(bad["qty"])
        spells = self.merch.stockouts.log.drain()
        keep = (spells["end_day"] >= first) | (spells["end_day"] < 0)
        spells = {k: v[keep] for k, v in spells.items()}
        if len(spells["slot"]):
            self.writer.add("core.out_of_stock", facts.out_of_stock(spells, first, self.keys))

    # --- dimensions and closing tables ---------------------------------------------------------

    def _write_dimensions(self) -> None:
        w, chain, catalog = self.writer, self.chain, self.catalog
        stores = chain.stores
        w.add("core.stores", {c: (pa.array(stores[c].tolist()) if stores[c].dtype == object else stores[c].to_numpy()) for c in stores.columns})
        w.add("core.suppliers", {c: catalog.suppliers[c].to_numpy() for c in catalog.suppliers.columns})
        products = catalog.products
        w.add("core.products", {c: (pa.array(products[c].tolist()) if products[c].dtype == object else products[c].to_numpy()) for c in products.columns})
        promos = self.promos.drop(columns=["start_day", "end_day"])
        w.add("core.promotions", {c: (pa.array(promos[c].tolist()) if promos[c].dtype == object else promos[c].to_numpy()) for c in promos.columns})
        core, truth = member_tables(self.members, self.cal, chain, self.seed)
        w.add("core.members", {c: core[c] for c in core.column_names})
        w.add("truth.members", {c: truth[c] for c in truth.column_names})
        skc = catalog.skc
        w.add("truth.products", {
            "skc_id": skc["skc_id"].to_numpy(np.int32), "base_rate": np.round(self.model.base, 5),
            "hotness": pa.array(skc["hotness"].tolist()), "elasticity": skc["elasticity"].to_numpy(),
            "peak_week": skc["peak_week"].to_numpy(), "decay": skc["decay"].to_numpy(),
        })
        looks = self.checkout.looks.table
        w.add("truth.looks", {c: looks[c].to_numpy() for c in looks.columns})
        dc = chain.type == "dc"
        w.add("truth.stores", {
            "store_id": chain.store_id, "store_effect": nullable(np.round(chain.effect, 5), dc),
            "size_shift": nullable(np.round(chain.size_shift, 4), dc), "conversion": nullable(np.round(chain.conversion, 5), dc),
            "attach": nullable(np.round(chain.attach, 4), dc),
        })

    def _write_closing_tables(self) -> None:
        w, cal, chain = self.writer, self.cal, self.chain
        self._write_assortment()
        self._write_price_changes()
        po = self.merch.purchase_orders()
        w.add("core.purchase_orders", {
            "po_id": po["po_id"], "sku_id": (po["sku"] + 1).astype(np.int32), "supplier_id": po["supplier"].astype(np.int32),
            "order_date": dates(po["order_day"], cal.epoch_day), "due_date": dates(po["due_day"], cal.epoch_day),
            "qty_ordered": po["qty"].astype(np.int32), "unit_cost": po["unit_cost"],
        })
        cases = self.planter.table(chain, self.members, cal.epoch_day)
        n = len(cases["kind"])
        w.add("truth.irregularities", {
            "case_id": np.arange(1, n + 1, dtype=np.int64), "kind": labels(cases["kind"], KINDS),
            "event_date": dates(cases["day"], cal.epoch_day), "store_id": cases["store_id"].astype(np.int32),
            "ticket_id": nullable(cases["ticket"], cases["ticket"] < 0), "member_id": nullable(cases["member_id"], cases["member_id"] < 0),
            "sku_id": nullable(cases["sku_id"].astype(np.int32), cases["sku_id"] < 0), "amount": money(cases["amount"]),
            "detail": pa.array(cases["detail"].tolist(), type=pa.string()),
        })
        w.add("core.store_costs", store_costs(cal, chain, self.month_net, self.seed))
        w.add("core.sales_plan", sales_plans(cal, chain, self.calib, BRANDS, self.seed))
        w.add("core.consignment_settlements", consignment_settlements(cal, chain, self.month_net))
        w.add("truth.run", self._run_parameters())

    def _write_assortment(self) -> None:
        merch, plan, cal = self.merch, self.plan, self.cal
        rec = np.flatnonzero((merch.rec_started >= 0) & ((merch.rec_ended < 0) | (merch.rec_ended >= self.first)))
        start = np.array([cal.date(d) for d in merch.rec_started[rec]], dtype="datetime64[D]")
        basic = plan.rec_kind[rec] == BASIC
        opened = (np.array(self.chain.stores["open_date"].tolist(), dtype="datetime64[D]") + np.timedelta64(1, "D"))[plan.rec_loc[rec]]
        start = np.where(basic, np.maximum(np.datetime64(BASIC_LAUNCH, "D"), opened), start)
        ended = merch.rec_ended[rec]
        self.writer.add("core.assortment", {
            "store_id": self.chain.store_id[plan.rec_loc[rec]], "skc_id": (plan.rec_skc[rec] + 1).astype(np.int32),
            "start_date": start, "end_date": dates(np.maximum(ended, 0), cal.epoch_day, null=ended < 0),
        })

    def _write_price_changes(self) -> None:
        changes = self.prices.changes()
        skc = self.catalog.skc
        day = changes["day"].to_numpy()
        launch = changes["reason"].to_numpy() == 0
        effective = np.array([self.cal.date(d) for d in day], dtype="datetime64[D]")
        launch_dates = np.array(skc["launch_date"].tolist(), dtype="datetime64[D]")[changes["skc"].to_numpy()]
        effective = np.where(launch, launch_dates, effective)
        self.writer.add("core.price_changes", {
            "skc_id": (changes["skc"].to_numpy() + 1).astype(np.int32), "effective_date": effective,
            "channel": labels(changes["channel"].to_numpy(), CHANNELS), "price": money(changes["price"].to_numpy()),
            "reason": labels(changes["reason"].to_numpy(), REASONS),
        })

    def _run_parameters(self) -> dict:
        s = self.scale
        params = {
            "scale": s.name, "seed": self.seed, "generator_version": GENERATOR_VERSION,
            "window_start": str(s.start), "window_end": str(s.end), "simulation_start": str(s.sim_start),
            "demand_scale_k": round(self.calib.k, 6), "units_per_store_day": s.units_per_store_day,
            "online_share": s.online_share, "store_ids": "S001.. = 1.., ONLINE01 = 1000, DC01 = 0",
            "return_rates": {code: round(float(r), 4) for code, r in zip(self.chain.stores["store_code"], self.chain.return_rate)},
            "irregularity_kinds": list(KINDS),
        }
        return {"key": list(params), "value": [json.dumps(v) for v in params.values()]}
