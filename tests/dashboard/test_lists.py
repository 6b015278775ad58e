"""Top and slow sellers, availability by store and hero items, checked against the rows behind them."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.dashboard.coverage import availability
from workbench.dashboard.heroes import hero_items
from workbench.dashboard.sellers import top_and_slow
from workbench.dashboard.settings import dashboard_settings
from workbench.dashboard.state import DashboardError, DashboardState
from workbench.metrics import compute, size_break

from .conftest import PERIOD

SETTINGS = dashboard_settings(raw={})


def test_top_and_slow_rank_style_colours_within_each_region(sessions):
    s = sessions("u_hq")
    state = DashboardState.make(["net_sales"], *PERIOD)
    ranked = top_and_slow(s, state, n=3)
    grid = compute(s, ["net_sales", "units", "stock_units"], by=["region", "skc_code"], start=PERIOD[0],
                   end=PERIOD[1], where={"channel": ["store", "online"]}).to_pandas()
    for region, rows in grid[grid.region.notna()].groupby("region"):
        top = ranked[(ranked.region == region) & (ranked.kind == "top")]
        best = rows[rows.units > 0].sort_values(["net_sales", "skc_code"], ascending=[False, True]).head(3)
        assert top.skc_code.tolist() == best.skc_code.tolist()
        assert top["rank"].tolist() == list(range(1, len(best) + 1))
        slow = ranked[(ranked.region == region) & (ranked.kind == "slow")]
        assert (slow.stock_units > 0).all() and len(slow) == min(3, int((rows.stock_units > 0).sum()))
        held = rows[rows.stock_units > 0]
        lowest = (held.units / (held.units + held.stock_units)).min()
        assert slow.sell_through_period.iloc[0] == pytest.approx(lowest)


def test_a_region_manager_ranks_their_region_only(sessions):
    ranked = top_and_slow(sessions("u_region_east"), DashboardState.make(["net_sales"], *PERIOD), n=2)
    assert set(ranked.region) == {"East"}


def test_availability_by_store_counts_the_last_snapshots_flags(sessions):
    s = sessions("u_hq")
    table = availability(s, DashboardState.make(["net_sales"], *PERIOD)).set_index("store_code")
    flags = size_break(s, PERIOD[1]).to_pandas()
    stores = s.table("stores").select("store_id", "store_code").to_pandas()
    counted = flags.merge(stores, on="store_id").groupby("store_code").agg(
        on_display=("on_display", "sum"), broken=("size_break", "sum"))
    for code, row in counted.iterrows():
        assert table.loc[code, "skcs_on_display"] == row.on_display
        assert table.loc[code, "skcs_size_broken"] == row.broken
    rates = compute(s, ["size_break_rate"], by=["store_code"], start=PERIOD[0], end=PERIOD[1]).to_pandas()
    for row in rates.dropna().itertuples():
        assert table.loc[row.store_code, "size_break_rate"] == pytest.approx(row.size_break_rate)
    assert table.size_break_rate.dropna().is_monotonic_decreasing


def test_a_store_manager_sees_their_stores_availability_only(sessions):
    table = availability(sessions("u_store_001"), DashboardState.make(["net_sales"], *PERIOD))
    assert table.store_code.tolist() == ["S001"]


def _baskets(session) -> pd.DataFrame:
    """Sale lines of the period with their style, straight from the governed tables."""
    sales = session.table("sales")
    lines = sales.filter((sales.sale_date >= PERIOD[0]) & (sales.sale_date <= PERIOD[1]) & (sales.line_type == "sale"))
    products = session.table("products").select("sku_id", "style_code")
    return lines.join(products, "sku_id").select("ticket_id", "style_code").distinct().to_pandas()


def test_without_configured_heroes_the_top_sellers_stand_in_and_their_companions_are_counted(sessions):
    s = sessions("u_hq")
    heroes = hero_items(s, None, PERIOD, settings=SETTINGS, top=3)
    assert heroes.chosen_by == "top sellers" and len(heroes.styles) == SETTINGS.hero_count
    best = compute(s, ["net_sales"], by=["style_code"], start=PERIOD[0], end=PERIOD[1]).to_pandas()
    assert heroes.styles[0] == best.sort_values("net_sales", ascending=False).style_code.iloc[0]
    assert set(heroes.sales.style_code) == set(heroes.styles)

    baskets = _baskets(s)
    hero = heroes.styles[0]
    tickets = set(baskets[baskets.style_code == hero].ticket_id)
    others = baskets[baskets.ticket_id.isin(tickets) & (baskets.style_code != hero)]
    expected = others.groupby("style_code").ticket_id.nunique().sort_values(ascending=False)
    got = heroes.attach[heroes.attach.hero_style == hero]
    assert len(got) == 3
    assert got.tickets_together.tolist() == expected.head(3).tolist()
    assert (got.hero_tickets == len(tickets)).all()
    assert got.share_of_hero_tickets.iloc[0] == pytest.approx(expected.iloc[0] / len(tickets))


def test_configured_heroes_are_used_and_unknown_ones_refused(sessions):
    s = sessions("u_hq")
    style = _baskets(s).style_code.iloc[0]
    configured = dashboard_settings(raw={"hero_styles": [style]})
    heroes = hero_items(s, None, PERIOD, settings=configured)
    assert heroes.styles == (style,) and heroes.chosen_by == "configuration"
    with pytest.raises(DashboardError, match=f"Style '{style}X' is not in the product list. Did you mean: {style}"):
        hero_items(s, [style + "X"], PERIOD, settings=SETTINGS)
