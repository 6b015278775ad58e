"""``wb metrics``: the metric definitions, and metrics computed through the governed door.

``wb metrics`` lists what each metric means; ``wb metrics compute`` opens a
session for the user (``entry_point="cli"``, audited) and runs
:func:`workbench.metrics.compute` on it, so the numbers respect the user's
row scope and column policies exactly as in a notebook. Bad requests
(unknown metric, conversion by category, a hidden cost column) print one
line and exit with code 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

import click

from workbench.cli_output import Refused, print_rows


def open_source(user: str) -> AbstractContextManager:
    """The governed session for ``user``: the source ``compute`` reads from (tests replace it)."""
    import workbench as wb

    return wb.session(user, entry_point="cli")


def _split(values: Iterable[str]) -> list[str]:
    """``("a,b", "c")`` -> ``["a", "b", "c"]``: options may repeat or hold commas."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _parse_where(items: Iterable[str]) -> dict[str, list[Any]]:
    """``region=East`` / ``category=tops,bottoms`` / ``region=null`` -> a ``where`` mapping with typed values."""
    from workbench.metrics.dimensions import DIMENSIONS

    where: dict[str, list[Any]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise Refused(f"--where takes DIMENSION=VALUE[,VALUE...], got {item!r}")
        dtype = DIMENSIONS[name].dtype if name in DIMENSIONS else "string"
        where.setdefault(name, []).extend(_typed(v.strip(), dtype, name) for v in raw.split(","))
    return where


def _typed(value: str, dtype: str, name: str) -> Any:
    if value.lower() == "null":
        return None
    try:
        if dtype.startswith("int"):
            return int(value)
        if dtype == "boolean":
            return {"true": True, "false": False}[value.lower()]
    except (ValueError, KeyError):
        raise Refused(f"--where {name}= takes {dtype} values, got {value!r}") from None
    return value


def _grain(metric) -> str:
    """What a metric can be cut by, in short (every metric has the time and store dimensions)."""
    from workbench.metrics.dimensions import DIMENSIONS

    product = [DIMENSIONS[d] for d in metric.dimensions if DIMENSIONS[d].kind == "product"]
    if not product:
        return "time, store (no product)"
    return "time, store, product" + ("" if any(d.level == "sku" for d in product) else " above size")


_EXAMPLES = """
\b
Examples:
  wb metrics                                   # every metric: label, unit, definition
  wb metrics --json                            # the same, with each metric's valid dimensions
  wb metrics dimensions                        # what metrics can be cut and filtered by
  wb metrics compute --user u_region_east --metric net_sales --metric conversion --by region,month
  wb metrics compute -u u_hq -m sell_through,weeks_of_cover -b category --end 2024-06-30 --format csv
  wb metrics compute -u u_hq -m size_break_rate -b store_code -w region=East -w category=tops,bottoms
"""


@click.group(invoke_without_command=True, epilog=_EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with each metric's valid dimensions).")
@click.pass_context
def metrics(ctx: click.Context, as_json: bool) -> None:
    """List the metric definitions, or compute metrics by dimensions.

    One definition per metric, shared by notebooks, apps and reports
    (workbench/metrics). Ratios are computed after aggregation to the
    dimensions asked for; stock is taken at the last snapshot of a period.
    """
    if ctx.invoked_subcommand is not None:
        return
    from workbench.metrics.definitions import METRICS

    if as_json:
        out = [{"name": m.name, "label_en": m.label_en, "label_zh": m.label_zh, "unit": m.unit,
                "definition": m.definition, "dimensions": list(m.dimensions)} for m in METRICS.values()]
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    rows = [{"metric": m.name, "label": f"{m.label_en}\n{m.label_zh}", "unit": m.unit, "by": _grain(m),
             "definition": m.definition} for m in METRICS.values()]
    print_rows(rows, ["metric", "label", "unit", "by", "definition"], "table", title="Metrics (wb metrics --json for all dimensions)")


@metrics.command("dimensions")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dimensions(as_json: bool) -> None:
    """List the dimensions metrics can be cut (--by) and filtered (--where) by.

    \b
    Examples:
      wb metrics dimensions
      wb metrics dimensions --json
    """
    from workbench.metrics.dimensions import DIMENSIONS

    rows = [{"dimension": d.name, "kind": d.kind + (f" ({d.level})" if d.level else ""), "type": d.dtype,
             "meaning": d.doc} for d in DIMENSIONS.values()]
    print_rows(rows, list(rows[0]), "json" if as_json else "table", title="Dimensions")


@metrics.command("compute", epilog=_EXAMPLES)
@click.option("--user", "-u", required=True, help="Compute as this user (see `wb users`): their rows, their columns.")
@click.option("--metric", "-m", "metric_names", multiple=True, required=True,
              help="Metric name (see `wb metrics`); repeat it or separate with commas.")
@click.option("--by", "-b", "by", multiple=True, help="Dimensions, e.g. region,month (see `wb metrics dimensions`).")
@click.option("--start", help="First day, inclusive (YYYY-MM-DD).")
@click.option("--end", help="Last day, inclusive (YYYY-MM-DD); stock is read at the last snapshot on or before it.")
@click.option("--where", "-w", "where", multiple=True, help="Filter DIMENSION=VALUE[,VALUE...]; `null` matches missing.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def compute_command(metric_names: tuple[str, ...], user: str, by: tuple[str, ...], start: str | None,
                    end: str | None, where: tuple[str, ...], fmt: str) -> None:
    """Compute metrics by dimensions, through USER's governed session."""
    from workbench.metrics.query import MetricError
    from workbench.metrics.rollup import compute

    names, grain, filters = _split(metric_names), _split(by), _parse_where(where)
    try:
        with open_source(user) as source:
            result = compute(source, names, by=grain, start=start, end=end, where=filters).to_pyarrow()
    except (MetricError, PermissionError, LookupError, FileNotFoundError) as err:
        raise Refused(str(err)) from None
    title = f"{', '.join(names)} by {', '.join(grain) or 'total'} (user {user})"
    print_rows(result.to_pylist(), result.column_names, fmt, title=title)


_ROLLUP_EXAMPLES = """
\b
Examples:
  wb rollups build                             # every rollup, with the data through the last sale day
  wb rollups build --as-of 2025-11-30 --name sales_day --name stock_snapshot
  wb rollups list --user u_hq                  # what is built, as of when, how many rows
  wb rollups explain -u u_region_east -m net_sales,conversion -b week,region --start 2025-11-03 --end 2025-11-30
"""


@click.group(epilog=_ROLLUP_EXAMPLES)
def rollups() -> None:
    """Build and inspect the rollups (预聚合) the metrics layer answers dashboards from.

    Each rollup (marts.rollup_<name>, workbench/metrics/preagg.py) sums a fact
    by location, a time grain and some product attributes; `wb metrics
    compute` and the apps read the smallest one that covers a query, and the
    raw facts otherwise. The daily pipeline rebuilds them (step `rollups`).
    """


@rollups.command("build", epilog=_ROLLUP_EXAMPLES)
@click.option("--as-of", "as_of", help="Last day of data to roll up (YYYY-MM-DD); default: the last sale day.")
@click.option("--name", "names", multiple=True, help="Only these rollups (repeat); default: all.")
@click.option("--user", "-u", default="u_pipeline", show_default=True, help="Who writes marts.* (whole chain).")
def rollups_build(as_of: str | None, names: tuple[str, ...], user: str) -> None:
    """Rebuild the rollups through USER's governed session and list them."""
    import workbench as wb
    from workbench.metrics.preagg import build_rollups
    from workbench.metrics.query import MetricError

    try:
        with wb.session(user, read_only=False, entry_point="cli") as s:
            built = build_rollups(s, as_of, names or None)
    except (MetricError, PermissionError, LookupError, FileNotFoundError) as err:
        raise Refused(str(err)) from None
    print_rows(built, ["name", "grain", "as_of", "rows", "build_s"], "table", title="Rollups built")


@rollups.command("list")
@click.option("--user", "-u", default="u_hq", show_default=True, help="Read as this user.")
def rollups_list(user: str) -> None:
    """List the built rollups (marts.rollups): grain, as-of date, rows.

    \b
    Examples:
      wb rollups list
      wb rollups list --user u_region_east
    """
    from workbench.metrics.preagg import CATALOG

    try:
        with open_source(user) as s:
            rows = s.table(CATALOG).order_by("name").to_pyarrow().to_pylist()
    except (PermissionError, LookupError) as err:
        raise Refused(f"{err} (build them with `wb rollups build`)") from None
    print_rows(rows, ["name", "grain", "as_of", "rows", "build_s", "built_at"], "table", title="Rollups")


@rollups.command("explain", epilog=_ROLLUP_EXAMPLES)
@click.option("--user", "-u", required=True, help="As this user (their rows, their rollups).")
@click.option("--metric", "-m", "metric_names", multiple=True, required=True, help="Metric name(s).")
@click.option("--by", "-b", "by", multiple=True, help="Dimensions, e.g. week,region.")
@click.option("--start", help="First day, inclusive (YYYY-MM-DD).")
@click.option("--end", help="Last day, inclusive (YYYY-MM-DD).")
@click.option("--where", "-w", "where", multiple=True, help="Filter DIMENSION=VALUE[,VALUE...].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def rollups_explain(user: str, metric_names: tuple[str, ...], by: tuple[str, ...], start: str | None,
                    end: str | None, where: tuple[str, ...], fmt: str) -> None:
    """Which table each fact of a metrics request is read from, and why (the query plan)."""
    from workbench.metrics.query import MetricError
    from workbench.metrics.rollup import explain

    try:
        with open_source(user) as source:
            plan = explain(source, _split(metric_names), by=_split(by), start=start, end=end,
                           where=_parse_where(where))
    except (MetricError, PermissionError, LookupError) as err:
        raise Refused(str(err)) from None
    print_rows(plan, list(plan[0]), fmt, title="Query plan")
