"""Scoring risk cases against the simulator's planted irregularities (``truth.irregularities``).

Only the oracle may read the truth; no business role can. A case matches a planted one by the natural key
of its kind: the ticket for ticket kinds, the day + location + SKU for a stocktake shortfall. Checks with
no planted counterpart are counted but not scored.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["PLANTED_KIND", "keys", "score"]

# check -> the kind of truth.irregularities it should find
PLANTED_KIND = {
    "discount_beyond_policy": "discount_beyond_policy",
    "points_abuse": "points_abuse",
    "exchange_other_style": "exchange_other_style",
    "return_without_sale": "return_without_sale",
    "unpaid_sale": "unpaid_sale",
    "consignment_shortfall": "consignment_shortfall",
}
_BY_PLACE = ("event_date", "store_id", "sku_id")


def keys(frame: pd.DataFrame, kind: str) -> set:
    """The natural keys of cases (or planted rows) of ``kind``."""
    if kind == "consignment_shortfall":
        return {(pd.Timestamp(d).date(), int(s), int(k)) for d, s, k in frame[list(_BY_PLACE)].itertuples(index=False)}
    return {int(t) for t in frame["ticket_id"].dropna()}


def score(results: dict[str, pd.DataFrame], truth: pd.DataFrame) -> pd.DataFrame:
    """One row per check (and ``all`` over the scored ones): cases, planted, found, precision, recall.

    ``truth``: the rows of ``truth.irregularities`` in the period the checks ran over. Precision and recall
    are NaN for a check with no planted counterpart; ``all`` pools the scored checks' keys."""
    rows, pooled = [], {"found": set(), "planted": set()}
    for check, frame in results.items():
        kind = PLANTED_KIND.get(check)
        found = keys(frame, kind or check) if kind else set()
        planted = keys(truth[truth["kind"] == kind], kind) if kind else set()
        hit = found & planted
        rows.append({"check": check, "cases": len(frame), "keys": len(found) if kind else None,
                     "planted": len(planted) if kind else None, "matched": len(hit) if kind else None,
                     "precision": _share(len(hit), len(found)) if kind else math.nan,
                     "recall": _share(len(hit), len(planted)) if kind else math.nan})
        if kind:
            pooled["found"] |= {(kind, k) for k in found}
            pooled["planted"] |= {(kind, k) for k in planted}
    hit = pooled["found"] & pooled["planted"]
    rows.append({"check": "all", "cases": sum(len(f) for f in results.values()), "keys": len(pooled["found"]),
                 "planted": len(pooled["planted"]), "matched": len(hit),
                 "precision": _share(len(hit), len(pooled["found"])),
                 "recall": _share(len(hit), len(pooled["planted"]))})
    return pd.DataFrame(rows)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0  # nothing to find and nothing found: perfect, not undefined
