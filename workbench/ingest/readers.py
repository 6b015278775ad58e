"""Read CSV, Excel and Parquet exports into an all-text Arrow table.

Everything is read as text first so that one bad cell (``'abc'`` in a
quantity column) never kills the file: typing happens per column later,
where a failure is a quarantined row with a reason, not a crash.

CSV encodings are detected, not configured: Chinese POS systems write UTF-8,
UTF-8 with a BOM or GB18030 (a superset of GBK / GB2312) depending on the
version and the export dialog. UTF-16 with a BOM (Excel's "Unicode text")
is accepted too.

``source_row`` numbers rows as a spreadsheet shows them: the header is row 1,
so the first data row is row 2 (CSV: blank lines are not counted; Parquet,
which has no header row: the first record is row 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from workbench.ingest.errors import IngestError

Progress = Callable[[int], None]  # called with a number of bytes or rows just done

_CHUNK = 1 << 24  # 16 MiB: bounded memory while hashing and checking encodings
_DELIMITERS = (",", "\t", ";", "|")
_MAGIC = {b"PAR1": "parquet", b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not even be split into cells (a CSV line with too many or too few fields)."""

    source_row: int | None
    text: str
    reason: str


@dataclass
class RawFile:
    """A file as text: one string column per file column, named by position (``c0``, ``c1`` ...)."""

    path: Path
    format: str  # csv | xlsx | parquet
    encoding: str | None  # csv only
    headers: list[str]  # the file's own header texts, in file order
    table: pa.Table  # all-string columns c0..cN; one row per data row
    source_row: np.ndarray  # int64, one per row of ``table``
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.rejected)


def file_sha256(path: Path) -> str:
    """The file's identity for idempotence: the same bytes are the same load."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_error(path: Path, exc: OSError) -> IngestError:
    return IngestError(f"cannot read {path}: {exc.strerror or exc}; check the path and its permissions")


def sniff_format(path: Path) -> str:
    """csv | xlsx | parquet from the file's first bytes (extensions lie: ``.xls`` files that are CSV are common)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if not head:
        raise IngestError(f"{path.name} is empty (0 bytes): nothing to load; check the export")
    kind = _MAGIC.get(head, "csv")
    if kind == "xls":
        raise IngestError(f"{path.name} is an old binary Excel file (.xls); open it in Excel and save as .xlsx or CSV (UTF-8)")
    return kind


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-16, utf-8 or gb18030, checked over the whole file (a GBK byte may sit on row 900 000)."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        first = f.read(1 << 16)
        if b"\x00" in first:
            raise IngestError(f"{path.name} looks binary, not a CSV text file; export it as CSV, .xlsx or Parquet")
    failures = []
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        offset = 0
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            failures.append(f"{encoding} fails at byte {offset + exc.start}")
    raise IngestError(
        f"{path.name}: unknown text encoding ({'; '.join(failures)}); re-export it as UTF-8 CSV, or as .xlsx"
    )


def _split_header(line: str, file_name: str) -> tuple[list[str], str]:
    counts = {d: line.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the comma: first in the tuple
    headers = next(csv.reader([line], delimiter=delimiter))
    headers = [h.replace("\ufeff", "").strip() for h in headers]
    if not any(headers):
        raise IngestError(f"{file_name}: the first line is empty; the first line must be the column headers")
    return headers, delimiter


def _first_line(path: Path, encoding: str) -> tuple[str, int]:
    """The header line, and how many lines come before it and with it (blank lines above it count)."""
    with open(path, encoding=encoding, newline="") as f:
        consumed = 1
        line = f.readline()
        while line.strip() == "":
            if not line:
                raise IngestError(f"{path.name} has no text: nothing to load; check the export")
            line = f.readline()
            consumed += 1
    return line.rstrip("\r\n"), consumed


def read_csv(path: Path, progress: Progress | None = None) -> RawFile:
    """A delimited text file, streamed in blocks; lines with the wrong number of fields are kept as rejected rows."""
    encoding = detect_encoding(path)
    header_line, skip = _first_line(path, encoding)
    headers, delimiter = _split_header(header_line, path.name)
    names = [f"c{i}" for i in range(len(headers))]
    rejected: list[RejectedRow] = []

    def on_invalid(row) -> str:
        # Keep the line (it goes to quarantine) instead of failing the file.
        reason = f"row has {row.actual_columns} fields, the header has {row.expected_columns}"
        # Arrow counts the blank lines above the header; our numbers start at the header.
        number = None if row.number is None else row.number - (skip - 1)
        rejected.append(RejectedRow(number, row.text, reason))
        return "skip"

    # Arrow decodes UTF-8 itself (BOM included, it sits on the skipped header
    # line); other encodings are transcoded by Arrow while streaming.
    arrow_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    read_opts = pcsv.ReadOptions(column_names=names, skip_rows=skip, encoding=arrow_encoding, use_threads=False, block_size=1 << 22)
    parse_opts = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid)
    convert_opts = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False)
    batches = []
    try:
        with open(path, "rb") as raw:
            reader = pcsv.open_csv(raw, read_options=read_opts, parse_options=parse_opts, convert_options=convert_opts)
            done = 0
            for batch in reader:
                batches.append(batch)
                if progress:
                    position = raw.tell()
                    progress(position - done)
                    done = position
    except pa.ArrowInvalid as exc:
        raise IngestError(f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]}); check the export") from None
    table = pa.Table.from_batches(batches, schema=pa.schema([(n, pa.string()) for n in names]))
    # The header is row 1; rejected lines keep their own numbers, so the
    # accepted rows take the numbers in between.
    skipped = np.array(sorted(r.source_row for r in rejected if r.source_row is not None), dtype=np.int64)
    all_rows = np.arange(2, 2 + table.num_rows + len(skipped), dtype=np.int64)
    source_row = np.setdiff1d(all_rows, skipped, assume_unique=True) if len(skipped) else all_rows
    table, source_row = _drop_blank_rows(table, source_row)
    return RawFile(path, "csv", encoding, headers, table, source_row, rejected)


def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a user would type: 3 not 3.0, 2024-03-01 not 2024-03-01 00:00:00."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _excel_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[str | None]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx.
    with open(path, "rb") as handle:
        try:
            book = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise IngestError(f"{path.name}: not a readable .xlsx workbook ({exc}); open and re-save it in Excel, or export CSV") from None
        try:
            if sheet is not None and sheet not in book.sheetnames:
                raise IngestError(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
            ws = book[sheet] if sheet else book.worksheets[0]
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, [_cell_text(v) for v in row]
        finally:
            book.close()


def read_xlsx(
    path: Path,
    progress: Progress | None = None,
    *,
    sheet: str | None = None,
    is_header: Callable[[list[str]], bool] | None = None,
) -> RawFile:
    """The first sheet (or ``sheet``). ERP exports often put a title above the header, so the header
    is the first row that ``is_header`` accepts (default: the first non-empty row)."""
    rows = _excel_rows(path, sheet)
    headers: list[str] | None = None
    for _, cells in rows:
        texts = [c or "" for c in cells]
        if any(texts) and (is_header is None or is_header(texts)):
            # The sheet's width often exceeds the header (a stray cell far right): trim it.
            while texts and not texts[-1].strip():
                texts.pop()
            headers = [t.strip() for t in texts]
            break
    if headers is None:
        raise IngestError(f"{path.name}: no header row found in the sheet; the first row must be the column headers")
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    for number, cells in rows:
        if not any(c not in (None, "") for c in cells):
            continue  # blank rows carry nothing
        if any(c not in (None, "") for c in cells[width:]):
            rejected.append(RejectedRow(number, "\t".join(c or "" for c in cells), f"row has values beyond the {width} header columns"))
            continue
        numbers.append(number)
        for i in range(width):
            columns[i].append(cells[i] if i < len(cells) else None)
        if progress and len(numbers) % 10_000 == 0:
            progress(10_000)
    if progress:
        progress(len(numbers) % 10_000)
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    return RawFile(path, "xlsx", None, headers, table, np.asarray(numbers, dtype=np.int64), rejected)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    t = column.type
    if pa.types.is_string(t):
        return column
    if pa.types.is_large_string(t) or pa.types.is_dictionary(t) or pa.types.is_primitive(t) or pa.types.is_decimal(t):
        try:
            return pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    # Nested or exotic types: their Python text, so that nothing is lost.
    return pa.chunked_array([pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())])


def read_parquet(path: Path, progress: Progress | None = None) -> RawFile:
    """A Parquet file; typed columns are turned into text so that one path validates every format."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"{path.name}: not a readable Parquet file ({str(exc).splitlines()[0]}); check the export") from None
    headers = list(table.column_names)
    text = pa.table({f"c{i}": _as_text(table.column(i)) for i in range(table.num_columns)})
    if progress:
        progress(text.num_rows)
    source_row = np.arange(1, text.num_rows + 1, dtype=np.int64)
    text, source_row = _drop_blank_rows(text, source_row)
    return RawFile(path, "parquet", None, headers, text, source_row)


def _drop_blank_rows(table: pa.Table, source_row: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """Rows with every cell empty (``,,,,`` lines Excel leaves at the end) carry no data: skip them.

    Checked column by column on the rows still in question, so a file
    without such rows costs one look at its first column.
    """
    if table.num_rows == 0 or table.num_columns == 0:
        return table, source_row
    candidates = np.arange(table.num_rows)
    for column in table.columns:
        values = column.take(pa.array(candidates)) if candidates.size < table.num_rows else column
        empty = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(values)), 0), True)
        candidates = candidates[np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)]
        if candidates.size == 0:
            return table, source_row
    keep = np.ones(table.num_rows, dtype=bool)
    keep[candidates] = False
    return table.filter(pa.array(keep)), source_row[keep]


def read_file(
    path: Path | str,
    progress: Progress | None = None,
    *,
    sheet: str | None = None,
    is_header: Callable[[list[str]], bool] | None = None,
) -> RawFile:
    """Any supported file as text; an ``IngestError`` for a file that cannot be used at all."""
    path = Path(path)
    if path.is_dir():
        raise IngestError(f"{path} is a folder; give the path of one export file")
    kind = sniff_format(path)
    try:
        if kind == "parquet":
            raw = read_parquet(path, progress)
        elif kind == "xlsx":
            raw = read_xlsx(path, progress, sheet=sheet, is_header=is_header)
        else:
            raw = read_csv(path, progress)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if raw.rows_read == 0:
        raise IngestError(f"{path.name} has a header but no data rows: nothing to load; check the export")
    return raw


__all__ = ["RawFile", "RejectedRow", "read_file", "read_csv", "read_xlsx", "read_parquet", "detect_encoding", "file_sha256", "sniff_format"]
