"""``wb bench allocation``: replay 8 weeks of the chain under each policy, against true demand.

Reads the replay's inputs once through governed sessions (``u_pipeline`` for
the business tables, ``u_oracle`` for ``truth.demand``), makes the weekly
forecasts our policy plans from, replays every policy on the same days and
reports the shared JSON format of DESIGN.md (bench ``allocation``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import pandas as pd
from tqdm import tqdm

from workbench.allocation.inputs import planning_stores, query, sales_rate_forecast, ticket_prices
from workbench.allocation.planning import PlanningSettings, load_planning_settings
from workbench.allocation.policies import POLICIES, Workbench, rule_policies
from workbench.allocation.replay import Replay, ReplayData
from workbench.allocation.routes import load_route_book, route_table
from workbench.bench.report import BenchReport

__all__ = ["load_replay_data", "weekly_forecasts", "run_benchmark", "summarise", "EXOGENOUS"]

# Flows no policy decides: replayed from history, clamped to the stock there is.
EXOGENOUS = ("supplier_receipt", "initial_allocation", "outlet_allocation", "recall", "supplier_return")
SALES_BEFORE_DAYS = 28


def default_start(session, days: int) -> dt.date:
    """The latest day after a weekly stock snapshot that leaves ``days`` of data to replay."""
    last = session.sql("select max(sale_date) as d from core.sales").to_pandas()["d"].iloc[0]
    snaps = session.sql("select distinct snapshot_date as d from core.inventory").to_pandas()["d"]
    fits = sorted(d for d in pd.to_datetime(snaps).dt.date if d + dt.timedelta(days=days) <= pd.Timestamp(last).date())
    if not fits:
        raise ValueError(f"the warehouse holds less than {days} days after its first stock snapshot: replay fewer days")
    return fits[-1] + dt.timedelta(days=1)


def load_replay_data(session, oracle, start: dt.date, days: int) -> ReplayData:
    """The replay's inputs: stock the evening before ``start``, flows, true demand, prices, recent sales."""
    end = start + dt.timedelta(days=days - 1)
    s, e, b = f"date '{start}'", f"date '{end}'", f"date '{start - dt.timedelta(days=SALES_BEFORE_DAYS)}'"
    stores = planning_stores(session)
    products = query(session, "select sku_id, skc_id, is_core_size, unit_cost from core.products")
    opening = query(session, f"select store_id as location_id, sku_id, cast(sum(on_hand) as bigint) as on_hand from core.inventory "
                              f"where snapshot_date = {s} - 1 and quality = 'A' group by all")
    if opening.empty:
        raise ValueError(f"no stock snapshot on {start - dt.timedelta(days=1)}: start the replay the day after a "
                         "core.inventory snapshot (weekly)")
    exogenous = ", ".join(f"'{t}'" for t in EXOGENOUS)
    flows = query(session, f"""
        select ship_date, receive_date, from_store_id as origin, to_store_id as dest, sku_id, qty as units
        from core.transfers
        where (ship_date < {s} and receive_date >= {s})
           or (movement_type in ({exogenous}) and coalesce(ship_date, receive_date) between {s} and {e})""")
    for column in ("ship_date", "receive_date"):
        flows[column] = pd.to_datetime(flows[column]).dt.date
    demand = query(oracle, f"select sale_date, store_id, sku_id, demand from truth.demand "
                            f"where sale_date between {s} and {e} and demand > 0")
    sales_before = query(session, f"select sale_date, store_id, sku_id, cast(sum(qty) as bigint) as units from core.sales "
                                   f"where line_type = 'sale' and sale_date >= {b} and sale_date < {s} group by all")
    shops = stores.loc[stores["store_type"] != "dc", "store_id"]
    demand, sales_before = (frame[frame["store_id"].isin(shops)].reset_index(drop=True) for frame in (demand, sales_before))
    for frame in (demand, sales_before):
        frame["sale_date"] = pd.to_datetime(frame["sale_date"]).dt.date
    return ReplayData(start, days, stores, products, opening, flows, demand, ticket_prices(session, products, start, end),
                      sales_before, route_table(stores, load_route_book()))


def weekly_forecasts(session, start: dt.date, days: int, source: str = "champion", progress=print) -> dict:
    """Forecasts made the evening before each replayed week: ``{as_of: marts.forecast-like rows}``.

    ``champion`` fits our demand model once on the data up to the eve of the
    replay and forecasts weekly from then on; ``moving_average`` is the last
    28 days' sales rate (fast; for tests and quick looks).
    """
    origins = [start - dt.timedelta(days=1) + dt.timedelta(weeks=w) for w in range((days + 6) // 7)]
    if source == "moving_average":
        return {as_of: sales_rate_forecast(session, as_of) for as_of in origins}
    if source != "champion":
        raise ValueError(f"unknown forecast source {source!r}: use champion or moving_average")
    from workbench.forecasting import forecast

    progress(f"fitting the demand model on data up to {origins[0]} ...")
    fitted = forecast.fit_at(session, origins[0])
    out = {}
    for as_of in origins:
        progress(f"forecasting from {as_of} ...")
        out[as_of] = forecast.forecast_at(session, fitted, as_of)[["sku_id", "store_id", "date", "mean", "nb_size"]]
    return out


def run_benchmark(session, oracle, *, days: int = 56, start: dt.date | None = None, methods=POLICIES,
                  forecast_source: str = "champion", settings: PlanningSettings | None = None,
                  scale: str | None = None, seed: int | None = None, progress=print) -> tuple[BenchReport, dict]:
    """Replay each method over the same ``days``; returns the report and each method's outcome."""
    unknown = sorted(set(methods) - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(POLICIES)}")
    start = start or default_start(session, days)
    progress(f"loading {days} days from {start} ...")
    data = load_replay_data(session, oracle, start, days)
    replay = Replay(data)
    policies = [p for p in rule_policies(data.stores, data.products) if p.name in methods]
    if "workbench" in methods:
        forecasts = weekly_forecasts(session, start, days, forecast_source, progress)
        policies.append(Workbench(data.stores, forecasts, settings or load_planning_settings()))
    outcomes = {}
    for policy in policies:
        started = time.perf_counter()
        # a bar with counts and ETA on a terminal (tqdm turns itself off when stderr is not one)
        with tqdm(total=days, desc=policy.name, unit="day", file=sys.stderr, disable=None, leave=False) as bar:
            outcomes[policy.name] = replay.run(policy, progress=lambda done, total: bar.update(1))
        progress(f"{policy.name}: {days} days replayed in {time.perf_counter() - started:.0f} s")
    report = BenchReport("allocation", scale, seed)
    report.machine.update({"start": str(start), "days": days, "forecast": forecast_source})
    for name, outcome in outcomes.items():
        for metric, value in summarise(outcome, data).items():
            report.add(name, metric, value)
    return report, outcomes


def summarise(outcome, data: ReplayData) -> dict[str, float]:
    """The benchmark's metrics for one method (names as in the issue and DESIGN.md).

    ``sell_through``: units sold / (shops' opening stock + units the policy sent them), so pushing stock
    into stores that do not sell it lowers it. ``size_break_days``: store × style-colour × day on display
    with a core size missing. ``gap``: the worst day's; ``gap_median``: a typical day's.
    """
    daily, moves = outcome.daily, outcome.moves
    logistics = float(moves["cost"].sum()) if len(moves) else 0.0
    received = moves.loc[moves["dest"].isin(data.stores.loc[data.stores["store_type"] != "dc", "store_id"]), "units"].sum()
    opening = data.opening.merge(data.stores, left_on="location_id", right_on="store_id")
    opening_shops = opening.loc[opening["store_type"] != "dc", "on_hand"].clip(lower=0).sum()
    solves = pd.DataFrame(outcome.solves)
    out = {
        "net_margin": float(daily["gross_margin"].sum()) - logistics,
        "sales_value": float(daily["sales_value"].sum()),
        "units_sold": float(daily["units_sold"].sum()),
        "lost_sales_units": float(daily["lost_sales_units"].sum()),
        "sell_through": float(daily["units_sold"].sum() / max(opening_shops + received, 1)),
        "size_break_days": float(daily["size_breaks"].sum()),
        "units_moved": float(moves["units"].sum()) if len(moves) else 0.0,
        "shipments": float(len(moves.drop_duplicates(["ship_date", "origin", "dest"]))) if len(moves) else 0.0,
        "logistics_cost": logistics,
    }
    if len(solves):
        out.update({"solve_s_median": float(solves["wall_s"].median()), "solve_s_max": float(solves["wall_s"].max()),
                    "gap": float(solves["gap"].max()), "gap_median": float(solves["gap"].median())})
    return out


def comparison(report: BenchReport) -> pd.DataFrame:
    """Methods × metrics, with each method's net margin against the best rule baseline."""
    table = pd.DataFrame(report.results).pivot_table(index="method", columns="metric", values="value", aggfunc="first")
    rules = [m for m in ("no_transfer", "weekly_rule", "proportional") if m in table.index]
    if rules:
        best = table.loc[rules, "net_margin"].max()
        table["vs_best_rule_%"] = 100 * (table["net_margin"] / best - 1)
    return table.reindex([m for m in POLICIES if m in table.index])
