"""``wb bench``: benchmarks that print a table and write JSON (DESIGN.md format)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from workbench.bench.report import BenchReport, python_child, run_measured

SCALES = ("tiny", "demo", "large")

# Runs in a child process so that its peak memory is measured alone.
_BUILD_CHILD = """
import dataclasses, json, sys
from pathlib import Path
from workbench.config import load_settings
from workbench.simulation.build import build_warehouse
settings = load_settings(engine={engine!r}, warehouse=Path({warehouse!r}))
report = build_warehouse(settings, scale={scale!r}, seed={seed}, progress=True)
print(json.dumps(dataclasses.asdict(report), default=str))
"""


@click.group()
def bench() -> None:
    """Run a benchmark; print a table and write JSON.

    \b
    Examples:
      wb bench demo-data --scale tiny
      wb bench demo-data --scale large --json bench-results/large.json
    """


@bench.command("demo-data")
@click.option("--scale", type=click.Choice(SCALES), default="demo", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--engine", type=click.Choice(["duckdb", "pyspark"]), default="duckdb", show_default=True)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
@click.option("--keep", is_flag=True, help="Keep the generated warehouse (printed) instead of deleting it.")
def demo_data(scale: str, seed: int, engine: str, json_path: Path | None, keep: bool) -> None:
    """Time and measure peak memory of `wb demo-data` at a scale.

    The build runs in a fresh process into a temporary warehouse, so the
    figures do not include this command's own start-up and the real
    warehouse is left alone.

    \b
    Example:
      wb bench demo-data --scale demo --seed 42 --json bench-results/demo.json
    """
    workdir = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    warehouse = workdir / ("warehouse.duckdb" if engine == "duckdb" else "spark")
    code = _BUILD_CHILD.format(engine=engine, warehouse=str(warehouse), scale=scale, seed=seed)
    run = run_measured(python_child(code))
    if run.returncode != 0:
        raise click.ClickException(f"the build failed (exit {run.returncode}); run `wb demo-data --scale {scale}` to see why")
    build = json.loads(run.stdout.strip().splitlines()[-1])
    rows = build.get("rows", {})
    sales_rows = rows.get("core.sales", 0)

    report = BenchReport("demo-data", scale, seed)
    method = f"wb demo-data ({engine})"
    report.add(method, "wall_s", round(run.wall_s, 2))
    report.add(method, "peak_rss_mb", round(run.peak_rss_mb, 1))
    report.add(method, "sales_lines", sales_rows)
    report.add(method, "rows_total", sum(rows.values()))
    report.add(method, "sales_lines_per_s", round(sales_rows / run.wall_s))
    report.add(method, "warehouse_mb", round(_size_mb(warehouse), 1))
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")
    if keep:
        click.echo(f"warehouse kept at {warehouse}")
    else:
        _remove(workdir)


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@bench.command("ingest")
@click.option("--rows", type=int, default=1_000_000, show_default=True, help="Lines in the synthetic POS export.")
@click.option("--encoding", "encodings", multiple=True, default=("utf-8", "gb18030"), show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def ingest(rows: int, encodings: tuple[str, ...], seed: int, json_path: Path | None) -> None:
    """Time reading, checking and quarantining a POS export (3% bad rows), per encoding.

    \b
    Example:
      wb bench ingest --rows 1000000 --encoding gb18030
    """
    from workbench.ingest.bench import measure

    report = BenchReport("ingest", f"{rows}-rows", seed)
    for encoding in encodings:
        report.results += measure(rows, seed=seed, encoding=encoding)
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")


def bench_chain(scale: str, seed: int, warehouse: Path | None):
    """Settings of the simulated chain a benchmark runs on: ``warehouse``, or SCALE and SEED built once under data/bench/."""
    from workbench.config import load_settings
    from workbench.demo import built_with
    from workbench.simulation.build import GENERATOR_VERSION, build_warehouse

    settings = load_settings(engine="duckdb", warehouse=warehouse or Path("data/bench") / f"chain-{scale}-{seed}.duckdb")
    wanted = {"scale": scale, "seed": seed, "generator_version": GENERATOR_VERSION}
    current = built_with(settings)
    if warehouse is None and (current is None or any(current.get(k) != v for k, v in wanted.items())):
        click.echo(f"Generating the {scale} chain (seed {seed}) into {settings.warehouse} ...", err=True)
        build_warehouse(settings, scale=scale, seed=seed, progress=True)
    return settings


@bench.command("forecast")
@click.option("--scale", type=click.Choice(SCALES), default="demo", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--user", default="u_pipeline", show_default=True,
              help="Whose scope to forecast, e.g. u_region_east for one region's stores.")
@click.option("--windows", "n_windows", type=int, default=3, show_default=True, help="28-day windows, back to back.")
@click.option("--method", "methods", multiple=True,
              help="Only these methods (default: all five); oracle_demand and oracle_sales add the simulator's "
                   "own expectations, the floor no method can go below.")
@click.option("--warehouse", type=click.Path(path_type=Path),
              help="Benchmark this warehouse instead of data/bench/chain-SCALE-SEED.duckdb.")
@click.option("--cost-only", is_flag=True,
              help="Measure our model's features + training + forecast only, no scoring (for `large`).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def forecast(scale: str, seed: int, user: str, n_windows: int, methods: tuple[str, ...], warehouse: Path | None,
             cost_only: bool, json_path: Path | None) -> None:
    """Our demand model against seasonal naive, moving average, AutoETS and mlforecast.

    Builds the simulated chain for SCALE and SEED once (kept under
    data/bench/), then runs every method on the same rolling-origin windows
    and scores WRMSSE per level, WAPE, bias, P10-P90 coverage and scaled
    pinball loss against observed sales and against true demand.

    \b
    Examples:
      wb bench forecast --scale tiny
      wb bench forecast --scale demo --user u_region_east --method workbench --method moving_average
      wb bench forecast --scale demo --seed 7 --json bench-results/forecast-demo-7.json
      wb bench forecast --scale demo --user u_region_east --method oracle_demand --method oracle_sales
      wb bench forecast --scale large --cost-only --windows 1
    """
    from workbench.forecasting.bench import METHODS, ORACLE_METHODS, comparison, run_benchmark

    unknown = sorted(set(methods) - set(METHODS) - set(ORACLE_METHODS))
    if unknown:
        raise click.BadParameter(f"unknown method(s) {unknown}; choose from {', '.join(METHODS + ORACLE_METHODS)}",
                                 param_hint="--method")
    settings = bench_chain(scale, seed, warehouse)
    if cost_only:
        methods = ("workbench",)
    report = run_benchmark(settings, user=user, n_windows=n_windows, methods=methods or METHODS, scale=scale,
                           seed=seed, score=not cost_only, progress=lambda line: click.echo(line, err=True))
    report.machine["user"] = user
    report.print_table()
    if not cost_only:
        click.echo(comparison(report).round(3).to_string())
    click.echo(f"JSON: {report.write_json(json_path)}")


@bench.command("allocation")
@click.option("--scale", type=click.Choice(SCALES), default="demo", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--days", type=int, default=56, show_default=True, help="Days to replay (8 weeks by default).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]),
              help="First day replayed (the day after a weekly stock snapshot); default: the latest that fits.")
@click.option("--method", "methods", multiple=True,
              help="Only these policies (default: no_transfer, weekly_rule, proportional, workbench).")
@click.option("--forecast", "forecast_source", type=click.Choice(["champion", "moving_average"]), default="champion",
              show_default=True, help="What our policy plans from: our demand model, or a 28-day sales rate.")
@click.option("--time-limit", type=float, default=10.0, show_default=True,
              help="Seconds our solver may take per day (the daily run's own limit is allocation.time_limit_s).")
@click.option("--warehouse", type=click.Path(path_type=Path),
              help="Replay this warehouse instead of data/bench/chain-SCALE-SEED.duckdb.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def allocation(scale: str, seed: int, days: int, start, methods: tuple[str, ...], forecast_source: str,
               time_limit: float, warehouse: Path | None, json_path: Path | None) -> None:
    """Replay the chain under each allocation policy against its true demand.

    Every policy meets the same customers (truth.demand) from the same
    opening stock: no transfers (DC replenishment only), the business's
    weekly sell-one-replenish-one, proportional to sales, and ours (the
    daily optimiser on weekly forecasts). Prints net margin after freight,
    sales, lost sales, sell-through, size-break days, units moved,
    shipments, logistics cost and solve times.

    \b
    Examples:
      wb bench allocation --scale tiny --forecast moving_average
      wb bench allocation --scale demo --seed 7 --json bench-results/allocation-demo-7.json
      wb bench allocation --scale demo --method weekly_rule --method workbench --days 28
      wb bench allocation --scale large --days 1 --method workbench --forecast moving_average --time-limit 60
    """
    import workbench as wb
    from workbench.allocation.bench import comparison, run_benchmark
    from workbench.allocation.planning import load_planning_settings
    from workbench.allocation.policies import POLICIES

    unknown = sorted(set(methods) - set(POLICIES))
    if unknown:
        raise click.BadParameter(f"unknown method(s) {unknown}; choose from {', '.join(POLICIES)}", param_hint="--method")
    settings = bench_chain(scale, seed, warehouse)
    session = wb.session("u_pipeline", settings=settings, read_only=True, entry_point="cli")
    oracle = wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli")
    report, _ = run_benchmark(session, oracle, days=days, start=start.date() if start else None,
                              methods=methods or POLICIES, forecast_source=forecast_source, scale=scale, seed=seed,
                              settings=load_planning_settings(time_limit_s=time_limit),
                              progress=lambda line: click.echo(line, err=True))
    click.echo(comparison(report).T.round(3).to_string())
    click.echo(f"JSON: {report.write_json(json_path)}")


@bench.command("risk")
@click.option("--scale", type=click.Choice(SCALES), default="demo", show_default=True)
@click.option("--seeds", default="42,7", show_default=True, help="Comma-separated seeds; one chain each.")
@click.option("--warehouse", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the chains in this folder (chain-SCALE-SEED.duckdb; built when missing, reused after) "
                   "instead of a temporary one removed at the end.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def risk(scale: str, seeds: str, folder: Path | None, json_path: Path | None) -> None:
    """Precision and recall of every risk check against the simulator's planted irregularities.

    Per seed: builds (or reuses) the simulated chain, runs every enabled
    check of finance.risk over the whole window as the pipeline user (each
    timed alone), and matches the cases with truth.irregularities (read as
    the oracle) by ticket, or by day + counter + SKU for stocktake
    shortfalls. Checks the simulator plants nothing for report their case
    count. The target: precision and recall >= 0.9 per scored check, every seed.

    \b
    Examples:
      wb bench risk --scale tiny --seeds 42
      wb bench risk --scale demo --seeds 42,7 --warehouse /tmp/risk-chains --json bench-results/risk-demo.json
    """
    import workbench as wb
    from workbench.finance.risk.bench import add_to_report, measure_seed, summary
    from workbench.finance.risk.params import load_risk_settings

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"give whole numbers separated by commas, e.g. 42,7, not {seeds!r}",
                                 param_hint="--seeds") from None
    checks = load_risk_settings()
    workdir = folder or Path(tempfile.mkdtemp(prefix="wb-bench-risk-"))
    report = BenchReport("risk", scale, None)
    report.machine["seeds"] = seed_list
    by_seed = {}
    try:
        for seed in seed_list:
            settings = _risk_chain(scale, seed, workdir)
            session = wb.session("u_pipeline", settings=settings, read_only=True, entry_point="cli")
            oracle = wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli")
            with click.progressbar(length=len(checks.enabled), label=f"seed {seed}: checks", file=sys.stderr) as bar:
                by_seed[seed] = measure_seed(session, oracle, checks, step=lambda name: bar.update(1))
            session.close()
            oracle.close()
            add_to_report(report, by_seed[seed], seed)
    finally:
        if folder is None:
            _remove(workdir)
    report.print_table()
    click.echo(summary(by_seed).to_string())
    click.echo(f"JSON: {report.write_json(json_path)}")


@bench.command("finance")
@click.option("--warehouse", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The DuckDB warehouse to read (e.g. one built by `wb demo-data --scale demo`).")
@click.option("--year", type=int, default=2025, show_default=True, help="The year the P&L covers.")
@click.option("--repeats", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--user", default="u_finance", show_default=True, help="Whose governed session reads.")
@click.option("--scale", type=click.Choice(SCALES), default=None, help="The warehouse's scale, for the JSON.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def finance(warehouse: Path, year: int, repeats: int, user: str, scale: str | None, json_path: Path | None) -> None:
    """Time the finance report's reads: P&L, stock by age, B-goods, the whole report.

    \b
    Example:
      wb bench finance --warehouse /tmp/demo.duckdb --scale demo --repeats 5 --json bench-results/finance-demo.json
    """
    from workbench.finance.bench import measure

    with click.progressbar(length=6, label="finance reads", file=sys.stderr) as bar:
        report = measure(warehouse, year, repeats, user, scale, step=lambda name: bar.update(1))
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")


def _risk_chain(scale: str, seed: int, folder: Path):
    """Settings of folder/chain-SCALE-SEED.duckdb, generated first unless it holds that chain already."""
    from workbench.config import load_settings
    from workbench.demo import built_with
    from workbench.simulation.build import GENERATOR_VERSION, build_warehouse

    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(engine="duckdb", warehouse=folder / f"chain-{scale}-{seed}.duckdb",
                             audit_dir=folder / "audit")
    wanted = {"scale": scale, "seed": seed, "generator_version": GENERATOR_VERSION}
    current = built_with(settings)
    if current is None or any(current.get(k) != v for k, v in wanted.items()):
        click.echo(f"Generating the {scale} chain (seed {seed}) into {settings.warehouse} ...", err=True)
        build_warehouse(settings, scale=scale, seed=seed, progress=True)
    return settings


from workbench.dashboard.bench import command as _dashboard_bench  # noqa: E402  (wb bench dashboard)
bench.add_command(_dashboard_bench)
from workbench.members.bench import command as _members_bench  # noqa: E402  (wb bench members)
bench.add_command(_members_bench)
from workbench.devices.bench import command as _devices_bench  # noqa: E402  (wb bench devices)
bench.add_command(_devices_bench)
from workbench.vision.bench import command as _vision_bench  # noqa: E402  (wb bench vision)
bench.add_command(_vision_bench)
