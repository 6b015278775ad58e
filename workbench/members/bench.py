"""``wb bench members``: how well BG/NBD predicts the chain members' repeat purchases on a holdout period.

Calibrates on the members' purchase days up to ``as_of − holdout_weeks`` and predicts each member's repeat
purchase days in the holdout (:func:`workbench.members.summary.score_holdout`). Methods:

- ``bgnbd``: the model (metric ``holdout_error_pct``: |Σ predicted − Σ actual| / Σ actual, in %; signed as
  ``holdout_bias_pct``; ``holdout_mae``: mean absolute error per member, in purchases);
- ``naive_rate``: each member keeps their calibration pace (frequency / T per week), the baseline a
  marketer would use without a model.

Outfit pairing (:mod:`workbench.members.pairing_eval`): suggestions made up to ``as_of − pairing_days`` and tested
on the held-out tickets of the ``pairing_days`` after it. Methods ``workbench`` (co-purchase × tags),
``popularity`` (the training window's best sellers) and ``store_best_sellers`` (the ticket's own store's best
sellers: it knows the store, which a per-SKC list does not), metric ``pairing_hit_rate`` (share of held-out multi-SKC
tickets with another SKC among the query's top-k); ``workbench`` also ``pairing_tickets``,
``pairing_co_purchase_share`` and ``pairing_wall_s``. On a simulated chain with designed looks (generator
version 3), ``workbench`` and ``popularity`` also report ``pairing_look_recall`` and ``pairing_look_precision``:
how much of the planted outfit structure (``truth.looks``, read by the oracle) their suggestions recover.

Scalper detection (:mod:`workbench.members.scalper_score`) over the members' whole purchase span, scored by the
oracle against the planted ``scalping`` cases: method ``workbench``, metrics ``scalper_precision`` and
``scalper_recall`` (level null: the scalping rules pooled; level ``multi_store`` / ``repeat``: per rule),
``scalper_cases`` and ``scalper_wall_s``.

JSON in the shared format of DESIGN.md (bench ``members``).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click
import numpy as np

from workbench.bench.report import BenchReport

__all__ = ["measure", "command"]


def measure(settings, as_of: dt.date | None, holdout_weeks: int, user: str, scale: str | None,
            seed: int | None, pairing_days: int = 28) -> BenchReport:
    """Score BG/NBD and the naive pace on the holdout (wall time of the whole score: summary, fit, predict), the
    pairing hit rates on the ``pairing_days`` before the holdout end, and the scalper rules over all the data."""
    import workbench as wb
    from workbench.members.summary import chain_purchase_days, purchase_span, score_holdout

    report = BenchReport("members", scale, seed)
    with wb.session(user, settings=settings, read_only=True, entry_point="cli") as s:
        span = purchase_span(chain_purchase_days(s))
        end = as_of or (span[1] if span else dt.date.today())
        start = end - dt.timedelta(weeks=holdout_weeks)
        t0 = time.perf_counter()
        score = score_holdout(s, start, end)
        wall = time.perf_counter() - t0
    m = score.members
    naive = np.where(m["T"] > 0, m["frequency"] / m["T"].where(m["T"] > 0, 1), 0) * score.weeks
    report.machine.update(user=user, calibration_end=str(start), holdout_end=str(end), holdout_weeks=holdout_weeks)
    for method, predicted in (("bgnbd", m["predicted"].to_numpy()), ("naive_rate", naive)):
        bias = 100 * (predicted.sum() - score.actual) / score.actual
        report.add(method, "holdout_error_pct", round(abs(bias), 2))
        report.add(method, "holdout_bias_pct", round(bias, 2))
        report.add(method, "holdout_mae", round(float(np.abs(predicted - m["actual"]).mean()), 4))
        report.add(method, "predicted_purchases", round(float(predicted.sum()), 1))
    report.add("bgnbd", "actual_purchases", score.actual)
    report.add("bgnbd", "members", len(m))
    report.add("bgnbd", "wall_s", round(wall, 3))
    for name, value in score.params.as_dict().items():
        report.add("bgnbd", name, round(value, 4), "fit")
    add_pairing(report, settings, user, end - dt.timedelta(days=pairing_days), pairing_days)
    if span:
        add_scalpers(report, settings, user, span[0], end)
    return report


def add_scalpers(report: BenchReport, settings, user: str, start: dt.date, end: dt.date) -> None:
    """Precision and recall of the scalper rules against the planted cases (the oracle reads the truth)."""
    import workbench as wb
    from workbench.members.scalper_score import score_cases
    from workbench.members.scalpers import scalper_cases

    with wb.session(user, settings=settings, read_only=True, entry_point="cli") as s:
        t0 = time.perf_counter()
        cases = scalper_cases(s, start, end)
        wall = time.perf_counter() - t0
    with wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli") as s:
        truth = s.table("truth.irregularities").to_pandas()
    score = score_cases(cases, truth, start, end).set_index("rule")
    report.machine.update(scalper_start=str(start), scalper_end=str(end))
    for rule, row in score.iterrows():
        level = None if rule == "scalping" else rule
        report.add("workbench", "scalper_precision", round(row["precision"], 4), level)
        report.add("workbench", "scalper_recall", round(row["recall"], 4), level)
        report.add("workbench", "scalper_cases", int(row["cases"]), level)
    report.add("workbench", "scalper_planted", int(score.loc["scalping", "planted"]))
    report.add("workbench", "scalper_wall_s", round(wall, 3))


def add_pairing(report: BenchReport, settings, user: str, as_of: dt.date, holdout_days: int) -> None:
    """Pairing hit rates (workbench vs popularity) on the ``holdout_days`` after ``as_of``."""
    import workbench as wb
    from workbench.members.pairing_eval import score_pairing

    with wb.session(user, settings=settings, read_only=True, entry_point="cli") as s:
        t0 = time.perf_counter()
        score = score_pairing(s, as_of, holdout_days)
        wall = time.perf_counter() - t0
    report.machine.update(pairing_as_of=str(as_of), pairing_holdout_end=str(score.end),
                          pairing_window_start=str(score.start), pairing_top_k=score.k)
    for method, rate in score.hit_rate.items():
        report.add(method, "pairing_hit_rate", round(rate, 4))
    report.add("workbench", "pairing_tickets", score.tickets)
    report.add("workbench", "pairing_co_purchase_share", round(score.co_purchase_share, 4))
    report.add("workbench", "pairing_wall_s", round(wall, 3))
    add_look_recall(report, settings, score.suggested)


def add_look_recall(report: BenchReport, settings, suggested: dict) -> None:
    """How much of the simulator's planted outfit structure (``truth.looks``, read by the oracle) each method's
    suggestions recover; nothing when the warehouse has no looks (generator version 2 or a real chain)."""
    import workbench as wb
    from workbench.members.pairing_eval import look_recall

    with wb.session("u_oracle", settings=settings, read_only=True, entry_point="cli") as s:
        if not s.table_exists("truth.looks"):
            return
        looks = s.table("truth.looks").select("look_id", "skc_id").to_pandas()
    for method, frame in suggested.items():
        recall, precision = look_recall(frame, looks)
        report.add(method, "pairing_look_recall", round(recall, 4))
        report.add(method, "pairing_look_precision", round(precision, 4))


@click.command("members")
@click.option("--scale", type=click.Choice(["tiny", "demo", "large"]), default="demo", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="End of the holdout (default: the last member purchase in the data).")
@click.option("--holdout-weeks", type=click.IntRange(1, 104), default=13, show_default=True,
              help="Weeks before the as-of date held out; the model is calibrated on everything before them.")
@click.option("--pairing-days", type=click.IntRange(1, 365), default=28, show_default=True,
              help="Days before the as-of date whose tickets test the pairing suggestions made before them.")
@click.option("--user", default="u_analyst", show_default=True, help="Whose governed session reads.")
@click.option("--warehouse", type=click.Path(path_type=Path),
              help="Benchmark this warehouse instead of data/bench/chain-SCALE-SEED.duckdb.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def command(scale: str, seed: int, as_of, holdout_weeks: int, pairing_days: int, user: str,
            warehouse: Path | None, json_path: Path | None) -> None:
    """BG/NBD's holdout accuracy on the chain's members; outfit pairing's hit rate against the best sellers.

    Builds the simulated chain for SCALE and SEED once (kept under data/bench/) unless --warehouse is given.

    \b
    Examples:
      wb bench members --scale tiny
      wb bench members --scale demo --holdout-weeks 26 --json bench-results/members-demo.json
      wb bench members --warehouse data/warehouse.duckdb --as-of 2025-12-31 --user u_region_east
    """
    from workbench.bench.commands import bench_chain
    from workbench.members.summary import MembersError

    settings = bench_chain(scale, seed, warehouse)
    try:
        report = measure(settings, as_of.date() if as_of else None, holdout_weeks, user,
                         None if warehouse else scale, None if warehouse else seed, pairing_days)
    except MembersError as err:
        raise click.ClickException(str(err)) from None
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")
