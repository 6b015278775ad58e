"""The stocktake's and the weight check's pure steps on hand-made data, and a stocktake of S001 on the tiny
chain end to end: the simulated reader over a real pty, the book stock read as the store's device user, the readings and the
variance written through the door and audited, a wrong store refused."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import workbench as wb
from tests.devices.conftest import needs_socat
from workbench.devices.epc import epc_of_unit
from workbench.devices.frames import TagRead
from workbench.devices.line import SerialLine
from workbench.devices.rfid import InventoryRound, RfidReader
from workbench.devices.scale import Weight
from workbench.devices.simulators import Noise, RfidSimulator, shelf
from workbench.devices.stocktake import (book_stock, count_per_sku, identify, store_of, take_stock, tally_reads,
                                         variance, write_stocktake)
from workbench.devices.weighing import check_weight, reading_row

COUNT_DATE = dt.date(2025, 12, 31)


def _read(epc, antenna=1, rssi=-60):
    return TagRead(antenna=antenna, rssi_dbm=rssi, pc=0x3000, epc=epc, frequency=0)


def test_reads_are_deduplicated_by_epc_over_rounds_keeping_the_strongest():
    a, b = epc_of_unit(5, 1), epc_of_unit(5, 2)
    rounds = [InventoryRound(1, [_read(a, 1, -70), _read(a, 2, -50), _read(b)]), InventoryRound(2, [_read(a, 3, -65)])]
    got = tally_reads(rounds).set_index("epc")
    assert got.loc[a, ["reads", "first_round", "last_round", "antenna", "rssi_dbm"]].tolist() == [3, 1, 2, 2, -50]
    assert got.loc[b, ["reads", "first_round", "last_round"]].tolist() == [1, 1, 1]


def test_tags_are_identified_and_counted_per_sku():
    tags = identify(pd.DataFrame({"epc": [epc_of_unit(7, 1), epc_of_unit(7, 2), epc_of_unit(9, 1),
                                          "3074257BF7194E4000001A85", "E2801160600002054E1C3B4F"]}))
    assert tags["sku_id"].tolist()[:3] == [7, 7, 9] and tags["sku_id"].isna().tolist()[3:] == [True, True]
    assert tags["gtin"].tolist()[3] == "80614141123458" and pd.isna(tags["gtin"].tolist()[4])
    assert count_per_sku(tags).values.tolist() == [[7, 2], [9, 1]]


def test_variance_per_sku_found_missing_unexpected():
    book = pd.DataFrame({"sku_id": [1, 2, 3], "book_qty": [4, 2, 1]})
    counted = pd.DataFrame({"sku_id": [1, 2, 4], "counted_qty": [4, 3, 2]})
    v = variance(book, counted).set_index("sku_id")
    assert v[["book_qty", "counted_qty", "found", "missing", "unexpected", "status"]].values.tolist() == [
        [4, 4, 4, 0, 0, "match"], [2, 3, 2, 0, 1, "unexpected"], [1, 0, 0, 1, 0, "missing"],
        [0, 2, 0, 0, 2, "unexpected"]]


def test_a_parcel_is_within_tolerance_or_not():
    assert check_weight(1262.0, 1250.0, 20.0) is True and check_weight(1275.0, 1250.0, 20.0) is False
    assert check_weight(980.0, None, None) is None
    row = reading_row(1, Weight(1262.0, "g", True), "parcel_check", "TR-0001", 1250.0, 20.0)
    assert (row["weight"], row["unit"], row["within_tolerance"]) == (1262.0, "g", True)
    with pytest.raises(ValueError, match="purpose must be one of parcel_check"):
        reading_row(1, Weight(1.0, "g", True), "gift_wrap")


@needs_socat
def test_a_stocktake_of_s001_end_to_end_through_the_door(warehouse):
    with wb.session("u_device_s001", settings=warehouse, entry_point="device") as s:
        book_date, book = book_stock(s, store_of(s, "S001"), COUNT_DATE)
    booked = dict(zip(book["sku_id"], book["book_qty"]))
    skus = sorted(booked)
    never_booked = max(skus) + 1
    missing = {skus[0]: 1, skus[1]: booked[skus[1]]}             # one unit short; a whole SKU gone
    unexpected = {skus[2]: 2, never_booked: 1}                    # two too many; one the books do not hold
    epcs = shelf(booked, missing, unexpected, foreign=2)
    noise = Noise(garbage=0.05, split=0.05, bad_checksum=0.05, disconnect_after=len(epcs) // 2, seed=9)
    with RfidSimulator(epcs, noise=noise) as sim, SerialLine(sim.port, baudrate=115200) as line:
        with wb.session("u_device_s001", settings=warehouse, entry_point="device", run_id="st-S001-test") as s:
            st = take_stock(s, RfidReader(line).inventory(4), "S001", COUNT_DATE, reader_port=sim.port)
            written = write_stocktake(s, st)
            write_stocktake(s, st)                                 # a retried write replaces, never doubles
    assert sim.disconnects == line.reconnects == 1
    assert st.book_date == book_date and len(st.tags) == len(epcs) and st.tags["sku_id"].isna().sum() == 2

    r = st.result.set_index("sku_id")
    assert r["missing"][r["missing"] > 0].to_dict() == missing
    assert r["unexpected"][r["unexpected"] > 0].to_dict() == unexpected
    assert r.loc[never_booked, "book_qty"] == 0 and r.loc[skus[1], "status"] == "missing"
    assert int(r["found"].sum()) == sum(booked.values()) - sum(missing.values())
    assert written == {"raw.rfid_reads": len(epcs), "raw.rfid_stocktake": len(r)}

    with wb.session("u_auditor", settings=warehouse) as s:
        log = s.table("audit_log").to_pandas()
    with wb.session("u_admin", settings=warehouse) as s:
        saved = s.sql("select * from raw.rfid_stocktake").to_pandas()
        reads = s.sql("select count(*) n, count(distinct epc) e from raw.rfid_reads").to_pandas()
    assert len(saved) == len(r) and set(saved["run_id"]) == {"st-S001-test"} and set(saved["store_id"]) == {st.store_id}
    assert reads.values.tolist() == [[len(epcs), len(epcs)]]
    writes = log[(log["action"] == "write") & (log["run_id"] == "st-S001-test")]
    assert set(writes["user"]) == {"u_device_s001"} and set(writes["entry_point"]) == {"device"}
    assert set(writes["status"]) == {"ok"} and len(writes) == 4
    assert sorted(writes["tables"].astype(str).str.strip("[]'\"")) == ["raw.rfid_reads"] * 2 + ["raw.rfid_stocktake"] * 2
    assert writes["rows"].max() == len(epcs)


def test_a_device_user_may_not_count_another_store(warehouse):
    with wb.session("u_device_s001", settings=warehouse, entry_point="device") as s:
        with pytest.raises(PermissionError, match="u_device_s001 may not count S002: its scope is S001"):
            take_stock(s, [], "S002", COUNT_DATE)
