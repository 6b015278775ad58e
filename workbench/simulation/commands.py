"""``wb demo-data``: build the simulated chain into the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli_output import Refused

from workbench.simulation.scales import SCALES


@click.command("demo-data")
@click.option("--scale", type=click.Choice(list(SCALES)), default="demo", show_default=True,
              help="tiny: 8 stores, 1 year, seconds (tests); demo: ~100 locations, 2 years; large: ~500 stores, 100M+ sales lines.")
@click.option("--seed", type=int, default=42, show_default=True, help="Same scale and seed give identical tables.")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="Where to write (a .duckdb file, or a folder for pyspark). Default: the configured warehouse.")
@click.option("--engine", type=click.Choice(["duckdb", "pyspark"]), default=None, help="Engine profile (default: configured).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--user", default="u_admin", show_default=True, help="Who loads it: needs write grants on every table (audited).")
def demo_data(scale: str, seed: int, warehouse: Path | None, engine: str | None, quiet: bool, user: str) -> None:
    """Generate the simulated chain into the warehouse (replaces it atomically).

    \b
    Examples:
      wb demo-data                                   # demo scale, seed 42, data/warehouse.duckdb
      wb demo-data --scale tiny --seed 7 --warehouse /tmp/tiny.duckdb
      wb demo-data --scale large --warehouse /tmp/large.duckdb
      wb demo-data --scale tiny --engine pyspark     # Parquet tables for Spark under data/spark
    """
    from workbench.config import load_settings
    from workbench.simulation.build import build_warehouse

    overrides = {}
    if engine:
        overrides["engine"] = engine
    settings = load_settings(**overrides)
    if warehouse is not None:
        settings = settings.with_(warehouse=warehouse.expanduser().resolve())
    try:
        report = build_warehouse(settings, scale=scale, seed=seed, progress=not quiet, user=user)
    except (PermissionError, LookupError) as err:
        raise Refused(str(err)) from None
    click.echo(report.format())

