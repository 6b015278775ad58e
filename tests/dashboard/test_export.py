"""CSV and Excel exports round-trip; a table over the limit is refused with what to do."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from workbench.dashboard.exports import export
from workbench.dashboard.state import ExportTooLarge

TABLE = pd.DataFrame({
    "region": ["East", "华东", "(none)"],
    "week": pd.to_datetime(["2025-12-01", "2025-12-08", "2025-12-15"]),
    "net_sales": [1234.5, 0.0, -12.25],
    "units": [3, 0, -1],
})


def test_csv_round_trips_with_chinese_text():
    data = export(TABLE, "csv")
    assert data.startswith("\ufeff".encode("utf-8"))  # Excel reads the BOM as UTF-8
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", parse_dates=["week"])
    pd.testing.assert_frame_equal(back, TABLE)


@pytest.mark.parametrize("fmt", ["xlsx", "excel"])
def test_excel_round_trips(fmt):
    back = pd.read_excel(io.BytesIO(export(TABLE, fmt, sheet="operations")), sheet_name="operations")
    pd.testing.assert_frame_equal(back, TABLE, check_dtype=False)
    assert back["week"].iloc[0] == dt.datetime(2025, 12, 1)


def test_a_table_over_the_limit_is_refused_with_a_message():
    big = pd.DataFrame({"x": range(11)})
    with pytest.raises(ExportTooLarge, match="11 rows; exports stop at 10. Narrow the selection"):
        export(big, "csv", max_rows=10)
    assert len(export(big, "csv", max_rows=11).splitlines()) == 12


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="choose csv or xlsx"):
        export(TABLE, "pdf")


def test_the_limit_defaults_to_the_settings(monkeypatch, tmp_path):
    config = tmp_path / "workbench.yaml"
    config.write_text("dashboard:\n  export_max_rows: 2\n", encoding="utf-8")
    monkeypatch.setenv("WB_CONFIG", str(config))
    with pytest.raises(ExportTooLarge, match="exports stop at 2"):
        export(TABLE, "xlsx")
