"""Members' purchase summary (会员消费汇总) at an as-of date, the lifetime fit on it, and its score on a holdout.

    import workbench as wb
    from workbench.members.summary import member_summary, score_holdout
    with wb.session("u_analyst") as s:
        summary = member_summary(s, "2025-09-30")          # ibis: member_id, frequency, recency, T, monetary ...
        score = score_holdout(s, "2025-09-30", "2025-12-31")
        score.error_pct                                     # (predicted − actual) / actual repeat purchases, %

A **purchase** is a day on which a member bought (a ``sale`` line on their card): several tickets on one
day are one purchase, as in the CDNOW data the BG/NBD paper uses (its published summary is rebuilt from its
transactions by :func:`purchase_summary` in the tests). Returns and exchanges are not purchases.

- ``frequency``: repeat purchases = purchase days − 1 up to the as-of date;
- ``recency``: weeks from the first to the last purchase; ``T``: weeks from the first purchase to the as-of date;
- ``monetary``: mean spend of the repeat purchase days (the first purchase is left out, as Gamma-Gamma wants).

The first purchase is the first the warehouse holds: members who joined before the data begin start
there (a left-censored history, the usual practice). Everything is computed in the engine; only the
per-member summary (one row per member) comes to pandas for the fit. A store manager's session holds the
purchases made in their stores only, so their summary describes their customers as their store sees them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.dates import parse_day
from workbench.members.lifetime import BgNbdParams, fit_bgnbd

__all__ = ["MembersError", "purchase_days", "purchase_summary", "holdout_purchases", "member_summary",
           "score_holdout", "score_days", "HoldoutScore", "chain_purchase_days", "purchase_span",
           "checked_as_of"]

PURCHASE_LINES = ("sale",)


class MembersError(ValueError):
    """Input the members' analyses cannot use; the message says what to choose instead."""


def purchase_days(sales: ir.Table) -> ir.Table:
    """One row per member and day they bought: ``member_id``, ``day``, ``amount`` (net spend of their sale lines)."""
    lines = sales.filter(sales.member_id.notnull(), sales.line_type.isin(PURCHASE_LINES), sales.qty > 0)
    return lines.group_by(member_id=lines.member_id, day=lines.sale_date).aggregate(amount=lines.net_amount.sum())


def _weeks(later: ir.Value, earlier: ir.Value) -> ir.FloatingValue:
    return later.delta(earlier, unit="day").cast("float64") / 7


def purchase_summary(days: ir.Table, as_of: dt.date, start: dt.date | None = None) -> ir.Table:
    """Per member with a purchase in ``start..as_of``: the BG/NBD and Gamma-Gamma inputs (weeks, spend).

    ``days`` holds ``member_id``, ``day``, ``amount`` with one row per member and day (:func:`purchase_days`).
    Columns: member_id, first_purchase, last_purchase, purchases, frequency, recency, T, monetary, spend.
    """
    d = days.filter(days.day <= as_of)
    if start is not None:
        d = d.filter(d.day >= start)
    first = d.group_by("member_id").aggregate(first_purchase=d.day.min())
    d = d.join(first, "member_id")
    d = d.mutate(repeat_amount=ibis.ifelse(d.day > d.first_purchase, d.amount, 0.0))
    s = d.group_by("member_id", "first_purchase").aggregate(
        last_purchase=d.day.max(), purchases=d.day.count(), repeat_spend=d.repeat_amount.sum(),
        spend=d.amount.sum())
    as_of_lit = ibis.literal(as_of, type="date")
    frequency = (s.purchases - 1).cast("float64")
    return s.select(
        "member_id", "first_purchase", "last_purchase", "purchases",
        frequency=frequency,
        recency=_weeks(s.last_purchase, s.first_purchase),
        T=_weeks(as_of_lit, s.first_purchase),
        monetary=ibis.ifelse(frequency > 0, s.repeat_spend / frequency.nullif(0), 0.0),
        spend=s.spend,
    )


def holdout_purchases(days: ir.Table, as_of: dt.date, end: dt.date) -> ir.Table:
    """Per member: the purchase days after ``as_of`` up to ``end`` (``actual``), the holdout's repeat purchases."""
    h = days.filter(days.day > as_of, days.day <= end)
    return h.group_by("member_id").aggregate(actual=h.day.count())


def chain_purchase_days(session: Any) -> ir.Table:
    """The members' purchase days the session's user may read (``core.sales``)."""
    return purchase_days(session.table("core.sales"))


def purchase_span(days: ir.Table) -> tuple[dt.date, dt.date] | None:
    """First and last purchase day in ``days`` (None when there is none)."""
    span = days.aggregate(lo=days.day.min(), hi=days.day.max()).to_pandas().iloc[0]
    if pd.isna(span["lo"]):
        return None
    return pd.Timestamp(span["lo"]).date(), pd.Timestamp(span["hi"]).date()


def member_day(value: Any) -> dt.date:
    """A date as the user wrote it; MembersError saying how to write it otherwise."""
    try:
        return parse_day(value)
    except ValueError as err:
        raise MembersError(str(err)) from None


def checked_as_of(days: ir.Table, as_of: Any) -> tuple[dt.date, tuple[dt.date, dt.date]]:
    """``as_of`` as a date on or after the first purchase in ``days``, and the purchases' span; else MembersError."""
    day = member_day(as_of)
    span = purchase_span(days)
    if span is None:
        raise MembersError("there are no member purchases you may read: check the user's stores or region "
                           "(`wb users`) and that the warehouse is loaded")
    if day < span[0]:
        raise MembersError(f"as-of date {day} is before any member purchase you may read (they run from "
                           f"{span[0]} to {span[1]}): choose a date on or after {span[0]}")
    return day, span


def member_summary(session: Any, as_of: Any, start: Any = None) -> ir.Table:
    """The members' summary at ``as_of`` through the session (an ibis table; :func:`purchase_summary`)."""
    days = chain_purchase_days(session)
    day, _ = checked_as_of(days, as_of)
    return purchase_summary(days, day, member_day(start) if start is not None else None)


@dataclass(frozen=True)
class HoldoutScore:
    """BG/NBD fitted up to ``as_of`` and scored on the purchases of ``as_of`` (excluded) .. ``end``."""

    as_of: dt.date
    end: dt.date
    params: BgNbdParams
    members: pd.DataFrame  # member_id, frequency, recency, T, p_alive, predicted, actual

    @property
    def weeks(self) -> float:
        return (self.end - self.as_of).days / 7

    @property
    def predicted(self) -> float:
        return float(self.members["predicted"].sum())

    @property
    def actual(self) -> int:
        return int(self.members["actual"].sum())

    @property
    def error_pct(self) -> float:
        """Aggregate error: (predicted − actual) / actual repeat purchases in the holdout, in %."""
        return 100 * (self.predicted - self.actual) / self.actual if self.actual else float("nan")

    @property
    def mae(self) -> float:
        """Mean absolute error per member (purchases)."""
        return float((self.members["predicted"] - self.members["actual"]).abs().mean())

    def by_frequency(self, cap: int = 7) -> pd.DataFrame:
        """Mean predicted vs actual holdout purchases by calibration frequency (``cap``+ pooled): the paper's fig. 4."""
        m = self.members.assign(frequency=self.members["frequency"].clip(upper=cap).astype(int))
        return m.groupby("frequency").agg(members=("member_id", "size"), predicted=("predicted", "mean"),
                                          actual=("actual", "mean")).reset_index()


def score_days(days: ir.Table, as_of: dt.date, end: dt.date) -> HoldoutScore:
    """Fit on the purchase days up to ``as_of``, predict each member's purchases to ``end``, compare."""
    summary = purchase_summary(days, as_of)
    actual = holdout_purchases(days, as_of, end)
    joined = summary.left_join(actual, "member_id").select(
        "member_id", "frequency", "recency", "T", actual=ibis.coalesce(actual.actual, 0)).to_pandas()
    params = fit_bgnbd(joined)
    weeks = (end - as_of).days / 7
    joined["p_alive"] = params.p_alive(joined)
    joined["predicted"] = params.conditional_expected_purchases(joined, weeks)
    return HoldoutScore(as_of, end, params, joined.sort_values("member_id", ignore_index=True))


def score_holdout(session: Any, as_of: Any, end: Any) -> HoldoutScore:
    """BG/NBD on the chain's members: calibrate up to ``as_of``, score on ``as_of`` .. ``end`` (days after as-of)."""
    days = chain_purchase_days(session)
    day, span = checked_as_of(days, as_of)
    last = member_day(end)
    if last <= day:
        raise MembersError(f"the holdout must end after the as-of date {day}; got {last}")
    if last > span[1]:
        raise MembersError(f"the holdout end {last} is after the last member purchase you may read ({span[1]}): "
                           "the missing days would count as no purchases; choose an end on or before it")
    return score_days(days, day, last)
