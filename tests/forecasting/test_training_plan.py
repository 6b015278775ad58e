"""TrainingPlan: which origins a fit trains on, for small and large chains (pure date arithmetic)."""

from __future__ import annotations

import datetime as dt

from workbench.forecasting.forecast import MIN_ORIGINS, TrainingPlan

AS_OF = dt.date(2025, 12, 3)
WEEK = dt.timedelta(days=7)


def test_a_small_chain_trains_on_a_year_of_weekly_origins():
    origins = TrainingPlan().origins(AS_OF, 52, n_series=17_000)
    assert len(origins) == 52 + 3 and set(origins) == {AS_OF - WEEK * k for k in range(1, 56)}


def test_a_large_chain_spaces_its_origins_over_the_same_year():
    plan = TrainingPlan()
    origins = plan.origins(AS_OF, 52, n_series=165_000)
    assert len(origins) * 165_000 <= plan.max_series_origins
    assert min(origins) <= AS_OF - WEEK * 52  # its targets are this forecast's days last year
    assert AS_OF - dt.timedelta(days=28) in origins  # the calibration origin (targets end on the as-of date)
    assert sorted(origins)[-3:] == [AS_OF - WEEK * k for k in (3, 2, 1)]  # the freshest weeks stay weekly


def test_other_horizons_keep_their_calibration_origin_and_a_floor_of_origins():
    origins = TrainingPlan().origins(AS_OF, 6, n_series=100, horizon=21)
    assert AS_OF - dt.timedelta(days=21) in origins and max(origins) == AS_OF - WEEK
    squeezed = TrainingPlan(max_series_origins=1).origins(AS_OF, 52, n_series=10**6)
    assert len([o for o in squeezed if o <= AS_OF - dt.timedelta(days=28)]) >= MIN_ORIGINS - 1
