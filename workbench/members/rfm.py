"""RFM scores and segments (RFM 客户分群) at any as-of date, computed in the engine.

    import workbench as wb
    from workbench.members.rfm import member_rfm, segment_counts
    with wb.session("u_region_east") as s:
        rfm = member_rfm(s, "2025-12-31")         # ibis: member_id, recency_days, frequency, monetary, scores, segment
        segment_counts(rfm).to_pandas()

From the members' purchase days (:func:`workbench.members.summary.purchase_days`: a day with a sale on the
card is one purchase) in the ``window_days`` before the as-of date (default a year, ``members.rfm`` in
``workbench.yaml``):

- **R** recency: days since the last purchase; **F** frequency: purchase days; **M** monetary: net spend.
- Each is scored 1-5 by quintile (``percent_rank`` over the members in the reader's view; ties share a score,
  so when most members bought once they all get F = 1). 5 is best: most recent, most frequent, highest spend.
- **FM** = the mean of F and M rounded half up: how valuable the member has been.

The segment is a fixed grid over R × FM (every cell named once, so every member has exactly one):

======  =================  ==================  ==================  ================  ================
R \\ FM  1                  2                   3                   4                 5
======  =================  ==================  ==================  ================  ================
5       New                Potential loyalist  Potential loyalist  Champions         Champions
4       Promising          Potential loyalist  Loyal               Loyal             Champions
3       About to sleep     About to sleep      Need attention      Loyal             Loyal
2       Hibernating        Hibernating         At risk             At risk           Can't lose them
1       Lost               Lost                At risk             Can't lose them   Can't lose them
======  =================  ==================  ==================  ================  ================

Chinese names (``segment_zh``), as the operations team (客户运营部) says them: Champions 重要价值客户,
Loyal 忠诚客户, Potential loyalist 潜力客户, New 新客户, Promising 有潜力新客, Need attention 需关注客户,
About to sleep 即将沉睡客户, At risk 重要保持客户 (valuable, slipping away), Can't lose them 重要挽留客户
(the most valuable, nearly gone), Hibernating 沉睡客户, Lost 流失客户.

``value_class`` is the eight-way classification Chinese CRM teams also use (R, F, M each high when its score
is at least 3): 重要价值客户 (R F M high), 重要发展客户 (R M high, F low), 重要保持客户 (F M high, R low),
重要挽留客户 (M high only), and the 一般 (ordinary) counterparts with M low.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from workbench.members.conf import settings_from
from workbench.members.summary import chain_purchase_days, checked_as_of

__all__ = ["SEGMENTS", "SEGMENT_ZH", "RfmSettings", "load_rfm_settings", "rfm_scores", "member_rfm",
           "segment_counts", "segment_of"]

# R score -> the segment of FM scores 1..5 (the grid in the module docstring)
GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Loyal", "Loyal", "Champions"),
    3: ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Lost", "At risk", "Can't lose them", "Can't lose them"),
}
SEGMENT_ZH = {
    "Champions": "重要价值客户", "Loyal": "忠诚客户", "Potential loyalist": "潜力客户", "New": "新客户",
    "Promising": "有潜力新客", "Need attention": "需关注客户", "About to sleep": "即将沉睡客户",
    "At risk": "重要保持客户", "Can't lose them": "重要挽留客户", "Hibernating": "沉睡客户", "Lost": "流失客户",
}
SEGMENTS = tuple(SEGMENT_ZH)
VALUE_CLASS = {  # (R high, F high, M high) -> 八类客户
    (True, True, True): "重要价值客户", (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户", (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户", (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户", (False, False, False): "一般挽留客户",
}


@dataclass(frozen=True)
class RfmSettings:
    window_days: int = 365  # purchases counted for R, F and M: the year before the as-of date
    high_score: int = 3     # a score at least this is "high" in the eight-way value class


def load_rfm_settings() -> RfmSettings:
    """``members.rfm`` of the settings file."""
    return settings_from(RfmSettings, "rfm")


def segment_of(r: int, fm: int) -> str:
    """The named segment of an R score and an FM score (both 1-5)."""
    return GRID[r][fm - 1]


def _quintile(order: ir.Value) -> ir.IntegerValue:
    """1..5 by percent rank over all rows (ascending ``order``: higher is better); ties share a score."""
    rank = ibis.percent_rank().over(order_by=order)
    return ibis.least((rank * 5).floor().cast("int64") + 1, 5)


def rfm_scores(days: ir.Table, as_of: dt.date, settings: RfmSettings = RfmSettings()) -> ir.Table:
    """Per member with a purchase in the window: R, F, M values, their 1-5 scores, FM, segment and value class."""
    start = as_of - dt.timedelta(days=settings.window_days - 1)
    d = days.filter(days.day.between(start, as_of))
    m = d.group_by("member_id").aggregate(last_purchase=d.day.max(), frequency=d.day.count(),
                                          monetary=d.amount.sum())
    m = m.mutate(recency_days=ibis.literal(as_of, type="date").delta(m.last_purchase, unit="day"))
    m = m.mutate(r_score=_quintile(m.last_purchase), f_score=_quintile(m.frequency), m_score=_quintile(m.monetary))
    m = m.mutate(fm_score=((m.f_score + m.m_score + 1) / 2).floor().cast("int64"))
    segment = ibis.cases(*[((m.r_score == r) & (m.fm_score == fm + 1), name)
                           for r, row in GRID.items() for fm, name in enumerate(row)])
    m = m.mutate(segment=segment)
    high = settings.high_score
    value_class = ibis.cases(*[(((m.r_score >= high) == r) & ((m.f_score >= high) == f) & ((m.m_score >= high) == mm),
                                label) for (r, f, mm), label in VALUE_CLASS.items()])
    return m.mutate(segment_zh=m.segment.substitute(SEGMENT_ZH), value_class=value_class,
                    rfm=m.r_score.cast("string") + m.f_score.cast("string") + m.m_score.cast("string"))


def member_rfm(session: Any, as_of: Any, settings: RfmSettings | None = None) -> ir.Table:
    """RFM segments of the members the session's user may read, at ``as_of`` (an ibis table)."""
    settings = settings or load_rfm_settings()
    days = chain_purchase_days(session)
    day, _ = checked_as_of(days, as_of)
    return rfm_scores(days, day, settings)


def segment_counts(rfm: ir.Table) -> ir.Table:
    """Members, spend and mean recency per segment, largest segment first."""
    g = rfm.group_by("segment", "segment_zh").aggregate(
        members=rfm.member_id.count(), monetary=rfm.monetary.sum(), mean_recency_days=rfm.recency_days.mean())
    return g.order_by(ibis.desc("members"))
