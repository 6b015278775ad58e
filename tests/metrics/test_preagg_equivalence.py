"""compute with rollups == compute without, over randomised (seeded) queries and users of different scopes.

Queries draw metrics, dimensions, filters (values in the data, values not in
it, two values, null) and date ranges (open, whole weeks, whole months,
any days) on the tiny chain with every rollup built. A request the layer
refuses must be refused the same way with and without rollups. The test
also counts how many queries a rollup answered, so that it cannot pass by
never using one.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

import workbench as wb
from workbench.metrics.query import MetricError
from workbench.metrics.rollup import compute, explain

from .test_preagg import build, copy_of

pytestmark = pytest.mark.slow  # builds the rollups, then runs each query twice (about 20 s)

METRICS = ["net_sales", "units", "tickets", "average_ticket", "units_per_ticket", "conversion", "traffic",
           "gross_margin", "markdown_rate", "return_rate", "net_receipts", "stock_units", "sell_through",
           "sell_through_period", "weeks_of_cover", "core_size_stockout_rate", "size_break_rate", "gmroi"]
PLAIN = ["region", "store_code", "channel", "brand", "category", "season"]
TIME = [None, None, "date", "week", "month", "quarter", "year"]
FILTERS = {"brand": ["Lumen", "Stride", "Meadow"], "category": ["tops", "bottoms", "outerwear"],
           "season": ["2025SS", "2024AW", "BASIC"], "region": ["East", "North"], "channel": ["store", "online"]}


def _range(rng: random.Random) -> tuple[dt.date | None, dt.date | None]:
    kind = rng.choice(["open", "weeks", "months", "days", "to"])
    if kind == "open":
        return None, None
    if kind == "weeks":
        start = dt.date(2025, 1, 6) + dt.timedelta(weeks=rng.randrange(40))
        return start, start + dt.timedelta(weeks=rng.randrange(1, 9), days=-1)
    if kind == "months":
        first = rng.randrange(1, 12)
        last = rng.randrange(first, 13)
        end = dt.date(2025, last, 28) + dt.timedelta(days=4)
        return dt.date(2025, first, 1), end - dt.timedelta(days=end.day)
    if kind == "days":
        start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(330))
        return start, start + dt.timedelta(days=rng.randrange(0, 60))
    return None, dt.date(2025, rng.randrange(2, 13), 1)


def _filters(rng: random.Random) -> dict:
    where = {}
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        dim = rng.choice(list(FILTERS))
        roll = rng.random()
        where[dim] = (rng.choice(FILTERS[dim]) if roll < 0.6 else rng.sample(FILTERS[dim], 2) if roll < 0.85
                      else "not-in-the-data" if roll < 0.95 else None)
    return where


def random_queries(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        by = rng.sample(PLAIN, rng.choice([0, 1, 1, 2]))
        time = rng.choice(TIME)
        start, end = _range(rng)
        out.append(dict(metrics=rng.sample(METRICS, rng.choice([1, 2, 3])), by=([time] if time else []) + by,
                        start=start, end=end, where=_filters(rng)))
    return out


@pytest.fixture(scope="module")
def rolled(tiny_settings, tmp_path_factory):
    settings = copy_of(tiny_settings, tmp_path_factory.mktemp("equivalence"))
    build(settings)
    return settings


def _answer(s, query: dict, rollups: bool) -> pd.DataFrame | str:
    try:
        return compute(s, **query, rollups=rollups).to_pandas()
    except MetricError as err:  # refused (conversion by brand, costs for a store manager ...)
        return f"refused: {err}"


@pytest.mark.parametrize("user, seed", [("u_hq", 1), ("u_region_east", 2), ("u_store_001", 3)])
def test_rollups_give_the_same_answers_as_the_raw_facts(rolled, user, seed):
    used = 0
    with wb.session(user, settings=rolled) as s:
        for query in random_queries(seed, 40):
            with_rollups, raw = _answer(s, query, True), _answer(s, query, False)
            if isinstance(raw, str):
                assert with_rollups == raw, query
                continue
            pd.testing.assert_frame_equal(with_rollups, raw, check_dtype=False, rtol=1e-9, obj=str(query))
            used += any(p["table"].startswith("marts.") for p in explain(s, **query))
    assert used >= 15, f"only {used} of 40 queries were answered from a rollup"
