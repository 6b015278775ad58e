"""Scale readings (电子秤称重) written through the governed door: a parcel's weight check (包裹称重核对) or
weighed goods, each a stable net weight with the expected weight and tolerance when there is one.

:func:`check_weight` and :func:`reading_row` are pure; :func:`weigh` asks the scale, :func:`write_readings`
writes ``raw.scale_readings`` as the store's ``device`` user (a session's readings replaced whole if written again).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from workbench.devices.scale import Scale, Weight
from workbench.devices.stocktake import contract_rows, store_of

__all__ = ["PURPOSES", "check_weight", "reading_row", "weigh", "write_readings"]

PURPOSES = ("parcel_check", "weighed_goods", "other")


def check_weight(weight: float, expected: float | None, tolerance: float | None) -> bool | None:
    """Whether ``weight`` is within ``tolerance`` of ``expected``; None when nothing is expected."""
    if expected is None:
        return None
    return abs(weight - expected) <= (tolerance or 0.0)


def reading_row(no: int, weight: Weight, purpose: str = "other", reference: str | None = None,
                expected: float | None = None, tolerance: float | None = None,
                read_at: dt.datetime | None = None) -> dict:
    """One ``raw.scale_readings`` row (without the session's columns)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    return {"reading_no": no, "read_at": read_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
            "purpose": purpose, "reference": reference, "weight": weight.value, "unit": weight.unit,
            "expected_weight": expected, "tolerance": tolerance,
            "within_tolerance": check_weight(weight.value, expected, tolerance)}


def weigh(scale: Scale, no: int, **row) -> dict:
    """A stable weight from the scale as a reading row (``row``: purpose, reference, expected, tolerance)."""
    return reading_row(no, scale.stable_weight(), **row)


def write_readings(session, store_code: str, rows: list[dict], scale_serial: str | None = None) -> int:
    """Write the session's readings for ``store_code``; returns rows written."""
    frame = pd.DataFrame(rows).assign(session_id=session.run_id, store_id=store_of(session, store_code),
                                      scale_serial=scale_serial)
    data = contract_rows("raw.scale_readings", frame)
    return session.write("raw.scale_readings", data, mode="replace_where", where={"session_id": session.run_id})
