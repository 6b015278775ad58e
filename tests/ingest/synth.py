"""Test data for ingest: a tiny warehouse, POS / stocktake / traffic exports with known bad rows.

Every bad row is planted with the reason the ingest must give, so the tests
check each quarantined row against its expected reason, not just counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.warehouse.engines import DuckDBSink
from workbench.warehouse.schema import spec

STORES = [f"S{i:03d}" for i in range(1, 21)]
SKUS = [f"24SS-TS{i:04d}-{c}-{s}" for i in range(1, 6) for c in ("BLK", "WHT") for s in ("S", "M", "L")]

POS_HEADERS_ZH = {
    "ticket_no": "小票号", "line_no": "行号", "sale_time": "销售时间", "store_code": "门店编码", "sku_code": "商品编码",
    "qty": "数量", "unit_price": "单价", "amount": "金额", "member_card": "会员卡号", "cashier": "收银员",
}
POS_COLUMNS = list(POS_HEADERS_ZH)
TODAY = dt.date(2025, 6, 30)  # fixed, so "after today" rules do not drift with the calendar
RAW_TABLES = ["raw.pos_sales", "raw.stock_counts", "raw.traffic", "raw.quarantine", "raw.ingest_log"]


def build_warehouse(path: Path) -> Path:
    """core.stores and core.products with the codes above (and a DC), via the same sink the simulator uses.
    No raw tables: the first load creates them, as in a new deployment."""
    sink = DuckDBSink(path, threads=1, memory_limit="1GB")
    stores, products = spec("core.stores"), spec("core.products")
    codes = STORES + ["DC01"]
    store_rows = {
        "store_id": list(range(1, len(codes) + 1)),
        "store_code": codes,
        "store_type": ["own"] * len(STORES) + ["dc"],
        "region": ["East" if i % 2 else "North" for i in range(1, len(codes) + 1)],
    }
    product_rows = {
        "sku_id": list(range(1, len(SKUS) + 1)),
        "sku_code": SKUS,
        "skc_id": [i // 3 + 1 for i in range(len(SKUS))],
        "style_id": [i // 6 + 1 for i in range(len(SKUS))],
    }
    for table_spec, rows in ((stores, store_rows), (products, product_rows)):
        n = len(next(iter(rows.values())))
        schema = table_spec.arrow_schema()
        data = pa.table({f.name: pa.array(rows.get(f.name, [None] * n), f.type) for f in schema}, schema=schema)
        sink.create(table_spec)
        sink.append(table_spec, data)
    return sink.finish()


def pos_row(i: int, *, seed: int = 1, store: str | None = None) -> dict[str, str]:
    """POS line ``i`` as text, the way a POS writes it; the same ``i`` always gives the same line,
    so exports of overlapping ranges overlap row for row."""
    rng = random.Random(seed * 1_000_003 + i)
    store = store or rng.choice(STORES[:5])
    qty = rng.choice([1, 1, 1, 2, 3, -1])
    price = rng.choice([99.0, 129.5, 259.99, 59.9])
    when = dt.datetime(2024, 3, 1, 10) + dt.timedelta(minutes=7 * (i % 70_000))  # within a year
    return {
        "ticket_no": f"T{store}{i // 3:07d}",
        "line_no": str(i % 3 + 1),
        "sale_time": when.strftime("%Y-%m-%d %H:%M:%S"),
        "store_code": store,
        "sku_code": rng.choice(SKUS),
        "qty": str(qty),
        "unit_price": f"{price:.2f}",
        "amount": f"{qty * price:.2f}",
        "member_card": rng.choice(["", "62220201", "6222020200001234"]),
        "cashier": rng.choice(["张三", "李四", "王五", "C017"]),
    }


@dataclass(frozen=True)
class Defect:
    """A way to break a row, and the words the quarantine reason must contain."""

    name: str
    apply: Callable[[dict[str, str]], None]
    reason: str


def _set(**values: str) -> Callable[[dict[str, str]], None]:
    return lambda row: row.update(values)


def _wrong_amount(row: dict[str, str]) -> None:
    row["amount"] = f"{float(row['amount']) + 1:.2f}"


def _two_problems(row: dict[str, str]) -> None:
    row.update(qty="x", store_code="S999")


POS_DEFECTS = [
    Defect("qty not an integer", _set(qty="abc"), "qty: 'abc' is not an integer"),
    Defect("qty zero", _set(qty="0", amount="0.00"), "qty: '0' is not allowed"),
    Defect("price too precise", _set(unit_price="12.345", amount="12.35", qty="1"), "unit_price: '12.345' has more than 2 decimal places"),
    Defect("impossible date", _set(sale_time="2024-02-30 10:00:00"), "sale_time: '2024-02-30 10:00:00' is not a date and time"),
    Defect("future sale", _set(sale_time="2099-01-01 10:00:00"), "sale_time: '2099-01-01 10:00:00' is after today"),
    Defect("unknown store", _set(store_code="S999"), "store_code: 'S999' is not a known store"),
    Defect("malformed store", _set(store_code="17"), "store_code: '17' is not a store code such as S017"),
    Defect("unknown product", _set(sku_code="NOPE-1"), "sku_code: 'NOPE-1' is not a known product"),
    Defect("amount mismatch", _wrong_amount, "is not qty × unit_price"),
    Defect("missing ticket", _set(ticket_no=""), "ticket_no is missing (required)"),
    Defect("bad member card", _set(member_card="12ab"), "member_card: '12ab' is not a member card number"),
    Defect("negative price", _set(unit_price="-5", qty="1", amount="-5"), "unit_price: '-5' is below the minimum 0"),
    Defect("two problems", _two_problems, "qty: 'x' is not an integer; store_code: 'S999' is not a known store"),
]


@dataclass
class Export:
    """Rows of a planted export: the text rows, and per row the expected reason (None: good).

    A reason may name another row as ``{row:N}`` (row N of ``rows``): its
    number in the file depends on the format (header row, title row).
    """

    rows: list[dict[str, str]]
    expected: list[str | None]
    repeats: int = 0  # exact copies of earlier rows (duplicates, not loaded)

    @property
    def good(self) -> int:
        return sum(e is None for e in self.expected) - self.repeats

    @property
    def bad(self) -> int:
        return sum(e is not None for e in self.expected)

    def reasons(self, first_row: int = 2) -> dict[int, str]:
        """source_row -> expected reason, for a file whose first data row has number ``first_row``."""
        def number(match: re.Match) -> str:
            return str(int(match.group(1)) + first_row)

        return {i + first_row: re.sub(r"{row:(\d+)}", number, e) for i, e in enumerate(self.expected) if e}


def pos_export(n: int, *, seed: int = 1, every: int = 29, start: int = 0, defects: list[Defect] = POS_DEFECTS) -> Export:
    """``n`` POS lines from line ``start`` on, one in ``every`` broken by the next defect in turn (a few
    percent bad), plus one exact repeat and one conflicting repeat of an earlier key."""
    rows, expected = [], []
    for i in range(start, start + n):
        row = pos_row(i, seed=seed)
        reason = None
        if i % every == every - 1:
            defect = defects[(i // every) % len(defects)]
            defect.apply(row)
            reason = defect.reason
        rows.append(row)
        expected.append(reason)
    good_positions = [k for k, e in enumerate(expected) if e is None]
    rows.append(dict(rows[good_positions[0]]))  # the same line exported twice: a duplicate
    expected.append(None)
    changed = dict(rows[good_positions[1]])
    changed["qty"] = str(int(changed["qty"]) + 10)
    changed["amount"] = f"{int(changed['qty']) * float(changed['unit_price']):.2f}"
    rows.append(changed)  # same key, other values: quarantined
    expected.append(f"duplicate key (store_code, ticket_no, line_no): source row {{row:{good_positions[1]}}} has the same key with a different qty, amount")
    return Export(rows, expected, repeats=1)


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", headers: dict[str, str] | None = None, delimiter: str = ",") -> Path:
    headers = headers or {c: c for c in rows[0]}
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([headers[c] for c in headers])
        for row in rows:
            w.writerow([row.get(c, "") for c in headers])
    return path


def _excel_value(column: str, text: str):
    """Cells typed the way Excel holds them, so the reader's cell-to-text rules are exercised."""
    if text == "":
        return None
    try:
        if column in ("line_no", "qty"):
            return int(text)
        if column in ("unit_price", "amount"):
            return float(text)
        if column == "sale_time":
            return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    return text


def write_xlsx(path: Path, rows: list[dict[str, str]], *, headers: dict[str, str], title: str | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])  # ERP exports put a title above the header
    sheet.append(list(headers.values()))
    for row in rows:
        sheet.append([_excel_value(c, row.get(c, "")) for c in headers])
    book.save(path)
    return path


def write_parquet(path: Path, rows: list[dict[str, str]]) -> Path:
    """Typed columns where every value is typeable, text where not (as a lax ERP writer would do)."""
    columns = {}
    for c in rows[0]:
        texts = [r[c] for r in rows]
        try:
            if c in ("line_no", "qty"):
                columns[c] = pa.array([int(t) for t in texts], pa.int32())
                continue
            if c in ("unit_price", "amount"):
                columns[c] = pa.array([float(t) for t in texts], pa.float64())
                continue
            if c == "sale_time":
                columns[c] = pa.array([dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in texts], pa.timestamp("ms"))
                continue
        except ValueError:
            pass
        columns[c] = pa.array([t or None for t in texts], pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def count_rows(settings, tables=RAW_TABLES) -> dict[str, int]:
    """Row counts read straight from the file: the tests' own view, independent of the code under test."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        present = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        return {t: (con.execute(f"select count(*) from {t}").fetchone()[0] if t in present else 0) for t in tables}
    finally:
        con.close()


def fetch(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
