"""Outfits (搭配): designed looks, tickets that keep a look's pieces together, and units that do not move."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.config import load_settings
from workbench.simulation import outfits
from workbench.simulation.build import build_warehouse
from workbench.simulation.outfits import Affinity, arrange, design_looks

from .conftest import SEED, scalar

LOOKS = """
select l.look_id, l.is_lead, p.category, p.brand, p.season, p.occasion, p.colour_family
from truth.looks l join (select distinct skc_id, category, brand, season, occasion, colour_family from core.products) p
using (skc_id)
"""


def test_looks_pair_complementary_pieces_of_one_brand_and_season(con):
    looks = con.execute(LOOKS).df()
    assert looks["look_id"].nunique() > 20
    by_look = looks.groupby("look_id")
    assert (by_look["is_lead"].sum() == 1).all() and by_look.size().between(2, 3).all()
    assert (by_look["brand"].nunique() == 1).all() and (by_look["season"].nunique() == 1).all()
    lead = looks[looks["is_lead"]].set_index("look_id")
    assert set(lead["category"]) <= set(outfits.RECIPES)
    partners = looks[~looks["is_lead"]].join(lead, on="look_id", rsuffix="_lead")
    assert (partners["category"] != partners["category_lead"]).all()  # a top with a bottom, never two tops
    goes = ((partners["colour_family"] == partners["colour_family_lead"]) | (partners["colour_family"] == "neutral")
            | (partners["colour_family_lead"] == "neutral"))
    assert goes.mean() > 0.8


def _catalogue() -> pd.DataFrame:
    """Two tops, a bottom and a bag of one brand's season, and a top of another brand."""
    return pd.DataFrame({
        "category": ["tops", "tops", "bottoms", "accessories", "tops"],
        "occasion": ["casual", "office", "casual", "casual", "sport"],
        "colour_index": [0, 2, 4, 5, 8],  # black, white, beige (neutral), grey (neutral), red
        "brand": ["Lumen"] * 4 + ["Stride"],
        "season_index": [0] * 5,
        "launch_day": [100, 100, 102, 150, 100],
    })


def test_every_lead_gets_a_look_of_its_own_brand():
    looks = design_looks(_catalogue(), SEED)
    table = looks.table
    assert set(table.loc[table["is_lead"], "skc_id"]) == {1, 2}  # the Stride top has no bottom to go with
    assert set(table["skc_id"]) <= {1, 2, 3, 4} and 3 in set(table["skc_id"])
    assert looks.count[4] == 0 and looks.count[2] >= 2  # the bottom is styled with both tops


def test_partners_favour_the_leads_occasion_and_colours():
    """200 seasons, each with a casual black top and bottoms of either occasion, half of them red: the partner
    picked is casual about three times in four (weight 3 against 1) and rarely clashes."""
    season = np.repeat(np.arange(200), 9)
    frame = pd.DataFrame({
        "category": np.tile(["tops"] + ["bottoms"] * 8, 200),
        "occasion": np.tile(["casual"] + ["casual", "office"] * 4, 200),
        "colour_index": np.tile([0, 4, 4, 8, 8, 4, 4, 8, 8], 200),  # black lead; beige (neutral) or red bottoms
        "brand": "Lumen", "season_index": season, "launch_day": 100,
    })
    table = design_looks(frame, SEED).table
    partner = frame.iloc[table.loc[~table["is_lead"], "skc_id"].to_numpy() - 1]
    assert len(partner) == 200
    assert 0.65 < (partner["occasion"] == "casual").mean() < 0.85
    assert (partner["colour_index"] == 8).mean() < 0.2  # red with black: ×0.1


def _sell(affinity: Affinity, size_rank: list[int], seed: int = 1):
    """One store's day: top 1, the bottom, a red top of another brand; the order and the joins."""
    looks = design_looks(_catalogue(), SEED)
    skc = np.array([0, 2, 4])
    loc = np.zeros(3, np.int64)
    size = np.array(size_rank)
    return arrange(np.random.default_rng(seed), loc, size, skc, np.array(size_rank), looks, affinity)


def test_a_look_bought_together_stays_whole_and_sizes_must_fit():
    order, joined = _sell(Affinity(look_together=1.0, styled=0.0, size_gap=1), [3, 4, 3])
    assert sorted(order) == [0, 1, 2] and joined.sum() == 1
    pair = {order[i] for i in np.flatnonzero(joined)} | {order[i - 1] for i in np.flatnonzero(joined)}
    assert pair == {0, 1}  # the top and its bottom, never the other brand's top
    assert _sell(Affinity(look_together=1.0, styled=0.0, size_gap=1), [2, 5, 3])[1].sum() == 0  # S with XL: no
    for seed in range(5):
        assert _sell(Affinity(look_together=0.0, styled=0.0), [3, 3, 3], seed)[1].sum() == 0


@pytest.mark.slow
def test_outfits_change_tickets_but_never_units_demand_or_stock(tiny_build, con, tmp_path, monkeypatch):
    """The tiny chain rebuilt with random tickets (no outfits): the same units per SKU × store × day, demand and
    stock (returns are drawn in slot order, not ticket order), other tickets."""
    monkeypatch.setattr(outfits, "AFFINITY", Affinity(look_together=0.0, styled=0.0))
    path = tmp_path / "random-tickets.duckdb"
    build_warehouse(load_settings(engine="duckdb", warehouse=path), scale="tiny", seed=SEED, progress=False)
    con.execute(f"attach '{path}' as plain (read_only)")
    try:
        for table, columns in (("truth.demand", "*"), ("core.inventory", "*"), ("core.transfers", "*"),
                               ("core.sales", "sale_date, store_id, sku_id, line_type, sum(qty)")):
            group = " group by all" if "sum(" in columns else ""
            ours = f"select {columns} from {table}{group}"
            theirs = f"select {columns} from plain.{table}{group}"
            assert scalar(con, f"select count(*) from (({ours}) except all ({theirs}))") == 0, table
            assert scalar(con, f"select count(*) from (({theirs}) except all ({ours}))") == 0, table
        moved = scalar(con, """select count(*) from (select ticket_id, sku_id from core.sales where line_type = 'sale'
                               except select ticket_id, sku_id from plain.core.sales where line_type = 'sale')""")
        assert moved > 1000
    finally:
        con.execute("detach plain")
