"""The 断码 and core-size stock-out rows on the golden chain (expected values by hand)."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.metrics import DimensionError, core_size_stockouts, size_break

from .golden_data import keyed, rows

D = dt.date


def test_size_break_at_a_snapshot(source):
    got = keyed(size_break(source, "2024-04-07"), "store_id", "skc_id")
    assert set(got) == {(1, 10), (1, 20), (2, 10), (2, 20)}  # the ended 2023 spell of (1, 20) is not counted twice
    assert {r["snapshot_date"] for r in got.values()} == {D(2024, 4, 7)}
    # S1 tees: S 1, M 0 (2 in transit do not count), L 1 -> on display, core size M out
    assert (got[(1, 10)]["sellable_units"], got[(1, 10)]["core_sizes_out"], got[(1, 10)]["size_break"]) == (2, 1, True)
    # S1 jeans: 28 1, 30 1
    assert (got[(1, 20)]["on_display"], got[(1, 20)]["size_break"]) == (True, False)
    # S2 tees: nothing left at all -> a stock-out, not a broken size run
    assert (got[(2, 10)]["on_display"], got[(2, 10)]["core_sizes_out"], got[(2, 10)]["size_break"]) == (False, 2, False)
    # S2 jeans: 28 none, 30 two (the B-goods unit does not count)
    assert (got[(2, 20)]["sellable_units"], got[(2, 20)]["core_sizes_out"], got[(2, 20)]["size_break"]) == (2, 1, True)


def test_size_break_between_snapshots_reads_the_previous_one(source):
    got = keyed(size_break(source, "2024-04-05"), "store_id", "skc_id")
    assert {r["snapshot_date"] for r in got.values()} == {D(2024, 3, 31)}
    # 03-31: S1 tees miss M, S2 tees miss L; both jeans whole
    assert {k for k, r in got.items() if r["size_break"]} == {(1, 10), (2, 10)}


def test_size_break_filtered_by_region(source):
    got = rows(size_break(source, "2024-04-07", where={"region": "West"}))
    assert {(r["store_id"], r["skc_id"]) for r in got} == {(2, 10), (2, 20)}


def test_size_break_cannot_be_filtered_by_size(memory_source):
    with pytest.raises(DimensionError, match="size"):
        size_break(memory_source, "2024-04-07", where={"size": "M"})


def test_core_size_stockouts_list(source):
    got = rows(core_size_stockouts(source, "2024-04-07"))
    # 2 stores x core sizes 102 103 201 202
    assert len(got) == 8
    # S1 M (0 on hand); S2 M, L, 28 (no rows)
    assert {(r["store_id"], r["sku_id"]) for r in got if r["is_out"]} == {(1, 102), (2, 102), (2, 103), (2, 201)}
