"""How fast a file is read and validated: figures in the shared benchmark format.

``measure`` generates a POS export of ``rows`` lines (vectorised, so a
million lines take a second or two to make), plants a few percent of bad
rows, and times each step of ingest that does not touch the warehouse:
reading, checking rows, building the quarantine. It returns result rows
``{"method", "metric", "level", "value"}`` for ``workbench.bench.report``, so
``wb bench`` can offer it (``level`` is the file's encoding)::

    python -c "from workbench.ingest.bench import main; main(1_000_000)"
"""

from __future__ import annotations

import codecs
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from workbench.ingest.contracts import get_contract
from workbench.ingest.plan import make_plan
from workbench.ingest.readers import read_file
from workbench.ingest.records import quarantine_table
from workbench.ingest.validate import References

STORES = [f"S{i:03d}" for i in range(1, 201)]
SKUS = [f"24SS-TS{i:04d}-{c}-{s}" for i in range(1, 301) for c in ("BLK", "WHT", "RED") for s in ("S", "M", "L", "XL")]
HEADERS = ["小票号", "行号", "销售时间", "门店编码", "商品编码", "数量", "单价", "金额", "会员卡号", "收银员"]


def synthetic_pos(path: Path, rows: int, *, seed: int = 42, encoding: str = "gb18030", bad_share: float = 0.03) -> Path:
    """A POS export with Chinese headers; ``bad_share`` of the lines carry one defect each."""
    rng = np.random.default_rng(seed)
    i = np.arange(rows)
    qty = rng.choice([1, 1, 1, 2, 3, -1], rows)
    price = rng.choice([59.9, 99.0, 129.5, 259.99], rows)
    seconds = rng.integers(0, 330 * 86400, rows)
    times = (np.datetime64("2024-03-01T10:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    columns = {
        "小票号": np.char.add("T", (i // 3).astype(str)),
        "行号": (i % 3 + 1).astype(str),
        "销售时间": np.char.replace(times, "T", " "),
        "门店编码": np.asarray(STORES)[rng.integers(0, len(STORES), rows)],
        "商品编码": np.asarray(SKUS)[rng.integers(0, len(SKUS), rows)],
        "数量": qty.astype(str),
        "单价": np.char.mod("%.2f", price),
        "金额": np.char.mod("%.2f", qty * price),
        "会员卡号": rng.choice(["", "62220201", "6222020200001234"], rows),
        "收银员": rng.choice(["张三", "李四", "王五", "C017"], rows),
    }
    bad = np.flatnonzero(rng.random(rows) < bad_share)
    kinds = [("数量", "abc"), ("门店编码", "S999"), ("销售时间", "2024-02-30 10:00:00"), ("单价", "12.345"), ("金额", "0.01")]
    for k, (column, value) in enumerate(kinds):
        columns[column] = columns[column].astype(object)
        columns[column][bad[k :: len(kinds)]] = value
    # Same store and ticket on every line would make keys repeat: the ticket number carries the store.
    columns["小票号"] = np.char.add(columns["小票号"].astype(str), np.char.add("-", columns["门店编码"].astype(str)))
    table = pa.table({name: pa.array(values.astype(str)) for name, values in columns.items()})
    utf8 = path.with_suffix(".utf8.csv")
    pcsv.write_csv(table, utf8, write_options=pcsv.WriteOptions(quoting_style="needed"))
    if encoding in ("utf-8", "utf8"):
        return utf8.replace(path)
    with open(utf8, encoding="utf-8") as src, codecs.open(str(path), "w", encoding=encoding) as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    utf8.unlink()
    return path


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure(rows: int, *, seed: int = 42, encoding: str = "gb18030", workdir: Path | None = None) -> list[dict]:
    """Time reading, checking and quarantining ``rows`` lines; result rows in the shared format."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="wb-ingest-bench-"))
    path = synthetic_pos(workdir / f"pos_{rows}.csv", rows, seed=seed, encoding=encoding)
    contract = get_contract("pos_sales")
    refs = References(known={"store_code": pa.array(STORES), "sku_code": pa.array(SKUS)})
    raw, read_wall, read_cpu = _timed(lambda: read_file(path))
    plan, check_wall, check_cpu = _timed(lambda: make_plan(raw, contract, refs, today=dt.date(2025, 6, 30)))
    _, q_wall, q_cpu = _timed(lambda: quarantine_table(raw, plan.bad, contract, "bench", dt.datetime(2025, 6, 30)))
    results = []
    for method, wall, cpu in (("read", read_wall, read_cpu), ("check_rows", check_wall, check_cpu), ("quarantine", q_wall, q_cpu)):
        results.append({"method": method, "metric": "wall_s", "level": encoding, "value": round(wall, 3)})
        results.append({"method": method, "metric": "cpu_s", "level": encoding, "value": round(cpu, 3)})
    total = read_wall + check_wall + q_wall
    results += [
        {"method": "total", "metric": "wall_s", "level": encoding, "value": round(total, 3)},
        {"method": "total", "metric": "rows_per_s", "level": encoding, "value": round(raw.rows_read / total)},
        {"method": "total", "metric": "rows_read", "level": encoding, "value": raw.rows_read},
        {"method": "total", "metric": "rows_quarantined", "level": encoding, "value": plan.quarantined},
        {"method": "total", "metric": "file_mb", "level": encoding, "value": round(path.stat().st_size / 2**20, 1)},
    ]
    path.unlink()
    return results


def main(rows: int = 1_000_000, encodings: tuple[str, ...] = ("utf-8", "gb18030")) -> None:
    """Print the figures, one line per result."""
    for encoding in encodings:
        for r in measure(rows, encoding=encoding):
            print(f"{r['level']:>8}  {r['method']:<11} {r['metric']:<16} {r['value']:>12,}")
