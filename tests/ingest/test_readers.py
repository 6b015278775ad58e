"""Readers: every format and encoding comes in as the same text table; unusable files fail in one line."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.ingest.errors import IngestError
from workbench.ingest.readers import detect_encoding, read_file

from .synth import POS_HEADERS_ZH, pos_export, write_csv, write_parquet, write_xlsx


@pytest.fixture(scope="module")
def export():
    return pos_export(60)


def _as_rows(raw) -> list[list]:
    return [list(r.values()) for r in raw.table.to_pylist()]


@pytest.mark.parametrize("encoding, detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("utf-16", "utf-16")])
def test_csv_encodings_are_detected_and_read_alike(tmp_path, export, encoding, detected):
    path = write_csv(tmp_path / "pos.csv", export.rows, encoding=encoding, headers=POS_HEADERS_ZH)
    raw = read_file(path)
    assert raw.encoding == detected
    assert raw.headers == list(POS_HEADERS_ZH.values())  # the BOM is not part of the first header
    assert raw.table.num_rows == len(export.rows)
    assert _as_rows(raw) == [list(r.values()) for r in export.rows]  # Chinese cashier names survive
    assert raw.source_row.tolist() == [i + 2 for i in range(len(export.rows))]


def test_gb18030_is_told_apart_from_utf8_even_when_the_first_bytes_are_ascii(tmp_path):
    lines = ["store_code,visitors,traffic_date"] + [f"S001,{i},2024-03-01" for i in range(5000)] + ["S001,1,2024-03-02,"]
    text = "\n".join(lines[:-1]) + "\n" + "S002,7,2024-03-03\n"
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("ascii") + "门店,1,2024-03-04\n".encode("gb18030"))
    assert detect_encoding(path) == "gb18030"


def test_a_file_that_is_neither_utf8_nor_gb18030_is_refused_in_one_line(tmp_path):
    path = tmp_path / "weird.csv"
    path.write_bytes(b"a,b\n1,\xff\xfe\xff\n")
    with pytest.raises(IngestError) as err:
        read_file(path)
    assert "unknown text encoding" in str(err.value) and "re-export it as UTF-8" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"is empty \(0 bytes\)"),
        ("小票号,行号\n".encode("utf-8"), "has a header but no data rows"),
        (b"\n\n\n", "has no text"),
        (b"\x00\x01\x02binary", "looks binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old binary Excel file"),
        (b"PK\x03\x04garbage", "not a readable .xlsx workbook"),
        (b"PAR1garbage", "not a readable Parquet file"),
    ],
)
def test_unusable_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as err:
        read_file(path)
    assert "\n" not in str(err.value)


def test_a_folder_or_missing_file_is_refused(tmp_path):
    with pytest.raises(IngestError, match="is a folder"):
        read_file(tmp_path)
    with pytest.raises(IngestError, match="cannot read"):
        read_file(tmp_path / "nope.csv")


def test_lines_with_the_wrong_number_of_fields_are_kept_as_rejected_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('a,b,c\n1,2,3\n\n4,5\n6,7,8,9\n"x\ny",1,2\n,,\n10,11,12\n', encoding="utf-8")
    raw = read_file(path)
    assert raw.table.to_pydict() == {"c0": ["1", "x\ny", "10"], "c1": ["2", "1", "11"], "c2": ["3", "2", "12"]}
    # Row numbers as a spreadsheet shows them; blank lines are not rows, ",," is a blank row.
    assert raw.source_row.tolist() == [2, 5, 7]
    assert [(r.source_row, r.text) for r in raw.rejected] == [(3, "4,5"), (4, "6,7,8,9")]
    assert raw.rejected[0].reason == "row has 2 fields, the header has 3"
    assert raw.rows_read == 5


def test_tab_and_semicolon_delimited_exports_are_recognised(tmp_path, export):
    for delimiter in ("\t", ";"):
        raw = read_file(write_csv(tmp_path / "pos.txt", export.rows, headers=POS_HEADERS_ZH, delimiter=delimiter))
        assert raw.headers == list(POS_HEADERS_ZH.values())
        assert _as_rows(raw) == [list(r.values()) for r in export.rows]


def test_excel_cells_become_the_text_a_user_would_type(tmp_path, export):
    raw = read_file(write_xlsx(tmp_path / "pos.xlsx", export.rows, headers=POS_HEADERS_ZH, title="门店销售明细 2024-03"), is_header=lambda cells: "小票号" in cells)
    assert raw.format == "xlsx"
    assert raw.headers == list(POS_HEADERS_ZH.values())
    first = raw.table.slice(0, 1).to_pylist()[0]
    row = export.rows[0]
    assert first["c1"] == row["line_no"]  # 1, not 1.0
    assert first["c2"] == row["sale_time"]  # a datetime cell, written back as text
    assert float(first["c6"]) == float(row["unit_price"])
    assert raw.source_row[0] == 3  # title row 1, header row 2


def test_excel_sheet_choice_and_values_beyond_the_header(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "summary"
    sheet = book.create_sheet("lines")
    sheet.append(["date", "store", "visitors"])
    sheet.append([dt.datetime(2024, 3, 1), "S001", 10])
    sheet.append([dt.datetime(2024, 3, 2), "S001", 11, "stray"])
    book.save(tmp_path / "t.xlsx")
    raw = read_file(tmp_path / "t.xlsx", sheet="lines")
    assert raw.table.to_pylist() == [{"c0": "2024-03-01", "c1": "S001", "c2": "10"}]
    assert [r.source_row for r in raw.rejected] == [3]
    with pytest.raises(IngestError, match="no sheet 'other'; sheets: summary, lines"):
        read_file(tmp_path / "t.xlsx", sheet="other")


def test_parquet_typed_columns_come_in_as_text(tmp_path, export):
    raw = read_file(write_parquet(tmp_path / "pos.parquet", export.rows))
    assert raw.format == "parquet"
    assert all(pa.types.is_string(t) for t in raw.table.schema.types)
    first = raw.table.slice(0, 1).to_pylist()[0]
    assert first["c2"].startswith(export.rows[0]["sale_time"])
    assert raw.source_row[0] == 1  # no header row in Parquet


def test_parquet_nested_values_are_kept_as_text(tmp_path):
    pq.write_table(pa.table({"a": [1, 2], "tags": [["x"], ["y", "z"]]}), tmp_path / "n.parquet")
    raw = read_file(tmp_path / "n.parquet")
    assert raw.table.column("c1").to_pylist() == ["['x']", "['y', 'z']"]


def test_the_file_is_not_opened_as_excel_because_of_its_name(tmp_path, export):
    """Exports named .xls that are really CSV are common: the content decides."""
    path = write_csv(tmp_path / "pos.xls", export.rows, headers=POS_HEADERS_ZH)
    assert read_file(path).format == "csv"
    assert zipfile.is_zipfile(write_xlsx(tmp_path / "x.csv", export.rows, headers=POS_HEADERS_ZH))
    assert read_file(tmp_path / "x.csv").format == "xlsx"
    json.dumps(export.rows)  # the fixture itself is plain text


def test_blank_lines_above_the_header_are_skipped_and_not_counted(tmp_path):
    path = tmp_path / "lead.csv"
    path.write_text("\n\na,b\n1,2\n3\n\n4,5\n", encoding="utf-8")
    raw = read_file(path)
    assert raw.headers == ["a", "b"]
    assert raw.table.to_pydict() == {"c0": ["1", "4"], "c1": ["2", "5"]}
    assert raw.source_row.tolist() == [2, 4]
    assert [r.source_row for r in raw.rejected] == [3]
