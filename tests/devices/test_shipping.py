"""The shipping / receiving check (智能出库): the comparison on hand-made data, and a carton of a real S001 shipment
of the tiny chain read by the simulated reader over a pty, checked from the command line and written as the device user."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import workbench as wb
from tests.devices.conftest import needs_socat
from workbench.cli import main
from workbench.devices.shipping import check_against, picking_list, transfer_lines
from workbench.devices.simulators import RfidSimulator, shelf


def test_each_sku_is_matched_short_over_or_a_wrong_item():
    expected = pd.DataFrame({"sku_id": [1, 2, 3, 4], "expected_qty": [2, 3, 1, 1]})
    counted = pd.DataFrame({"sku_id": [1, 2, 3, 9], "counted_qty": [2, 1, 2, 1]})
    got = check_against(expected, counted, foreign_tags=2)
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        [1, 2, 2, 0, 0, "matched"], [2, 3, 1, 2, 0, "short"], [3, 1, 2, 0, 1, "over"], [4, 1, 0, 1, 0, "short"],
        [9, 0, 1, 0, 1, "wrong_item"], [None, 0, 2, 0, 2, "wrong_item"]]


def _s001_shipment(settings) -> tuple[int, dict[int, int]]:
    """The S001 shipment with the most SKUs, as the device user sees it: a transfer id and its units per SKU."""
    with wb.session("u_device_s001", settings=settings, entry_point="device") as s:
        t = s.table("transfers").to_pandas()
        keys = ["movement_type", "from_store_id", "to_store_id", "ship_date"]
        biggest = t.fillna({"from_store_id": -1, "to_store_id": -1}).groupby(keys)["sku_id"].transform("size").idxmax()
        expected = transfer_lines(s, int(t.loc[biggest, "transfer_id"]))
    return int(t.loc[biggest, "transfer_id"]), dict(zip(expected.lines["sku_id"], expected.lines["expected_qty"]))


@needs_socat
def test_a_carton_of_an_s001_transfer_is_checked_and_written(warehouse):
    transfer_id, units = _s001_shipment(warehouse)
    skus = sorted(units)
    assert len(skus) >= 3
    other = max(skus) + 1
    carton = shelf(units, missing={skus[0]: 1}, unexpected={skus[1]: 2, other: 1}, foreign=1)
    with RfidSimulator(carton) as sim:
        result = CliRunner().invoke(main, ["devices", "rfid", "check", "--port", sim.port, "--transfer",
                                           str(transfer_id), "--format", "json"])
    assert result.exit_code == 0, result.output
    differences = {(r["sku_id"], r["status"]): (r["short_qty"], r["over_qty"]) for r in json.loads(result.stdout)}
    assert differences == {(skus[0], "short"): (1, 0), (skus[1], "over"): (0, 2), (other, "wrong_item"): (0, 1),
                           (None, "wrong_item"): (0, 1)}
    with wb.session("u_admin", settings=warehouse) as s:
        saved = s.sql("select * from raw.rfid_shipping_checks").to_pandas()
    assert len(saved) == len(skus) + 2 and set(saved["reference"]) == {f"transfer:{transfer_id}"}
    assert (saved["status"] == "matched").sum() == len(skus) - 2
    with wb.session("u_auditor", settings=warehouse) as s:
        log = s.table("audit_log").to_pandas()
    write = log[(log["action"] == "write") & (log["run_id"] == saved["session_id"][0])]
    assert write[["user", "entry_point", "status"]].values.tolist() == [["u_device_s001", "device", "ok"]]


def test_a_picking_list_by_sku_code_and_the_errors(warehouse, tmp_path):
    with wb.session("u_device_s001", settings=warehouse, entry_point="device") as s:
        codes = s.table("products").select("sku_id", "sku_code").limit(2).to_pandas()
        listed = tmp_path / "pick.csv"
        pd.DataFrame({"sku_code": codes["sku_code"], "qty": [3, 1]}).to_csv(listed, index=False)
        got = picking_list(s, listed)
        assert dict(zip(got.lines["sku_id"], got.lines["expected_qty"])) == dict(zip(codes["sku_id"], [3, 1]))
        with pytest.raises(LookupError, match="no transfer 999999999 that u_device_s001 may see"):
            transfer_lines(s, 999999999)
    result = CliRunner().invoke(main, ["devices", "rfid", "check", "--port", "/dev/null"])
    assert result.exit_code == 2 and "--transfer ID or --picking-list FILE" in result.output
