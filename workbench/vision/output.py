"""Inspection results through the governed door: ``raw.return_inspections`` (智能返货检查结果).

:func:`inspection_row` turns a verdict into the table's row (pure); :func:`write_inspections` writes a
batch as the session's user (the DC's ``warehouse`` role or an inspection station's ``device`` role: the
grants are in access.yaml), replacing the batch's rows, so a retried write never double-counts; the door
audits it. :func:`b_goods_events` gives the B-goods and rejected rows in ``core.b_goods``'s columns, the
events the B-goods markdown (workbench.finance.b_goods) ages stock by.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import pandas as pd

from workbench.vision.inspection import Inspection

__all__ = ["TABLE", "inspection_row", "write_inspections", "b_goods_events", "sku_of"]

TABLE = "raw.return_inspections"


def inspection_row(result: Inspection, *, store_id: int, sku_id: int, photo_ref: str | None = None,
                   inspected_at: dt.datetime | None = None) -> dict[str, Any]:
    """One row of :data:`TABLE` for a verdict (``batch_id`` and ``inspection_no`` are set when written)."""
    return {
        "inspected_at": inspected_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "store_id": int(store_id), "sku_id": int(sku_id), "decision": result.decision,
        "defect_type": result.defects[0] if result.defects else None,
        "defects": ",".join(result.defects) or None,
        "stain_score": result.scores["stain"], "hole_score": result.scores["hole"],
        "missing_accessory_score": result.scores["missing_accessory"],
        "reason": result.reason, "photo_ref": photo_ref, "alignment": result.alignment,
    }


def write_inspections(session, rows: Sequence[dict[str, Any]]) -> int:
    """Write the batch (the session's run id) through the door; rows written."""
    from workbench.devices.stocktake import contract_rows

    if not rows:
        raise ValueError("no inspections to write")
    frame = pd.DataFrame(list(rows)).assign(batch_id=session.run_id, inspection_no=range(1, len(rows) + 1))
    data = contract_rows(TABLE, frame)
    return session.write(TABLE, data, mode="replace_where", where={"batch_id": session.run_id})


def b_goods_events(inspections: pd.DataFrame) -> pd.DataFrame:
    """The B-goods and rejected units as ``core.b_goods`` flag events (one unit each, source customer_return)."""
    flagged = inspections[inspections["decision"].isin(["b_goods", "reject"])]
    return pd.DataFrame({
        "sku_id": flagged["sku_id"].astype("int32"), "store_id": flagged["store_id"].astype("int32"),
        "flagged_date": pd.to_datetime(flagged["inspected_at"]).dt.date, "qty": 1,
        "defect_type": flagged["defect_type"], "source": "customer_return",
    }).reset_index(drop=True)


def sku_of(session, sku_code: str) -> int:
    """The SKU's id from its code, read through the door; a clear error for an unknown code."""
    products = session.table("products")
    found = products.filter(products.sku_code == sku_code).sku_id.to_pandas()
    if found.empty:
        raise KeyError(f"unknown SKU {sku_code!r}: not in core.products")
    return int(found.iloc[0])
