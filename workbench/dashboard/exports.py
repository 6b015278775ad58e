"""Export any dashboard table to CSV or Excel, up to a configured number of rows.

CSV is written as UTF-8 with a byte-order mark, so that Excel on a Chinese
Windows opens 大区 and 门店 names correctly instead of guessing GBK. A table
over the limit (``dashboard.export_max_rows``) is refused with what to do:
a browser tab building a multi-million-row workbook helps nobody and holds
the server's memory while it does.
"""

from __future__ import annotations

import io

import pandas as pd

from workbench.dashboard.settings import dashboard_settings
from workbench.dashboard.state import ExportTooLarge

FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


def export(table: pd.DataFrame, fmt: str, max_rows: int | None = None, sheet: str = "data") -> bytes:
    """``table`` as CSV or Excel (``fmt``: ``csv`` | ``xlsx``; ``excel`` is taken for ``xlsx``) bytes.

    ``max_rows`` defaults to ``dashboard.export_max_rows`` of the settings.
    """
    fmt = "xlsx" if fmt == "excel" else fmt
    if max_rows is None:
        max_rows = dashboard_settings().export_max_rows
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose csv or xlsx")
    limit = min(max_rows, EXCEL_MAX_ROWS) if fmt == "xlsx" else max_rows
    if len(table) > limit:
        raise ExportTooLarge(
            f"This table has {len(table):,} rows; exports stop at {limit:,}. Narrow the selection "
            "(a shorter period, a coarser time grain, fewer stores or a filter) and export again.")
    if fmt == "csv":
        return table.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    table.to_excel(buffer, index=False, sheet_name=sheet[:31], engine="openpyxl")
    return buffer.getvalue()
