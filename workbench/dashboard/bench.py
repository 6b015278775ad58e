"""``wb bench dashboard``: server-side time of the operations dashboard's first render and interactions.

In process, per user (the boss ``u_hq`` and a region manager by default):
open the governed session, build the dashboard (first render = build + its
first refresh), then replay a fixed, seeded sequence of interactions through
the widgets, as a browser would set them: change the dimension, add and
remove a filter value, change the period preset, the time grain, the
measures. Each is timed from setting the widget to the end of the callback's
recompute (:meth:`OperationsDashboard.refresh`), queries included. The values
picked depend on the seed and on what the user may pick, and are always
valid (a measure is only cut by dimensions its facts have), so every timing
is a real recompute, not an error message.

For the first interaction of each kind the queries it ran are planned: the
rollup the metrics layer chose when it can say (``workbench.metrics.explain``,
once rollups land), and DuckDB's own plan of the compiled, governed SQL
(tables scanned, filters pushed down, estimated rows), planned on a plain
read-only connection to the same file: planning reads no rows.

The JSON is the shared format of DESIGN.md (bench ``dashboard``): metric
``p95_ms`` / ``p50_ms`` per interaction kind (``level``), ``first_render_s``;
method ``workbench`` pools the users, ``workbench (USER)`` is one user. The
plans go to a Markdown file beside the JSON. With ``--sessions N`` (50 by
default; 0 skips it) the real server is started and N browser tabs open and
close the dashboard (:func:`workbench.apps.bench.session_memory`): metric
``rss_growth_pct`` (server RSS after they closed, against after one session),
``peak_rss_mb`` and ``open_s_median`` (in the browser, page load included).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

KINDS = ("dimension", "filter_add", "filter_remove", "period", "grain", "measures")
EXTRA_MEASURES = ("units", "gross_sales", "return_rate", "markdown_rate")
USERS = ("u_hq", "u_region_east")
DEMO_PASSWORD = "retail-demo"  # the demo logins' (workbench/conf/logins.yaml); the memory check logs in with it


@dataclass
class Timing:
    user: str
    kind: str
    change: str
    seconds: float
    queries: int
    error: str | None
    warm_s: float = 0.0  # the warm-up after it (reading time: not in ``seconds``)
    warmed: int = 0  # shapes it compiled


@dataclass
class UserRun:
    user: str
    session_open_s: float
    first_render_s: float
    timings: list[Timing] = field(default_factory=list)
    plans: dict[str, list[str]] = field(default_factory=dict)  # kind -> one block per query


# --- the interactions ------------------------------------------------------------------


def _fits(measures: list[str], dims: list[str]) -> bool:
    from workbench.metrics.definitions import METRICS

    return all(d in METRICS[m].dimensions for m in measures for d in dims)


def _used_dims(dash: Any) -> list[str]:
    return [d for d in [dash.dimension.value] if d] + [d for d, w in dash.filters.items() if w.value]


def _change(dash: Any, kind: str, rng: random.Random) -> tuple[Any, Any, str] | None:
    """(widget, new value, description) for one interaction of ``kind``; ``None`` if there is none to make."""
    from workbench.dashboard.periods import PRESETS
    from workbench.dashboard.settings import KPI_MEASURES
    from workbench.dashboard.state import DIMENSIONS, GRAINS

    measures = list(dash.measures.value)
    if kind == "dimension":
        picks = [d for d in DIMENSIONS if d != dash.dimension.value and _fits(measures, [d])]
        new = rng.choice(picks) if picks else None
        return (dash.dimension, new, f"dimension -> {new}") if new else None
    if kind == "filter_add":
        picks = [(d, v) for d, w in dash.filters.items() if _fits(measures, [d])
                 for v in dash.options[d] if v not in w.value]
        if not picks:
            return None
        dim, value = rng.choice(picks)
        return dash.filters[dim], [*dash.filters[dim].value, value], f"filter {dim} + {value}"
    if kind == "filter_remove":
        picks = [(d, v) for d, w in dash.filters.items() for v in w.value]
        if not picks:
            return None
        dim, value = rng.choice(picks)
        return dash.filters[dim], [v for v in dash.filters[dim].value if v != value], f"filter {dim} - {value}"
    if kind == "period":
        new = rng.choice([p for p in PRESETS if p != dash.preset.value])
        return dash.preset, new, f"period -> {new}"
    if kind == "grain":
        new = rng.choice([g for g in GRAINS if g != dash.grain.value])
        return dash.grain, new, f"grain -> {new}"
    visible = set(dash.measures.options.values())
    picks = [m for m in (*KPI_MEASURES, *EXTRA_MEASURES) if m in visible and _fits([m], _used_dims(dash))]
    new = rng.sample(picks, rng.randint(1, min(4, len(picks)))) if picks else []
    return (dash.measures, new, f"measures -> {','.join(new)}") if new and new != measures else None


def sequence(rng: random.Random, rounds: int) -> Iterator[str]:
    """The kinds in a seeded order: each round every kind once, a filter added before one is removed."""
    for _ in range(rounds):
        kinds = list(KINDS)
        rng.shuffle(kinds)
        add, remove = kinds.index("filter_add"), kinds.index("filter_remove")
        if remove < add:
            kinds[add], kinds[remove] = kinds[remove], kinds[add]
        yield from kinds


# --- measuring -----------------------------------------------------------------------


def _warm(dash: Any, on: bool) -> tuple[float, int]:
    """Let the dashboard compile what is one click away, as the server does while a person reads."""
    if not on:
        return 0.0, 0
    started = time.perf_counter()
    count = dash.warm_up()
    return time.perf_counter() - started, count


def run_user(settings: Any, user: str, seed: int, rounds: int, planner: Callable | None,
             step: Callable[[str], None] = lambda line: None, warm_up: bool = True) -> UserRun:
    """Open ``user``'s session, build the dashboard, replay the interactions; time each.

    With ``warm_up`` the dashboard compiles the requests one click away after
    each refresh, untimed: a person reads the page for seconds between clicks
    and the server does that work then (:mod:`workbench.dashboard.warmup`).
    """
    import workbench as wb
    from workbench.apps.operations import OperationsDashboard
    from workbench.dashboard.trace import traced

    started = time.perf_counter()
    session = wb.session(user, settings=settings, read_only=True, entry_point="cli")
    opened = time.perf_counter()
    try:
        with traced() as first:
            dash = OperationsDashboard(session)
            dash.panel()
        run = UserRun(user, opened - started, time.perf_counter() - opened)
        if planner:
            run.plans["first render"] = planner(session, first)
        _warm(dash, warm_up)
        rng = random.Random(f"{seed}-{user}")
        for kind in sequence(rng, rounds):
            change = _change(dash, kind, rng)
            if change is None:
                continue
            widget, value, what = change
            with traced() as calls:
                t0 = time.perf_counter()
                widget.value = value
                seconds = time.perf_counter() - t0
            if planner and kind not in run.plans:
                run.plans[kind] = planner(session, calls)
            warm_s, warmed = _warm(dash, warm_up)
            run.timings.append(Timing(user, kind, what, seconds, len(calls), dash.error, warm_s, warmed))
            step(f"{user} {what}: {1000 * seconds:.0f} ms, {len(calls)} queries"
                 + (f" ERROR {dash.error}" if dash.error else "")
                 + (f"; then {warmed} shapes warmed in {warm_s:.1f} s" if warm_up else ""))
        return run
    finally:
        session.close()


def p95(values: list[float]) -> float:
    """The 95th percentile (linear interpolation; the largest of fewer than 20 values weighs in)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=20, method="inclusive")[-1]


def report_of(runs: list[UserRun], scale: str | None, seed: int) -> Any:
    from workbench.bench.report import BenchReport

    report = BenchReport("dashboard", scale, seed)
    report.machine["users"] = [r.user for r in runs]
    groups = [("workbench", [t for r in runs for t in r.timings])] + [
        (f"workbench ({r.user})", r.timings) for r in runs]
    for method, timings in groups:
        for kind in KINDS:
            ms = [1000 * t.seconds for t in timings if t.kind == kind]
            if ms:
                report.add(method, "p95_ms", round(p95(ms), 1), kind)
                report.add(method, "p50_ms", round(statistics.median(ms), 1), kind)
                report.add(method, "queries", statistics.median(t.queries for t in timings if t.kind == kind), kind)
                report.add(method, "warm_up_s", round(statistics.median(t.warm_s for t in timings if t.kind == kind), 2),
                           kind)
        if method == "workbench":
            report.add(method, "first_render_s", round(max(r.first_render_s for r in runs), 3), "worst user")
            errors = sum(t.error is not None for t in timings)
            report.add(method, "errors", errors)
    for r in runs:
        report.add(f"workbench ({r.user})", "first_render_s", round(r.first_render_s, 3))
        report.add(f"workbench ({r.user})", "session_open_s", round(r.session_open_s, 3))
    return report


# --- query plans ----------------------------------------------------------------------


def planner_for(settings: Any) -> Callable:
    """A function (session, executed queries) -> one text block per query: chosen rollups, DuckDB's scans."""
    import ibis

    from workbench.metrics import compute
    from workbench.warehouse import engines

    plain = engines.connect(settings, read_only=True)  # same file and configuration: shares the open database

    def plan(session: Any, calls: list) -> list[str]:
        blocks = []
        for call in calls:
            lines = [f"{call.part}: {1000 * call.seconds:.0f} ms, {call.rows} rows"]
            chosen = _rollup_choice(session, call.call)
            if chosen:
                lines.append(f"  metrics layer: {chosen}")
            expr = call.expr if call.expr is not None else compute(session, **call.call)
            sql = ibis.to_sql(expr, dialect="duckdb")
            explained = plain.raw_sql(f"EXPLAIN (FORMAT json) {sql}").fetchall()
            lines += [f"  {scan}" for scan in _scans(json.loads(explained[0][1]))]
            blocks.append("\n".join(lines))
        return blocks

    return plan


def _rollup_choice(session: Any, call: dict | None) -> str | None:
    """What ``workbench.metrics.explain`` says about a compute call (absent until rollups land)."""
    if not call:
        return None
    try:
        import workbench.metrics as metrics

        explain = getattr(metrics, "explain")
    except (AttributeError, ImportError):
        return None
    try:
        rows = explain(session, **call)
    except Exception as err:  # a benchmark reports, it does not stop on a planner's problem
        return f"(explain failed: {err})"
    if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        return "; ".join(f"{r.get('fact')} <- {r.get('table')}" + (f" ({r['reason']})" if r.get("reason") else "")
                         for r in rows)
    return str(rows)


def _scans(plan: Any) -> list[str]:
    """``SEQ_SCAN core.sales [cols] ~N rows; filters`` for every scan in DuckDB's JSON plan."""
    out = []

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        if "SCAN" in node.get("name", "") and isinstance(info, dict) and "Table" in info:
            filters = "; ".join(info.get("Filters", [])) if isinstance(info.get("Filters"), list) else info.get("Filters", "")
            out.append(f"{node['name']} {info['Table']} ~{info.get('Estimated Cardinality', '?')} rows"
                       + (f" where {filters}" if filters else ""))
        for child in node.get("children", []):
            walk(child)

    for node in plan if isinstance(plan, list) else [plan]:
        walk(node)
    return out


def write_plans(runs: list[UserRun], path: Path) -> Path:
    lines = ["# wb bench dashboard: query plans per interaction kind", ""]
    for r in runs:
        for kind, blocks in r.plans.items():
            lines += [f"## {r.user}: {kind}", "", "```", *blocks, "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def measure(settings: Any, users: tuple[str, ...] = USERS, seed: int = 42, rounds: int = 5, scale: str | None = None,
            plans: bool = True, step: Callable[[str], None] = lambda line: None,
            warm_up: bool = True) -> tuple[Any, list[UserRun]]:
    """Run every user; the report and the runs (with their plans)."""
    import hvplot.pandas  # noqa: F401  (a server imports these once at start: not a render's cost)
    import panel  # noqa: F401

    from workbench.apps.page import gc_as_served

    planner = planner_for(settings) if plans else None
    with gc_as_served():  # as the server does when it starts; restored after (a test may be the caller)
        runs = [run_user(settings, user, seed, rounds, planner, step, warm_up) for user in users]
    report = report_of(runs, scale, seed)
    report.machine["warm_up"] = warm_up
    return report, runs


def add_session_memory(report: Any, settings: Any, user: str, sessions: int) -> None:
    """Open and close ``sessions`` browser tabs of the dashboard on the real server; add the memory figures."""
    from tqdm import tqdm

    from workbench.apps.bench import session_memory

    with tqdm(total=sessions, desc="browser sessions", unit="session", file=sys.stderr, disable=None) as bar:
        # in a thread of its own: Playwright's sync API refuses a thread where an asyncio loop runs
        with ThreadPoolExecutor(1) as pool:
            got = pool.submit(session_memory, settings, user, DEMO_PASSWORD, page="operations", sessions=sessions,
                              progress=lambda done, total: bar.update(done - bar.n)).result()
    report.add("workbench", "rss_growth_pct", round(got.growth_pct, 1), f"{sessions} sessions")
    report.add("workbench", "peak_rss_mb", round(got.rss_peak_mb, 1), "server, one session open at a time")
    report.add("workbench", "open_s_median", round(got.open_s_median, 2), "browser, page load included")


@click.command("dashboard")
@click.option("--scale", type=click.Choice(["tiny", "demo", "large"]), default="demo", show_default=True)
@click.option("--warehouse", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The DuckDB warehouse to read (default: data/bench/chain-SCALE-SEED.duckdb, built when missing).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seeds the interaction sequence (and the chain).")
@click.option("--rounds", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Each round changes the dimension, a filter (add, remove), the period, the grain and the measures.")
@click.option("--user", "users", multiple=True, help=f"Whose dashboard (default: {', '.join(USERS)}).")
@click.option("--no-plans", is_flag=True, help="Skip planning each interaction kind's queries.")
@click.option("--sessions", type=click.IntRange(0, 500), default=50, show_default=True,
              help="Browser sessions to open and close on the real server for the memory check (0: skip).")
@click.option("--no-warm-up", is_flag=True,
              help="Do not let the dashboard compile the requests one click away between clicks (cold clicks).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def command(scale: str, warehouse: Path | None, seed: int, rounds: int, users: tuple[str, ...], no_plans: bool,
            sessions: int, no_warm_up: bool, json_path: Path | None) -> None:
    """Time the operations dashboard server-side: first render and each interaction (p95).

    \b
    Examples:
      wb bench dashboard --scale demo --warehouse /tmp/wb/demo.duckdb
      wb bench dashboard --scale large --warehouse /tmp/wb/large.duckdb --rounds 2 --json bench-results/dash-large.json
      wb bench dashboard --scale demo --sessions 0     # in-process timings only, no server or browser
      wb bench dashboard --scale large --warehouse /tmp/wb/large.duckdb --sessions 0 --no-warm-up  # cold clicks
    """
    from workbench.bench.commands import bench_chain

    settings = bench_chain(scale, seed, warehouse)
    report, runs = measure(settings, users or USERS, seed, rounds, scale, plans=not no_plans,
                           step=lambda line: click.echo(line, err=True), warm_up=not no_warm_up)
    report.machine["warehouse"] = str(settings.warehouse)
    if sessions:
        add_session_memory(report, settings, (users or USERS)[0], sessions)
    report.print_table()
    path = report.write_json(json_path)
    click.echo(f"JSON: {path}")
    if not no_plans:
        click.echo(f"Query plans: {write_plans(runs, path.with_suffix('.plans.md'))}")
    if any(t.error for r in runs for t in r.timings):
        click.echo("Some interactions ended in a message instead of figures (see above).", err=True)
        sys.exit(1)
