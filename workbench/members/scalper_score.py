"""Scalper cases scored against the simulator's planted ``scalping`` cases (黄牛识别的准确率与召回率).

A planted case is one member sweeping a limited SKC from several stores of a city on one day
(``truth.irregularities``, kind ``scalping``: one row per ticket, readable by the oracle role only); it is
keyed by member and day. A detected case is **right** when one of its evidence tickets is a planted ticket;
a planted case is **found** when one of its tickets is in a detected case. Per rule and pooled over the rules
that look for scalping (``multi_store`` and ``repeat``; ``ineligible`` is a policy, not a detector, and is
scored apart):

    precision = right cases / detected cases,   recall = found planted cases / planted cases
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["SCALPING_RULES", "planted_cases", "score_cases"]

SCALPING_RULES = ("multi_store", "repeat")


def planted_cases(truth: pd.DataFrame, start: dt.date, end: dt.date) -> dict[tuple[int, dt.date], set[int]]:
    """Planted scalping cases in start..end: (member_id, day) → their ticket ids."""
    t = truth[(truth["kind"] == "scalping")]
    days = pd.to_datetime(t["event_date"]).dt.date
    t = t[(days >= start) & (days <= end)].assign(day=days)
    return {(int(m), d): set(int(x) for x in g["ticket_id"]) for (m, d), g in t.groupby(["member_id", "day"])}


def _tickets(cases: pd.DataFrame) -> list[set[int]]:
    return [{int(x) for x in str(ids).split(", ") if x} for ids in cases["ticket_ids"]]


def _score(cases: pd.DataFrame, planted: dict[tuple[int, dt.date], set[int]]) -> dict[str, float]:
    planted_tickets = set().union(*planted.values()) if planted else set()
    found_tickets = set().union(*_tickets(cases)) if len(cases) else set()
    right = sum(1 for t in _tickets(cases) if t & planted_tickets)
    found = sum(1 for t in planted.values() if t & found_tickets)
    return {"cases": len(cases), "right": right, "planted": len(planted), "found": found,
            "precision": right / len(cases) if len(cases) else 1.0,
            "recall": found / len(planted) if planted else 1.0}


def score_cases(cases: pd.DataFrame, truth: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per scalping rule (and any other rule present), then ``scalping`` (the scalping rules pooled): cases, right, planted, found,
    precision, recall."""
    planted = planted_cases(truth, start, end)
    rows = [{"rule": rule, **_score(cases[cases["rule"] == rule], planted)} for rule in sorted(set(cases["rule"]) | set(SCALPING_RULES))]
    rows.append({"rule": "scalping", **_score(cases[cases["rule"].isin(SCALPING_RULES)], planted)})
    return pd.DataFrame(rows)
