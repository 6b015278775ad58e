"""Old-customer reactivation (老客激活): sleeping members, call lists per store, opening lines, products.

    import workbench as wb
    from workbench.members.reactivation import call_lists
    with wb.session("u_store_001") as s:
        calls = call_lists(s, "2025-12-31")
        calls.calls                 # one row per call: member (masked), tags, why, opening lines, 3 products
        calls.for_store("S001")     # a store's list, most valuable first
        calls.alerts                # sleeping-member alerts per store (沉睡会员预警)

Who is **sleeping** (``members.reactivation`` in ``workbench.yaml``): no purchase for ``recency_days``, or a
BG/NBD probability of still being a customer (P(alive), fitted on the reader's members at the as-of date)
under ``p_alive_below``; members under ``p_alive_floor`` are taken as gone and left off. A member is a
**new alert** when they are sleeping now and were not ``alert_days`` ago.

Each call carries the member's tags (:mod:`.tags`), RFM segment (:mod:`.rfm`), an opening line in Chinese
and English from the template library (:mod:`.openers`) and ``products`` in-stock suggestions in their size
at their home store (:mod:`.suggestions`). The list per store is ranked by value at stake: spend in the tag
window × P(alive), and cut to ``per_store``.

Names and phones come from ``core.members`` through the caller's session, so they are masked for all but
admin; a member whose card was issued at a store outside a store manager's scope keeps their place on that
store's list without name or phone (the row policy hides the card, and the list does not go around it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from workbench.members.conf import settings_from
from workbench.members.lifetime import LifetimeFitError, fit_bgnbd
from workbench.members.openers import OpenerLibrary, load_openers, opening_line
from workbench.members.rfm import member_rfm
from workbench.members.suggestions import check_skcs, latest_snapshot, stock_candidates, suggest
from workbench.members.summary import MembersError, chain_purchase_days, checked_as_of, purchase_summary
from workbench.members.tags import member_tags

__all__ = ["ReactivationSettings", "load_reactivation_settings", "CallList", "call_lists", "sleeping_members",
           "CALL_COLUMNS"]

PRODUCT_FIELDS = {"code": "skc_code", "name": "name", "category": "category", "size": "size", "price": "full_price"}
CALL_COLUMNS = ("store_code", "store_name", "member_id", "member_name", "phone", "gender", "segment",
                "segment_zh", "recency_days", "p_alive", "new_alert", "reason", "categories", "sizes",
                "price_band", "spend", "value", "opening_zh", "opening_en")


@dataclass(frozen=True)
class ReactivationSettings:
    recency_days: int = 90
    p_alive_below: float = 0.5
    p_alive_floor: float = 0.02
    alert_days: int = 7
    tag_window_days: int = 730
    per_store: int = 30
    products: int = 3
    popularity_days: int = 28


def load_reactivation_settings() -> ReactivationSettings:
    """``members.reactivation`` of the settings file."""
    return settings_from(ReactivationSettings, "reactivation")


@dataclass(frozen=True)
class CallList:
    as_of: dt.date
    stock_as_of: dt.date | None
    calls: pd.DataFrame      # CALL_COLUMNS, then product_{i}_code / _name / _category / _size / _price
    alerts: pd.DataFrame     # per store: sleeping, new_alerts, on_list
    settings: ReactivationSettings

    def for_store(self, store_code: str) -> pd.DataFrame:
        return self.calls[self.calls["store_code"] == store_code].reset_index(drop=True)


def sleeping_members(members: pd.DataFrame, settings: ReactivationSettings) -> pd.DataFrame:
    """Flag ``sleeping``, ``new_alert`` and ``reason`` on members with recency_days, p_alive, p_alive_before."""
    s = settings
    by_recency = members["recency_days"] >= s.recency_days
    by_model = members["p_alive"] < s.p_alive_below
    before = (members["recency_days"] - s.alert_days >= s.recency_days) | (members["p_alive_before"] < s.p_alive_below)
    out = members.assign(sleeping=(by_recency | by_model) & (members["p_alive"] >= s.p_alive_floor))
    out["new_alert"] = out["sleeping"] & ~before
    reasons = np.select([by_recency & by_model, by_recency, by_model],
                        [f"no purchase for {s.recency_days}+ days and P(alive) < {s.p_alive_below}",
                         f"no purchase for {s.recency_days}+ days", f"P(alive) < {s.p_alive_below}"], "")
    return out.assign(reason=reasons)


def _p_alive(summary: pd.DataFrame, alert_days: int) -> pd.DataFrame:
    """P(alive) now and ``alert_days`` ago (same fit: was the member already past the threshold then?)."""
    try:
        params = fit_bgnbd(summary)
    except LifetimeFitError as err:
        raise MembersError(f"P(alive) cannot be estimated on the members you may read: {err}") from None
    earlier = summary.assign(T=np.maximum(summary["T"] - alert_days / 7, summary["recency"]))
    return summary.assign(p_alive=params.p_alive(summary), p_alive_before=params.p_alive(earlier))


def _ranked(members: pd.DataFrame, per_store: int) -> pd.DataFrame:
    m = members[members["sleeping"]].assign(value=lambda f: f["spend"] * f["p_alive"])
    m = m.sort_values(["home_store_id", "value", "member_id"], ascending=[True, False, True])
    return m.groupby("home_store_id", group_keys=False).head(per_store)


def call_lists(session: Any, as_of: Any, products: Iterable[str] | None = None,
               settings: ReactivationSettings | None = None, library: OpenerLibrary | None = None) -> CallList:
    """The call lists of every store the session's user may read, at ``as_of`` (see the module docstring)."""
    settings = settings or load_reactivation_settings()
    library = library or load_openers()
    days = chain_purchase_days(session)
    day, _ = checked_as_of(days, as_of)
    skc_ids = check_skcs(session.table("core.products"), products)
    sales, catalogue = session.table("core.sales"), session.table("core.products")
    tags = member_tags(sales, catalogue, day, settings.tag_window_days).to_pandas()
    summary = _p_alive(purchase_summary(days, day).to_pandas(), settings.alert_days)
    members = tags.merge(summary[["member_id", "p_alive", "p_alive_before"]], on="member_id")
    members["recency_days"] = (pd.Timestamp(day) - pd.to_datetime(members["last_purchase"])).dt.days
    members = sleeping_members(members, settings)
    ranked = _ranked(members, settings.per_store)
    segments = member_rfm(session, day).select("member_id", "segment", "segment_zh").to_pandas()
    ranked = ranked.merge(segments, on="member_id", how="left")
    ranked[["segment", "segment_zh"]] = ranked[["segment", "segment_zh"]].fillna({"segment": "Lost",
                                                                                 "segment_zh": "流失客户"})
    calls, snapshot = _with_products(session, ranked, day, skc_ids, settings)
    calls = _with_people(session, calls)
    for lang in ("zh", "en"):
        calls[f"opening_{lang}"] = [opening_line(row, library, lang) for row in calls.to_dict("records")]
    return CallList(day, snapshot, _ordered(calls, settings.products), _alerts(members, calls, session), settings)


def _with_products(session: Any, ranked: pd.DataFrame, day: dt.date, skc_ids: list[int] | None,
                   settings: ReactivationSettings) -> tuple[pd.DataFrame, dt.date | None]:
    """Add product_{i}_code / _name / _category / _size / _price for the best ``settings.products`` suggestions."""
    inventory, sales = session.table("core.inventory"), session.table("core.sales")
    snapshot = latest_snapshot(inventory, day)
    if snapshot is None or ranked.empty:
        return ranked, snapshot
    stores = sorted(int(s) for s in ranked["home_store_id"].unique())
    candidates = stock_candidates(inventory, session.table("core.products"), sales, snapshot, stores, skc_ids,
                                  settings.popularity_days).to_pandas()
    ids = [int(i) for i in ranked["member_id"]]
    owned = sales.filter(sales.member_id.isin(ids), sales.sale_date <= day)
    bought = owned.select("member_id", "skc_id").distinct().to_pandas()
    picks = suggest(ranked, candidates, bought, settings.products)
    wide = ranked
    for i in range(1, settings.products + 1):
        p = picks[picks["rank"] == i].set_index("member_id")
        wide = wide.join(p[list(PRODUCT_FIELDS.values())].rename(columns={c: f"product_{i}_{k}" for k, c in
                                                                 PRODUCT_FIELDS.items()}), on="member_id")
    return wide, snapshot


def _with_people(session: Any, calls: pd.DataFrame) -> pd.DataFrame:
    """Name, phone and gender as the session shows them; the store's code and name."""
    ids = [int(i) for i in calls["member_id"]]
    people = session.table("core.members")
    people = people.filter(people.member_id.isin(ids)).select("member_id", "member_name", "phone", "gender")
    stores = session.table("core.stores").select("store_id", "store_code", "store_name").to_pandas()
    calls = calls.merge(people.to_pandas(), on="member_id", how="left")
    return calls.merge(stores.rename(columns={"store_id": "home_store_id"}), on="home_store_id", how="left")


def _ordered(calls: pd.DataFrame, n_products: int) -> pd.DataFrame:
    product_cols = [f"product_{i}_{k}" for i in range(1, n_products + 1) for k in PRODUCT_FIELDS]
    for col in (*CALL_COLUMNS, *product_cols):
        if col not in calls.columns:
            calls[col] = None
    calls = calls.sort_values(["store_code", "value", "member_id"], ascending=[True, False, True])
    return calls[[*CALL_COLUMNS, *product_cols]].reset_index(drop=True)


def _alerts(members: pd.DataFrame, calls: pd.DataFrame, session: Any) -> pd.DataFrame:
    """Sleeping-member alerts per home store: sleeping members, new this week, on the call list."""
    g = members.groupby("home_store_id").agg(members=("member_id", "size"), sleeping=("sleeping", "sum"),
                                             new_alerts=("new_alert", "sum"))
    on_list = calls.groupby("store_code").size().rename("on_list")
    stores = session.table("core.stores").select("store_id", "store_code").to_pandas()
    g = g.reset_index().merge(stores.rename(columns={"store_id": "home_store_id"}), on="home_store_id")
    g = g.merge(on_list, left_on="store_code", right_index=True, how="left").fillna({"on_list": 0})
    g[["sleeping", "new_alerts", "on_list"]] = g[["sleeping", "new_alerts", "on_list"]].astype(int)
    return g[["store_code", "members", "sleeping", "new_alerts", "on_list"]].sort_values("store_code",
                                                                                        ignore_index=True)
