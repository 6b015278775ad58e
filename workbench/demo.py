"""The main job on the embedded default: ``wb demo`` (what ``make demo`` runs).

It builds the simulated chain if the warehouse is missing or was built from
another scale or seed, prints a short summary of the chain read through the
governed door as the head-office user, with the KPIs from the metrics layer,
then runs the ``daily`` pipeline (forecast with the champion, then the
allocation plan) for the last day of data, as the scheduler would each night,
and, when that day ends a month, the ``monthly`` one (the consignment
write-down, then the month's finance report as HTML and PDF).
The forecast needs a champion: the first time, the model is trained on the
data up to that day and sent through the review gate, which with nothing to
beat scores it on one backtest window. Later capabilities (apps) join this job.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import click

from workbench.config import Settings, load_settings

SUMMARY_USER = "u_hq"
HEADLINE = ["net_sales", "units", "tickets", "average_ticket", "units_per_ticket", "conversion",
            "markdown_rate", "return_rate", "margin_rate", "sell_through", "weeks_of_cover", "size_break_rate"]
BY_REGION = ["net_sales", "conversion", "average_ticket", "units_per_ticket", "sell_through", "weeks_of_cover"]


@dataclass(frozen=True)
class ChainSummary:
    """What a newcomer wants to know about the chain in the warehouse."""

    window: tuple[str, str]
    locations: list[dict]        # store_type, region, locations
    range_counts: dict[str, int]  # brands, categories, styles, skcs, skus
    members: int
    headline: dict[str, float]   # metric -> value over the window
    by_region: list[dict]        # region, metric values


def built_with(settings: Settings) -> dict[str, object] | None:
    """How the current warehouse was generated (``truth.run``), or None if there is none."""
    import workbench as wb
    from workbench.warehouse.engines import WarehouseMissing

    try:
        with wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli") as s:
            rows = s.table("truth.run").to_pyarrow().to_pylist()
    except WarehouseMissing:
        return None
    return {r["key"]: json.loads(r["value"]) for r in rows}


def chain_summary(session) -> ChainSummary:
    """Summarise the chain as ``session``'s user sees it (row policies apply)."""
    from workbench.metrics import compute

    sales = session.table("sales")
    first, last = sales.aggregate(first=sales.sale_date.min(), last=sales.sale_date.max()).to_pyarrow().to_pylist()[0].values()
    stores = session.table("stores")
    locations = stores.group_by(["store_type", "region"]).aggregate(locations=stores.count()).order_by(["store_type", "region"])
    products = session.table("products")
    range_counts = products.aggregate(
        brands=products.brand.nunique(), categories=products.category.nunique(), styles=products.style_id.nunique(),
        skcs=products.skc_id.nunique(), skus=products.sku_id.nunique(),
    ).to_pyarrow().to_pylist()[0]
    headline = compute(session, HEADLINE).to_pyarrow().to_pylist()[0]
    by_region = compute(session, BY_REGION, by=["region"], where={"channel": "store"}).to_pyarrow().to_pylist()
    return ChainSummary(
        window=(str(first), str(last)),
        locations=locations.to_pyarrow().to_pylist(),
        range_counts=range_counts,
        members=session.table("members").count().to_pyarrow().as_py(),
        headline=headline,
        by_region=by_region,
    )


def _fmt(metric: str, value, *, compact: bool = False) -> str:
    if value is None:
        return "–"
    if compact and metric == "net_sales":
        return f"{value / 1e6:,.1f} M"
    if metric in ("conversion", "markdown_rate", "return_rate", "margin_rate", "sell_through", "size_break_rate"):
        return f"{value:.1%}"
    if metric in ("units", "tickets"):
        return f"{value:,.0f}"
    if metric in ("units_per_ticket", "weeks_of_cover"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def print_summary(summary: ChainSummary, settings: Settings) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]The chain[/bold] in {settings.warehouse} ({settings.engine}), {summary.window[0]} .. {summary.window[1]}")
    counts = summary.range_counts
    console.print(f"Range: {counts['brands']} brands, {counts['categories']} categories, {counts['styles']:,} styles, "
                  f"{counts['skcs']:,} style-colours (SKC), {counts['skus']:,} SKUs; {summary.members:,} members")

    kinds: dict[str, int] = {}
    for row in summary.locations:
        kinds[row["store_type"]] = kinds.get(row["store_type"], 0) + row["locations"]
    console.print("Locations: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])))

    from workbench.metrics import METRICS

    headline = Table(title="Headline KPIs over the window (metrics layer, as u_hq)")
    headline.add_column("KPI")
    headline.add_column("value", justify="right")
    for metric in HEADLINE:
        headline.add_row(f"{METRICS[metric].label_en} {METRICS[metric].label_zh}", _fmt(metric, summary.headline[metric]))
    console.print(headline)

    regions = Table(title="Stores by region (net sales in million CNY)")
    regions.add_column("region")
    for metric in BY_REGION:
        regions.add_column(metric.replace("_", " "), justify="right")
    for row in summary.by_region:
        regions.add_row(row["region"] or "–", *(_fmt(m, row[m], compact=True) for m in BY_REGION))
    console.print(regions)


def _show_summary(settings: Settings) -> ChainSummary:
    import workbench as wb
    from workbench.cli_output import Refused
    from workbench.warehouse.engines import WarehouseMissing

    try:
        with wb.session(SUMMARY_USER, settings=settings, read_only=True, entry_point="cli") as s:
            found = chain_summary(s)
    except WarehouseMissing as err:
        raise Refused(f"{err}; `wb demo` builds the default one") from None
    print_summary(found, settings)
    return found


def ensure_champion(settings: Settings, as_of: dt.date) -> None:
    """A forecast champion to score with: the registered one, or a first one trained at ``as_of`` and reviewed."""
    import functools

    import workbench as wb
    from workbench.forecasting import review, runs
    from workbench.forecasting.registry import model_name
    from workbench.tracking.registry import ModelAliasMissing, version_by_alias
    from workbench.tracking.review import review as gate

    name = model_name()
    try:
        click.echo(f"Forecast: {name} version {version_by_alias(name, settings=settings).version} is the champion.")
        return
    except ModelAliasMissing:
        pass
    click.echo(f"Forecast: no champion of {name} yet; training one on data up to {as_of}, then the review gate "
               "(once; about 6 min on demo) ...")
    with wb.session(runs.PIPELINE_USER, settings=settings, read_only=True, entry_point="cli") as s:
        runs.train(s, as_of, settings=settings, progress=lambda step: click.echo(f"  {step}"))
    # Nothing to beat yet: one review window (not the configured two) shows that it forecasts at all,
    # at half the cost (a refit per window: about 2.5 min on demo).
    config = review.ReviewConfig(windows=1, user=review.review_config().user)
    decision = gate(name, functools.partial(review.evaluate, settings=settings, config=config), settings=settings)
    click.echo(decision.summary())
    if not decision.promoted:
        from workbench.cli_output import Refused

        raise Refused(f"the first {name} was not promoted; see `wb models show {name}`")


@click.pass_context
def _run_pipelines(ctx: click.Context, settings: Settings, as_of: dt.date) -> None:
    """``wb run daily --as-of`` the last day of data, with an MLflow server for the block (started if none runs);
    then ``wb run monthly`` when that day ends a month."""
    from workbench.pipelines.run_commands import run
    from workbench.tracking.server import running_server

    with running_server(settings) as uri:
        click.echo(f"MLflow: {uri} (`wb mlflow serve` keeps one running after the job)")
        ensure_champion(settings, as_of)
        click.echo(f"Running the daily pipeline for {as_of} (wb run daily --as-of {as_of}) ...")
        ctx.invoke(run, name="daily", as_of=str(as_of), params=(), user=None, scope=None)
    if (as_of + dt.timedelta(days=1)).day == 1:  # the month is complete: close it as the first of the month would
        click.echo(f"Running the monthly pipeline for {as_of} (wb run monthly --as-of {as_of}): the consignment "
                   "write-down, then the month's finance report as HTML and PDF ...")
        ctx.invoke(run, name="monthly", as_of=str(as_of), params=(), user=None, scope=None)


@click.command("summary")
@click.option("--engine", type=click.Choice(["duckdb", "pyspark"]), default=None, help="Engine profile (default: configured).")
def summary(engine: str | None) -> None:
    """Print a short summary of the chain in the warehouse, read as the head-office user.

    \b
    Example:
      wb summary
    """
    _show_summary(load_settings(**({"engine": engine} if engine else {})))


@click.command("demo")
@click.option("--scale", type=click.Choice(["tiny", "demo", "large"]), default="demo", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--rebuild", is_flag=True, help="Regenerate the warehouse even if it matches scale and seed.")
@click.option("--no-daily", is_flag=True, help="Build and summarise only; skip the pipelines.")
def demo(scale: str, seed: int, rebuild: bool, no_daily: bool) -> None:
    """Set up the embedded default and run the main job: a chain summary, then the daily pipeline.

    Builds the simulated chain into the configured warehouse unless it is
    already there with the same scale, seed and generator version, prints a
    summary, then runs the daily pipeline (forecast, allocation plan) for the
    last day of data; the first time it trains and reviews a forecast
    champion first (MLflow: the running server, or one started for the job).
    When that day ends a month it also runs the monthly pipeline (write-down,
    finance report archived as HTML and PDF).

    \b
    Example:
      wb demo                 # the default: demo scale, seed 42
      wb demo --scale tiny    # a quick look
      wb demo --no-daily      # the chain and its summary only
    """
    from workbench.simulation.build import GENERATOR_VERSION, build_warehouse

    settings = load_settings()
    current = built_with(settings)
    wanted = {"scale": scale, "seed": seed, "generator_version": GENERATOR_VERSION}
    if rebuild or current is None or any(current.get(k) != v for k, v in wanted.items()):
        click.echo(f"Generating the simulated chain ({scale}, seed {seed}) into {settings.warehouse} ...")
        build_warehouse(settings, scale=scale, seed=seed, progress=True)
    else:
        click.echo(f"Warehouse {settings.warehouse} is up to date ({scale}, seed {seed}); `wb demo --rebuild` regenerates it.")
    found = _show_summary(settings)
    if not no_daily:
        _run_pipelines(settings, dt.date.fromisoformat(found.window[1]))
