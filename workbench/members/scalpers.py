"""Scalper and abuse detection on limited releases (黄牛识别), and purchase eligibility (限量款购买资格).

    import workbench as wb
    from workbench.members.scalpers import scalper_cases, eligible_members
    with wb.session("u_analyst") as s:
        cases = scalper_cases(s, "2025-10-01", "2025-12-31")   # one row per case, with its evidence
        who = eligible_members(s, "2025-12-01").to_pandas()    # who may buy the next limited release

Rules (``members.scalpers`` in ``workbench.yaml``, unknown keys refused) over the sale lines of limited
products (``core.products.is_limited``) that carry a member card, computed in the engine:

- ``multi_store``: one buyer buys a limited product in ``min_stores`` or more stores of one city on one day
  (``same_skc``: the same limited style-colour; else any limited products). A shopper does not cross a city
  three times in a day for one jacket; a scalper sweeping the stores does.
- ``repeat``: one buyer takes more than ``repeat_max_units`` units of one limited SKC within
  ``repeat_window_days`` days (a purchase limit, 限购).
- ``ineligible`` (only when ``check_eligibility``): a limited purchase by a member who was not eligible on
  the first day of its month (below).

The **buyer** is the member card (``identity: member``) or the card's phone number (``identity: phone``:
several cards on one phone are one buyer). Phones are personal data, masked for all but admin, and masked
phones cannot tell people apart, so ``phone`` needs a session that sees them in clear. The warehouse holds
no payment token (``core.payments`` has the method only), so payment identity is not available.

**Eligibility** at a date: spending at least ``eligibility_min_spend`` in each of the ``eligibility_months``
whole months before it, across at least ``eligibility_min_categories`` categories over those months.

Each case carries its evidence: the tickets, stores, times, units and amounts, as a sentence and as
``ticket_ids``. :func:`score_cases` compares cases with the simulator's planted ``scalping`` cases
(``truth.irregularities``, readable by the oracle only) by ticket.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from workbench.members.conf import settings_from
from workbench.members.pairing import ticket_span
from workbench.members.summary import MembersError, member_day

__all__ = ["ScalperSettings", "load_scalper_settings", "limited_lines", "multi_store_groups", "repeat_groups",
           "eligible_members", "ineligible_groups", "scalper_cases", "case_frame", "CASE_COLUMNS", "RULES"]

RULES = ("multi_store", "repeat", "ineligible")
CASE_COLUMNS = ("rule", "case_key", "buyer", "member_ids", "event_date", "last_date", "city", "skc_code", "stores",
                "tickets", "units", "amount", "ticket_ids", "evidence")
GROUP_COLUMNS = ("rule", "buyer", "skc_id", "city", "first_day", "last_day")


@dataclass(frozen=True)
class ScalperSettings:
    identity: str = "member"
    min_stores: int = 2
    same_skc: bool = True
    repeat_max_units: int = 3
    repeat_window_days: int = 30
    check_eligibility: bool = False
    eligibility_months: int = 3
    eligibility_min_spend: float = 500.0
    eligibility_min_categories: int = 3

    def __post_init__(self) -> None:
        if self.identity not in ("member", "phone"):
            raise ValueError(f"members.scalpers.identity is 'member' or 'phone', not {self.identity!r}")


def load_scalper_settings() -> ScalperSettings:
    """``members.scalpers`` of the settings file."""
    return settings_from(ScalperSettings, "scalpers")


def limited_lines(sales: ir.Table, products: ir.Table, stores: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """Member sale lines of limited products in start..end with the store's code and city."""
    s = sales.filter(sales.line_type == "sale", sales.qty > 0, sales.member_id.notnull(),
                     sales.sale_date.between(start, end))
    limited = products.filter(products.is_limited).select("sku_id", "skc_code")
    where = stores.select("store_id", "store_code", "city")
    lines = s.select("ticket_id", "sale_date", "sale_ts", "store_id", "sku_id", "skc_id", "member_id", "qty",
                     "net_amount").join(limited, "sku_id").join(where, "store_id")
    return lines


def with_buyer(lines: ir.Table, members: ir.Table, identity: str) -> ir.Table:
    """Add ``buyer``: the member card, or its phone number (``identity: phone``)."""
    if identity == "member":
        return lines.mutate(buyer=lines.member_id.cast("string"))
    phones = members.select("member_id", "phone")
    joined = lines.left_join(phones, "member_id").drop("member_id_right")
    return joined.mutate(buyer=ibis.coalesce(joined.phone, joined.member_id.cast("string"))).drop("phone")


def _groups(t: ir.Table, rule: str, skc: ir.Value, city: ir.Value, first: ir.Value, last: ir.Value) -> ir.Table:
    null_int, null_str = ibis.null().cast("int32"), ibis.null().cast("string")
    return t.select(rule=ibis.literal(rule), buyer=t.buyer, skc_id=null_int if skc is None else skc.cast("int32"),
                    city=null_str if city is None else city, first_day=first, last_day=last)


def multi_store_groups(lines: ir.Table, settings: ScalperSettings) -> ir.Table:
    """Buyer × day × city (× SKC) with limited purchases in ``min_stores`` or more stores."""
    keys = ["buyer", "sale_date", "city", *(["skc_id"] if settings.same_skc else [])]
    g = lines.group_by(keys).aggregate(stores=lines.store_id.nunique())
    g = g.filter(g.stores >= settings.min_stores)
    return _groups(g, "multi_store", g.skc_id if settings.same_skc else None, g.city, g.sale_date, g.sale_date)


def repeat_groups(lines: ir.Table, settings: ScalperSettings) -> ir.Table:
    """Buyer × limited SKC with more than ``repeat_max_units`` units within ``repeat_window_days``: the first
    such window (from the first day of it)."""
    days = lines.group_by("buyer", "skc_id", "sale_date").aggregate(units=lines.qty.sum())
    anchor = days.select(a_buyer="buyer", a_skc="skc_id", anchor="sale_date")
    span = settings.repeat_window_days - 1
    pairs = anchor.join(days, [anchor.a_buyer == days.buyer, anchor.a_skc == days.skc_id,
                               days.sale_date >= anchor.anchor,
                               days.sale_date <= anchor.anchor + ibis.interval(days=span)])
    windows = pairs.group_by("a_buyer", "a_skc", "anchor").aggregate(units=pairs.units.sum())
    over = windows.filter(windows.units > settings.repeat_max_units)
    first = over.group_by("a_buyer", "a_skc").aggregate(first_day=over.anchor.min())
    first = first.mutate(buyer=first.a_buyer)
    return _groups(first, "repeat", first.a_skc, None, first.first_day,
                   first.first_day + ibis.interval(days=span))


def _month_start(day: ir.DateValue) -> ir.DateValue:
    return day.truncate("M")


def eligible_members(session: Any, on: Any, settings: ScalperSettings | None = None) -> ir.Table:
    """Members eligible for a limited release on ``on`` (module docstring) through the session."""
    settings = settings or load_scalper_settings()
    day = member_day(on)
    return eligibility(session.table("core.sales"), session.table("core.products"), settings,
                       ibis.memtable({"month": [day.replace(day=1)]}, schema={"month": "date"}))


def eligibility(sales: ir.Table, products: ir.Table, settings: ScalperSettings, months: ir.Table) -> ir.Table:
    """Per ``month`` of ``months`` (first days) and member: qualifying months, categories, ``eligible``."""
    n = settings.eligibility_months
    s = sales.filter(sales.line_type == "sale", sales.qty > 0, sales.member_id.notnull())
    lines = s.select("member_id", "sku_id", "net_amount", bought=_month_start(s.sale_date))
    lines = lines.join(products.select("sku_id", "category"), "sku_id")
    lines = lines.join(months, [lines.bought < months.month, lines.bought >= months.month - ibis.interval(months=n)])
    per_month = lines.group_by("month", "member_id", "bought").aggregate(spend=lines.net_amount.sum())
    qualified = per_month.filter(per_month.spend >= settings.eligibility_min_spend)
    qualified = qualified.group_by("month", "member_id").aggregate(months_qualified=qualified.bought.nunique())
    cats = lines.group_by("month", "member_id").aggregate(categories=lines.category.nunique())
    out = cats.left_join(qualified, ["month", "member_id"]).select(
        "month", "member_id", "categories", months_qualified=ibis.coalesce(qualified.months_qualified, 0))
    return out.mutate(eligible=(out.months_qualified >= n) & (out.categories >= settings.eligibility_min_categories))


def ineligible_groups(lines: ir.Table, sales: ir.Table, products: ir.Table, settings: ScalperSettings) -> ir.Table:
    """Limited purchases (buyer × day × SKC) by members not eligible on the first day of that month."""
    bought = lines.mutate(month=_month_start(lines.sale_date))
    months = bought.select("month").distinct()
    ok = eligibility(sales, products, settings, months).filter(lambda t: t.eligible)
    ok = ok.select("month", "member_id", ok_flag=ibis.literal(True))
    flagged = bought.left_join(ok, ["month", "member_id"])
    flagged = flagged.filter(flagged.ok_flag.isnull()).select("buyer", "skc_id", "sale_date").distinct()
    return _groups(flagged, "ineligible", flagged.skc_id, None, flagged.sale_date, flagged.sale_date)


def case_lines(lines: ir.Table, groups: ir.Table) -> ir.Table:
    """The lines behind each case group (its buyer, days, and SKC or city where the rule fixes them)."""
    g = groups.rename(g_buyer="buyer", g_skc="skc_id", g_city="city")
    joined = lines.join(g, [lines.buyer == g.g_buyer, lines.sale_date >= g.first_day, lines.sale_date <= g.last_day,
                            g.g_skc.isnull() | (g.g_skc == lines.skc_id), g.g_city.isnull() | (g.g_city == lines.city)])
    return joined.select("rule", "buyer", "first_day", "last_day", "g_skc", "g_city", "ticket_id", "sale_date",
                         "sale_ts", "store_code", "city", "member_id", "skc_code", "qty", "net_amount")


def case_frame(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per case (:data:`CASE_COLUMNS`) from its lines (:func:`case_lines`), with the evidence in words."""
    if evidence.empty:
        return pd.DataFrame(columns=list(CASE_COLUMNS))
    e = evidence.sort_values(["rule", "buyer", "first_day", "sale_ts", "ticket_id"])
    e = e.assign(line=[f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} {store} ticket {t}: {q} × {code} ({amount:.0f} CNY)"
                       for ts, store, t, q, code, amount in zip(e["sale_ts"], e["store_code"], e["ticket_id"],
                                                                 e["qty"], e["skc_code"], e["net_amount"])])
    keys = ["rule", "buyer", "first_day", "last_day", "g_skc", "g_city"]
    rows = []
    for key, lines in e.groupby(keys, dropna=False, sort=False):
        rows.append(_case(dict(zip(keys, key)), lines))
    return pd.DataFrame(rows, columns=list(CASE_COLUMNS)).sort_values(["rule", "event_date", "buyer"],
                                                                       ignore_index=True)


def _case(key: dict, lines: pd.DataFrame) -> dict:
    first = pd.Timestamp(lines["sale_date"].min()).date()
    stores = lines["store_code"].nunique()
    codes = ", ".join(sorted(lines["skc_code"].unique()))
    head = {"multi_store": f"bought {codes} in {stores} stores of {lines['city'].iloc[0]} on {first}",
            "repeat": f"bought {int(lines['qty'].sum())} units of {codes} within {lines['sale_date'].nunique()} "
                      f"day(s)",
            "ineligible": f"bought {codes} without eligibility on {first}"}[key["rule"]]
    members = ", ".join(str(m) for m in sorted(lines["member_id"].unique()))
    return {"rule": key["rule"], "case_key": f"{key['rule']}/{members}/{first}/{codes}",
            "buyer": key["buyer"], "member_ids": members,
            "event_date": first, "last_date": pd.Timestamp(lines["sale_date"].max()).date(),
            "city": lines["city"].iloc[0] if lines["city"].nunique() == 1 else None,
            "skc_code": codes, "stores": stores, "tickets": lines["ticket_id"].nunique(),
            "units": int(lines["qty"].sum()), "amount": round(float(lines["net_amount"].sum()), 2),
            "ticket_ids": ", ".join(str(t) for t in lines["ticket_id"].unique()),
            "evidence": head + ": " + "; ".join(lines["line"])}


def scalper_cases(session: Any, start: Any, end: Any, settings: ScalperSettings | None = None) -> pd.DataFrame:
    """Every rule's cases over start..end through the session, with their evidence (:data:`CASE_COLUMNS`)."""
    settings = settings or load_scalper_settings()
    first, last = member_day(start), member_day(end)
    if last < first:
        raise MembersError(f"the period ends ({last}) before it starts ({first})")
    sales, products = session.table("core.sales"), session.table("core.products")
    lo, hi = ticket_span(sales)
    if last < lo or first > hi:
        raise MembersError(f"no tickets between {first} and {last} (the tickets run from {lo} to {hi}): "
                           "choose a period that overlaps them")
    members = session.table("core.members")
    if settings.identity == "phone":
        _require_clear_phones(members)
    lines = with_buyer(limited_lines(sales, products, session.table("core.stores"), first, last), members,
                       settings.identity)
    groups = multi_store_groups(lines, settings).union(repeat_groups(lines, settings))
    if settings.check_eligibility:
        groups = groups.union(ineligible_groups(lines, sales, products, settings))
    return case_frame(case_lines(lines, groups).to_pandas())


def _require_clear_phones(members: ir.Table) -> None:
    sample = members.select("phone").limit(20).to_pandas()["phone"].dropna()
    if sample.str.contains(r"\*").any():
        raise MembersError("identity: phone needs phone numbers in clear, and your role sees them masked (masked "
                           "phones cannot tell people apart): use identity: member, or an admin session")
