"""Shipping and receiving check (智能出库 / 收货核对): a carton's or pallet's RFID tags against what should be in it.

What should be in it is a shipment of ``core.transfers`` (the lines of one movement: same type, origin,
destination and ship day as the transfer id named) or a picking list (拣货单, a CSV of ``sku_id`` or
``sku_code`` with ``qty``). The tags are read in inventory rounds and deduplicated by EPC
(:mod:`.stocktake`); :func:`check_against` (pure) gives per SKU the units expected and counted, what is
short or over, and a status: ``matched``, ``short``, ``over``, ``wrong_item`` (an SKU not on the list; a tag
that is not the chain's is one too, with no SKU). :func:`write_check` writes ``raw.rfid_shipping_checks``
through the door as the store's ``device`` user, replacing the check's rows if it is written again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.devices.stocktake import contract_rows, count_per_sku, identify, store_of, tally_reads

__all__ = ["Expected", "check_against", "transfer_lines", "picking_list", "ShippingCheck", "check_carton",
           "write_check", "TABLE", "STATUSES"]

TABLE = "raw.rfid_shipping_checks"
STATUSES = ("matched", "short", "over", "wrong_item")


@dataclass
class Expected:
    """What should be in the carton: ``sku_id`` → units, where it is from (``reference``), and who sends it."""

    reference: str
    lines: pd.DataFrame  # sku_id, expected_qty
    from_store_id: int | None = None
    to_store_id: int | None = None


def check_against(expected: pd.DataFrame, counted: pd.DataFrame, foreign_tags: int = 0) -> pd.DataFrame:
    """Per SKU: ``expected_qty``, ``counted_qty``, ``short_qty``, ``over_qty``, ``status`` (pure)."""
    v = expected[["sku_id", "expected_qty"]].merge(counted[["sku_id", "counted_qty"]], on="sku_id", how="outer")
    v[["expected_qty", "counted_qty"]] = v[["expected_qty", "counted_qty"]].fillna(0).astype("int64")
    v["short_qty"] = (v["expected_qty"] - v["counted_qty"]).clip(lower=0)
    v["over_qty"] = (v["counted_qty"] - v["expected_qty"]).clip(lower=0)
    v["status"] = "matched"
    v.loc[v["short_qty"] > 0, "status"] = "short"
    v.loc[v["over_qty"] > 0, "status"] = "over"
    v.loc[v["expected_qty"] == 0, "status"] = "wrong_item"
    v = v.astype({"sku_id": "Int64"}).sort_values("sku_id").reset_index(drop=True)
    if foreign_tags:  # tags that are not the chain's: one row with no SKU
        v["sku_id"] = v["sku_id"].astype(object)
        v.loc[len(v)] = [None, 0, foreign_tags, 0, foreign_tags, "wrong_item"]
        v["sku_id"] = v["sku_id"].astype("Int64")
    return v


def transfer_lines(session, transfer_id: int) -> Expected:
    """The shipment ``transfer_id`` belongs to, as the user may see it (either end in their scope)."""
    t = session.table("transfers")
    line = t.filter(t.transfer_id == transfer_id).to_pandas()
    if line.empty:
        raise LookupError(f"no transfer {transfer_id} that {session.user.name} may see (its scope is "
                          f"{session.scope.describe()}): check the id with the shipping document")
    first = line.iloc[0]
    same = ((t.movement_type == first["movement_type"]) & (t.ship_date == first["ship_date"])
            & _same(t.from_store_id, first["from_store_id"]) & _same(t.to_store_id, first["to_store_id"]))
    lines = t.filter(same).group_by("sku_id").aggregate(expected_qty=t.qty.sum()).to_pandas()
    return Expected(f"transfer:{transfer_id}", lines, _int(first["from_store_id"]), _int(first["to_store_id"]))


def _same(column, value):
    return column.isnull() if pd.isna(value) else column == int(value)


def _int(value) -> int | None:
    return None if pd.isna(value) else int(value)


def picking_list(session, path: Path) -> Expected:
    """A picking list CSV: ``sku_id`` or ``sku_code``, and ``qty``; codes are looked up in ``core.products``."""
    frame = pd.read_csv(path)
    if "qty" not in frame or not ({"sku_id", "sku_code"} & set(frame)):
        raise ValueError(f"{path}: a picking list needs a qty column and sku_id or sku_code; it has "
                         f"{', '.join(frame.columns)}")
    if "sku_id" not in frame:
        products = session.table("products")
        codes = products.filter(products.sku_code.isin(frame["sku_code"].astype(str).tolist()))
        known = codes.select("sku_id", "sku_code").to_pandas()
        unknown = sorted(set(frame["sku_code"].astype(str)) - set(known["sku_code"]))
        if unknown:
            raise ValueError(f"{path}: unknown sku_code(s) {', '.join(unknown[:5])}")
        frame = frame.astype({"sku_code": str}).merge(known, on="sku_code")
    lines = frame.groupby("sku_id", as_index=False)["qty"].sum().rename(columns={"qty": "expected_qty"})
    return Expected(f"picking_list:{Path(path).name}", lines.astype({"sku_id": "int64", "expected_qty": "int64"}))


@dataclass
class ShippingCheck:
    """A finished check: the carton's tags and the result per SKU, at ``store_code``, shipping or receiving."""

    session_id: str
    store_code: str
    store_id: int
    direction: str
    expected: Expected
    tags: pd.DataFrame
    result: pd.DataFrame
    check_date: dt.date

    def summary(self) -> str:
        counts = self.result["status"].value_counts()
        parts = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
        return (f"{self.direction} check {self.session_id} of {self.expected.reference} at {self.store_code}: "
                f"{len(self.tags)} tags, {int(self.result['counted_qty'].sum())} units counted against "
                f"{int(self.result['expected_qty'].sum())} expected; SKUs: {parts}")


def _direction(expected: Expected, store_id: int) -> str:
    if expected.to_store_id == store_id:
        return "receiving"
    return "shipping"


def check_carton(session, rounds, expected: Expected, store_code: str, check_date: dt.date | None = None) -> ShippingCheck:
    """Count the carton's tags over ``rounds`` and check them against ``expected``."""
    store_id = store_of(session, store_code)
    if expected.from_store_id is not None or expected.to_store_id is not None:
        if store_id not in (expected.from_store_id, expected.to_store_id):
            raise PermissionError(f"{expected.reference} neither leaves nor reaches {store_code}: check it where "
                                  "it is shipped or received")
    tags = identify(tally_reads(list(rounds)))
    foreign = int(tags["sku_id"].isna().sum())
    result = check_against(expected.lines, count_per_sku(tags), foreign)
    return ShippingCheck(session.run_id, store_code, store_id, _direction(expected, store_id), expected, tags, result,
                         check_date or dt.date.today())


def write_check(session, check: ShippingCheck) -> int:
    """``raw.rfid_shipping_checks``: one row per SKU of the check; written again, the check replaces itself."""
    rows = check.result.assign(session_id=check.session_id, check_date=check.check_date, store_id=check.store_id,
                               direction=check.direction, reference=check.expected.reference)
    return session.write(TABLE, contract_rows(TABLE, rows), mode="replace_where", where={"session_id": check.session_id})
