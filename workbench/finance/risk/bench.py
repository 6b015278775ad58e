"""``wb bench risk``: every check over a simulated chain, scored against its planted irregularities.

Per seed: the checks run through a pipeline session over the whole window (each timed alone), the
oracle reads ``truth.irregularities`` for the same window, and :func:`~.score.score` matches them.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Callable

import pandas as pd

from workbench.bench.report import BenchReport
from workbench.finance.risk.params import RiskSettings, load_risk_settings
from workbench.finance.risk.run import run_checks
from workbench.finance.risk.score import PLANTED_KIND, score

__all__ = ["TARGET", "measure_seed", "add_to_report", "summary"]

TARGET = 0.9  # precision and recall every scored check must reach on demo, on both seeds


def measure_seed(session, oracle, settings: RiskSettings | None = None,
                 step: Callable[[str], None] = lambda name: None) -> pd.DataFrame:
    """The scores of one chain: per check cases, planted, matched, precision, recall and ``wall_s``."""
    settings = settings or load_risk_settings()
    days = session.table("core.sales").sale_date
    start, end = _day(days.min().execute()), _day(days.max().execute())
    results, wall = {}, {}
    for name in settings.enabled:
        started = time.perf_counter()
        results.update(run_checks(session, start, end, checks=[name], settings=settings))
        wall[name] = time.perf_counter() - started
        step(name)
    truth = oracle.table("truth.irregularities")
    truth = truth.filter(truth.event_date.between(start, end)).execute()
    scores = score(results, truth)
    scores["wall_s"] = scores["check"].map(wall)
    scores.loc[scores["check"] == "all", "wall_s"] = sum(wall.values())
    return scores


def add_to_report(report: BenchReport, scores: pd.DataFrame, seed: int) -> None:
    """The DESIGN.md rows: one method per check (and ``all``), metrics precision / recall / wall_s / cases;
    the seed is the level."""
    level = f"seed {seed}"
    for row in scores.itertuples(index=False):
        scored = row.check == "all" or row.check in PLANTED_KIND
        if scored:
            report.add(row.check, "precision", round(float(row.precision), 4), level)
            report.add(row.check, "recall", round(float(row.recall), 4), level)
            report.add(row.check, "planted", int(row.planted), level)
        report.add(row.check, "cases", int(row.cases), level)
        report.add(row.check, "wall_s", round(float(row.wall_s), 2), level)


def summary(by_seed: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Checks down, seeds across: precision / recall (or the case count and "no planted cases"), wall_s,
    and whether every seed meets the target."""
    table = {}
    for seed, scores in by_seed.items():
        for row in scores.itertuples(index=False):
            line = table.setdefault(row.check, {})
            if row.check == "all" or row.check in PLANTED_KIND:
                line[f"seed {seed}"] = f"P {row.precision:.3f}  R {row.recall:.3f}  ({int(row.matched)}/{int(row.planted)})"
                line.setdefault("meets target", True)
                line["meets target"] &= bool(row.precision >= TARGET and row.recall >= TARGET)
            else:
                line[f"seed {seed}"] = f"{row.cases} cases: no planted cases"
                line["meets target"] = "-"
            line[f"wall_s {seed}"] = round(float(row.wall_s), 2)
    return pd.DataFrame.from_dict(table, orient="index")


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else value
