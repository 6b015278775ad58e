"""Timing of the finance report's reads on a warehouse: P&L by store × month for a year, stock by age, B-goods.

    python -m workbench.finance.bench --warehouse /tmp/demo.duckdb --year 2025 [--json PATH]

Each report is run ``--repeats`` times in one finance session (the first run includes DuckDB's cold
reads), materialised to pandas; the JSON is in the shared benchmark format (bench ``finance-report``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from workbench.bench.report import BenchReport


def _timed(run: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv: list[str] | None = None) -> BenchReport:
    import workbench as wb
    from workbench.config import load_settings
    from workbench.finance.b_goods import b_goods_report
    from workbench.finance.pnl import pnl_report
    from workbench.finance.stock_age import stock_age_report, stock_summary_report

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", type=Path, required=True)
    p.add_argument("--year", type=int, default=2025)
    p.add_argument("--scale", default=None, help="label for the JSON (tiny, demo, large)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--user", default="u_finance")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    settings = load_settings(engine="duckdb", warehouse=args.warehouse)
    start, end = f"{args.year}-01-01", f"{args.year}-12-31"
    report = BenchReport("finance-report", args.scale, None)
    with wb.session(args.user, settings=settings, read_only=True) as s:
        cases = {
            "pnl store x month, one year": lambda: pnl_report(s, start, end, by=["store", "month"]).to_pandas(),
            "pnl region x brand x channel x month": lambda: pnl_report(
                s, start, end, by=["region", "brand", "channel", "month"]).to_pandas(),
            "stock by age, store x season": lambda: stock_age_report(s, end, by=["store", "season"]).to_pandas(),
            "stock summary by store (weeks of cover)": lambda: stock_summary_report(s, end, by=["store"]).to_pandas(),
            "b-goods markdown": lambda: b_goods_report(s, end).to_pandas(),
        }
        for method, run in cases.items():
            times, out = _timed(run, args.repeats)
            report.add(method, "wall_s", round(times[0], 3), "first")
            report.add(method, "wall_s", round(min(times), 3), "best")
            report.add(method, "rows", len(out))
    report.print_table()
    print(f"JSON: {report.write_json(args.json)}")
    return report


if __name__ == "__main__":
    main()
