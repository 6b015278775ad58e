"""Route costs by relation: the DC to every shop, shop to shop inside a city or region."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.allocation.routes import Route, RouteBook, load_route_book, route_table

STORES = pd.DataFrame({
    "store_id": [0, 1, 2, 3, 4, 5],
    "store_type": ["dc", "own", "own", "consignment", "own", "online"],
    "region": [None, "East", "East", "East", "North", None],
    "city": ["Wuxi", "Shanghai", "Shanghai", "Hangzhou", "Beijing", "Hangzhou"],
})
BOOK = RouteBook({"dc": Route(60, 3, 2), "same_city": Route(30, 1.5, 1), "same_region": Route(80, 4, 2),
                  "cross_region": Route(150, 8, 4)})


def test_relations_and_costs_per_pair():
    table = route_table(STORES, BOOK).set_index(["origin", "dest"])
    assert set(table.loc[0].index) == {1, 2, 3, 4}  # the DC serves every shop, not online
    assert table.loc[(1, 2), "relation"] == "same_city" and table.loc[(1, 2), "fixed_cost"] == 30
    assert table.loc[(3, 1), "relation"] == "same_region" and table.loc[(3, 1), "unit_cost"] == 4
    assert (1, 4) not in table.index and (5, 1) not in table.index and (1, 0) not in table.index


def test_cross_region_moves_only_when_switched_on():
    book = RouteBook(BOOK.routes, cross_region=True)
    table = route_table(STORES, book).set_index(["origin", "dest"])
    assert table.loc[(1, 4), "relation"] == "cross_region" and table.loc[(1, 4), "lead_days"] == 4


def test_the_shipped_configuration_loads_and_bad_ones_say_what_to_fix(tmp_path):
    assert load_route_book().routes["dc"].lead_days >= 1
    bad = tmp_path / "wb.yaml"
    bad.write_text("allocation:\n  routes:\n    dc: {fixed_cost: 1, unit_cost: 1, lead_days: 1}\n")
    with pytest.raises(ValueError, match="lacks"):
        load_route_book(bad)
    bad.write_text("allocation:\n  routes:\n    ferry: {fixed_cost: 1, unit_cost: 1, lead_days: 1}\n")
    with pytest.raises(ValueError, match="not a relation"):
        load_route_book(bad)
