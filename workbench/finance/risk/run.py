"""Running the risk checks through the governed door and keeping their case lists in ``marts.risk_cases``.

The session decides what each user sees: a region manager's checks read only
their region's rows, so they get only their region's cases.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterable

import pandas as pd
import pyarrow as pa

from workbench.finance.risk import points, sales, stock
from workbench.finance.risk.params import DEFAULTS, RiskSettings, load_risk_settings

__all__ = ["CHECKS", "check_expr", "run_checks", "all_cases", "write_cases"]

# check -> (function, the core tables it reads, by argument name)
CHECKS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "discount_beyond_policy": (sales.discount_beyond_policy, ("sales", "promotions")),
    "cashier_discount_outliers": (sales.cashier_discount_outliers, ("sales",)),
    "points_abuse": (points.points_abuse, ("points_ledger", "sales")),
    "points_kept_on_returns": (points.points_kept_on_returns, ("points_ledger", "sales")),
    "points_above_tier": (points.points_above_tier, ("points_ledger", "sales", "members")),
    "exchange_other_style": (sales.exchange_other_style, ("sales", "products")),
    "return_without_sale": (sales.return_without_sale, ("sales",)),
    "return_outside_window": (sales.return_outside_window, ("sales",)),
    "unpaid_sale": (sales.unpaid_sale, ("sales", "payments")),
    "consignment_shortfall": (stock.consignment_shortfall, ("stock_counts", "stores", "products")),
}
assert set(CHECKS) == set(DEFAULTS)


def check_expr(name: str, tables: dict[str, Any], start: date, end: date, settings: RiskSettings):
    """The ibis expression of one check over ``tables`` (core table name -> ibis table)."""
    function, needs = CHECKS[name]
    return function(**{t: tables[t] for t in needs}, start=start, end=end, **settings.of(name))


def run_checks(session, start: date, end: date, checks: Iterable[str] | None = None,
               settings: RiskSettings | None = None) -> dict[str, pd.DataFrame]:
    """Per check (the enabled ones, or ``checks``): its cases from ``start`` to ``end`` (both included),
    ranked by amount at risk, largest first (``rank`` 1), read through ``session``."""
    settings = settings or load_risk_settings()
    names = list(settings.enabled if checks is None else checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown risk check(s) {unknown}; the checks are {', '.join(CHECKS)}")
    if start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    tables: dict[str, Any] = {}
    out = {}
    for name in names:
        for t in CHECKS[name][1]:
            if t not in tables:
                tables[t] = session.table(f"core.{t}")
        frame = check_expr(name, tables, start, end, settings).execute()
        out[name] = ranked(frame)
    return out


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """Largest amount at risk first; ties by case key, so a re-run lists the same order."""
    frame = frame.sort_values(["amount_at_risk", "case_key"], ascending=[False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(1, "rank", range(1, len(frame) + 1))
    return frame


def all_cases(results: dict[str, pd.DataFrame], start: date, end: date) -> pd.DataFrame:
    """Every check's cases in one frame, with the period they were found in (the rows of ``marts.risk_cases``)."""
    frames = [f for f in results.values() if len(f)]
    whole = pd.concat(frames, ignore_index=True) if frames else next(iter(results.values())).iloc[:0]
    whole.insert(0, "period_start", start)
    whole.insert(1, "period_end", end)
    return whole


def write_cases(session, results: dict[str, pd.DataFrame], start: date, end: date) -> int:
    """Replace the period's cases in ``marts.risk_cases`` (a re-run for the same period replaces its own
    rows); rows written."""
    if not results:
        raise ValueError("no check results to write: run_checks(...) first")
    return session.write("marts.risk_cases", _as_contract(all_cases(results, start, end)), mode="replace_where",
                         where={"period_start": start, "period_end": end})


def _as_contract(cases: pd.DataFrame) -> pa.Table:
    """The cases in the types of ``marts.risk_cases`` (``schema.OUTPUTS``; the session fills ``run_id``): a period
    whose cases name no member (or no cashier) still gives a typed column, not an all-null one the door cannot
    create the table from."""
    from workbench.warehouse.schema import OUTPUTS

    schema = OUTPUTS["marts.risk_cases"].arrow_schema()
    schema = schema.remove(schema.get_field_index("run_id"))
    return pa.Table.from_pandas(cases, preserve_index=False).select(schema.names).cast(schema)
