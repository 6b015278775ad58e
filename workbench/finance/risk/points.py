"""Risk checks on loyalty points (积分): credited twice, to a card that was not at the till, kept on goods
returned, or more than the member's tier earns."""

from __future__ import annotations

from datetime import date
from typing import Mapping

import ibis
import ibis.expr.types as ir

from workbench.finance.risk.cases import cases, in_period, text

__all__ = ["points_abuse", "points_kept_on_returns", "points_above_tier"]


def _earned(points_ledger: ir.Table, start: date, end: date) -> ir.Table:
    e = in_period(points_ledger, "entry_date", start, end)
    return e.filter(e.reason == "earn", e.ticket_id.notnull())


def _tickets(sales: ir.Table, start: date, end: date) -> ir.Table:
    """Per ticket of the period: its members (count of lines with one), cashier and net."""
    s = in_period(sales, "sale_date", start, end)
    return s.group_by(sale_ticket=s.ticket_id).aggregate(
        member_lines=s.member_id.count(), cashier_id=s.cashier_id.min(), net=s.net_amount.sum())


def points_abuse(points_ledger: ir.Table, sales: ir.Table, *, start: date, end: date,
                 point_value_cny: float = 0.01) -> ir.Table:
    """Points credited twice for one ticket (double credit), or credited to a card on a ticket sold to a
    walk-in customer (no member on its lines: a staff card, 员工卡, collecting customers' points).
    At risk: the points credited without cause, at ``point_value_cny`` each."""
    e = _earned(points_ledger, start, end)
    double = e.group_by("ticket_id", "member_id").aggregate(
        event_date=e.entry_date.min(), store_id=e.store_id.min(), entries=e.count(), points=e.points.sum(),
        once=e.points.max())
    double = double.filter(double.entries > 1)
    tickets = _tickets(sales, start, end)
    double = double.left_join(tickets, double.ticket_id == tickets.sale_ticket)
    double = cases(double, "points_abuse", case_key=text("double/", double.ticket_id, "/", double.member_id),
                   event_date=double.event_date, store_id=double.store_id, ticket_id=double.ticket_id,
                   member_id=double.member_id, cashier_id=double.cashier_id,
                   amount_at_risk=(double.points - double.once) * point_value_cny,
                   evidence=text("ticket credited ", double.entries, " times: ", double.points, " points where ",
                                 double.once, " were due"))
    walk_in = e.left_join(tickets, e.ticket_id == tickets.sale_ticket)
    walk_in = walk_in.filter(walk_in.member_lines.fill_null(0) == 0)
    walk_in = cases(walk_in, "points_abuse", case_key=text("walk_in/", walk_in.ticket_id, "/", walk_in.member_id),
                    event_date=walk_in.entry_date, store_id=walk_in.store_id, ticket_id=walk_in.ticket_id,
                    member_id=walk_in.member_id, cashier_id=walk_in.cashier_id,
                    amount_at_risk=walk_in.points * point_value_cny,
                    evidence=text("card ", walk_in.member_id, " credited ", walk_in.points,
                                  " points on a ticket sold without a member card"))
    return double.union(walk_in)


def points_kept_on_returns(points_ledger: ir.Table, sales: ir.Table, *, start: date, end: date,
                           point_value_cny: float = 0.01) -> ir.Table:
    """Refunds of goods whose original ticket earned points, with no points taken back on the refund ticket.
    The points due back are the earned points' share of the refund in the original ticket's net. At risk:
    those points at ``point_value_cny`` each."""
    r = in_period(sales, "sale_date", start, end)
    r = r.filter(r.line_type == "return", r.orig_ticket_id.notnull())
    refund = r.group_by("ticket_id", "orig_ticket_id").aggregate(
        event_date=r.sale_date.min(), store_id=r.store_id.min(), cashier_id=r.cashier_id.min(),
        refund=-r.net_amount.sum(), lines=r.count())
    earned = points_ledger.filter(points_ledger.reason == "earn", points_ledger.ticket_id.notnull())
    earned = earned.group_by(earn_ticket=earned.ticket_id).aggregate(earned=earned.points.sum(),
                                                                      member_id=earned.member_id.max())
    taken = points_ledger.filter(points_ledger.points < 0, points_ledger.reason != "redeem")
    taken = taken.select(back_ticket=taken.ticket_id).distinct()
    orig = sales.group_by(orig_ticket=sales.ticket_id).aggregate(orig_net=sales.net_amount.sum())
    j = refund.join(earned, refund.orig_ticket_id == earned.earn_ticket)
    j = j.anti_join(taken, j.ticket_id == taken.back_ticket)
    j = j.left_join(orig, j.orig_ticket_id == orig.orig_ticket)
    share = ibis.least(j.refund / j.orig_net.nullif(0), 1.0).fill_null(1.0)
    j = j.mutate(due=(j.earned * share).ceil())
    return cases(j, "points_kept_on_returns", case_key=text(j.ticket_id), event_date=j.event_date,
                 store_id=j.store_id, ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id,
                 amount_at_risk=j.due * point_value_cny,
                 evidence=text("refund of ", j.refund.round(2), " on ticket ", j.orig_ticket_id, ", which earned ",
                               j.earned, " points; none taken back (", j.due, " due)"))


def points_above_tier(points_ledger: ir.Table, sales: ir.Table, members: ir.Table, *, start: date, end: date,
                      tier_points_per_cny: Mapping[str, float], tolerance_points: int = 1,
                      point_value_cny: float = 0.01) -> ir.Table:
    """Single credits above what the member's tier earns on the money paid (points per CNY stacked beyond
    ``tier_points_per_cny``): the ticket's net less the points redeemed on it. A member whose tier the
    user cannot see is held to the highest rate. At risk: the points above the rate."""
    e = _earned(points_ledger, start, end)
    tickets = _tickets(sales, start, end)
    redeemed = points_ledger.filter(points_ledger.reason == "redeem", points_ledger.ticket_id.notnull())
    redeemed = redeemed.group_by(redeem_ticket=redeemed.ticket_id).aggregate(redeemed=-redeemed.points.sum())
    tiers = members.select(tier_member=members.member_id, tier=members.tier.cast("string"))
    j = e.join(tickets, e.ticket_id == tickets.sale_ticket)
    j = j.left_join(redeemed, j.ticket_id == redeemed.redeem_ticket)
    j = j.left_join(tiers, j.member_id == tiers.tier_member)
    rate = ibis.cases(*[(j.tier == tier, float(r)) for tier, r in tier_points_per_cny.items()],
                      else_=float(max(tier_points_per_cny.values())))
    j = j.mutate(rate=rate, paid=j.net - j.redeemed.fill_null(0) * point_value_cny)
    j = j.mutate(allowed=(j.paid * j.rate).floor())
    j = j.filter(j.points > j.allowed + tolerance_points)
    return cases(j, "points_above_tier", case_key=text(j.entry_id), event_date=j.entry_date, store_id=j.store_id,
                 ticket_id=j.ticket_id, member_id=j.member_id, cashier_id=j.cashier_id,
                 amount_at_risk=(j.points - j.allowed) * point_value_cny,
                 evidence=text(j.points, " points on ", j.paid.round(2), " paid; tier ", j.tier.fill_null("(unseen)"),
                               " earns ", j.rate, " per CNY: ", j.allowed, " allowed"))
