"""``marts.forecast`` through the governed door: the contract, replace per as-of date, failures, grants, row policies."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.forecasting import output
from workbench.governance.backends import DuckDBOps
from workbench.warehouse.schema import OUTPUTS, TABLES

from .forecast_env import AS_OF, synthetic_forecast, table_state, warehouse_copy


@pytest.fixture
def settings(tiny_settings, tmp_path):
    return warehouse_copy(tiny_settings, tmp_path)


@pytest.fixture
def frame(settings):
    return synthetic_forecast(settings)


def write(settings, frame, as_of=AS_OF, version=1, run_id=None, user="u_pipeline", **kwargs) -> int:
    with wb.session(user, settings=settings, run_id=run_id) as s:
        return output.write_forecast(s, frame, as_of, version, **kwargs)


def test_the_contract_is_an_output_not_a_simulated_table():
    spec = OUTPUTS["marts.forecast"]
    assert "marts.forecast" not in TABLES  # the simulator does not build it
    assert spec.key == ("as_of", "sku_id", "store_id", "date")
    assert spec.column_names == ["as_of", "model_version", "sku_id", "store_id", "date", "p10", "p50", "p90",
                                 "mean", "nb_size", "run_id"]


def test_the_first_write_creates_the_table_with_the_contract_types(settings, frame):
    assert write(settings, frame, run_id="run-a") == len(frame) == 36
    with wb.session("u_analyst", settings=settings) as s:
        schema = s.table("marts.forecast").schema()
        back = output.read_forecast(s)
    expected = OUTPUTS["marts.forecast"].ibis_schema()
    assert {n: t.copy(nullable=True) for n, t in schema.items()} == {n: t.copy(nullable=True) for n, t in expected.items()}
    assert set(back["run_id"]) == {"run-a"} and set(back["model_version"]) == {1}
    assert (back["as_of"].dt.date == AS_OF).all() and (back["date"].dt.date > AS_OF).all()
    merged = back.merge(frame, on=["sku_id", "store_id", "date"], suffixes=("", "_in"))
    assert len(merged) == len(frame) and np.allclose(merged["mean"], merged["mean_in"])


def test_a_second_run_for_the_same_as_of_replaces_its_rows(settings, frame):
    write(settings, frame, run_id="run-a")
    write(settings, frame.iloc[:12], as_of=AS_OF - dt.timedelta(days=1), run_id="run-other-day")
    write(settings, frame, version=2, run_id="run-b")
    rows, runs, days = table_state(settings)
    assert rows == len(frame) + 12  # replaced, not added
    assert runs == {"run-b", "run-other-day"} and days == {AS_OF, AS_OF - dt.timedelta(days=1)}
    with wb.session("u_analyst", settings=settings) as s:
        assert set(output.read_forecast(s, AS_OF)["model_version"]) == {2}
        assert output.as_of_dates(s) == [AS_OF, AS_OF - dt.timedelta(days=1)]


def test_a_run_for_some_stores_replaces_only_theirs(settings, frame):
    write(settings, frame, run_id="run-all")
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        s001 = s.table("core.stores").filter(lambda t: t.store_code == "S001").store_id.to_pandas().iloc[0]
    only = frame[frame["store_id"] == s001].iloc[:5]
    assert write(settings, only, run_id="run-s001", stores=[s001]) == 5
    with wb.session("u_analyst", settings=settings) as s:
        back = output.read_forecast(s)
    assert len(back) == len(frame) - 12 + 5
    assert set(back.loc[back.store_code == "S001", "run_id"]) == {"run-s001"}
    assert set(back.loc[back.store_code != "S001", "run_id"]) == {"run-all"}
    with pytest.raises(ValueError, match="outside the run's stores"):
        write(settings, frame, stores=[s001])


@pytest.mark.parametrize("damage, message", [
    (lambda f: pd.concat([f, f.iloc[:2]]), "repeated row"),
    (lambda f: f.assign(mean=np.where(np.arange(len(f)) == 0, np.nan, f["mean"])), "mean: 1 null"),
    (lambda f: f.assign(date=f["date"] - pd.Timedelta(days=3)), "on or before the as-of date"),
    (lambda f: f.iloc[:0], "empty"),
    (lambda f: f.drop(columns="p90"), "lacks column"),
])
def test_a_bad_forecast_is_refused_and_the_previous_rows_stay(settings, frame, damage, message):
    write(settings, frame, run_id="good")
    before = table_state(settings)
    with pytest.raises(ValueError, match=message):
        write(settings, damage(frame), run_id="bad")
    assert table_state(settings) == before


def test_a_write_that_fails_midway_rolls_back(settings, frame, monkeypatch):
    write(settings, frame, run_id="good")
    before = table_state(settings)

    def broken_insert(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(DuckDBOps, "insert", broken_insert)  # after the delete of that day's rows
    with pytest.raises(OSError, match="disk full"):
        write(settings, frame, run_id="failed")
    monkeypatch.undo()
    assert table_state(settings) == before


def test_a_run_for_some_stores_that_fails_after_the_first_store_rolls_back_every_store(settings, frame, monkeypatch):
    write(settings, frame, run_id="good")
    before = table_state(settings)
    inserts = []
    real_insert = DuckDBOps.insert

    def second_insert_fails(self, *args, **kwargs):
        inserts.append(args[2])
        if len(inserts) == 2:  # the first store's rows are in; a kill or crash here must not leave them alone
            raise OSError("disk full")
        return real_insert(self, *args, **kwargs)

    monkeypatch.setattr(DuckDBOps, "insert", second_insert_fails)
    with pytest.raises(OSError, match="disk full"):
        write(settings, frame, run_id="partial", stores=sorted(set(frame["store_id"])))
    monkeypatch.undo()
    assert len(inserts) == 2 and table_state(settings) == before  # one transaction for all the stores


def test_only_writers_may_write(settings, frame):
    write(settings, frame, run_id="good")
    before = table_state(settings)
    for user in ("u_analyst", "u_region_east", "u_store_001"):
        with wb.session(user, settings=settings) as s, pytest.raises(PermissionError, match="may not write marts.forecast"):
            output.write_forecast(s, frame, AS_OF, 1)
    with wb.session("u_analyst", settings=settings) as s, pytest.raises(PermissionError, match="may not write"):
        s.write("marts.forecast", output.to_rows(frame, AS_OF, 1), mode="replace_where", where={"as_of": AS_OF})
    assert table_state(settings) == before


def test_store_and_region_managers_read_only_their_stores_rows(settings, frame):
    write(settings, synthetic_forecast(settings, stores=("S001", "S002", "S003", "S004", "S005")))
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        regions = s.table("core.stores").select("store_code", "region").to_pandas().set_index("store_code")["region"]
    seen = {}
    for user in ("u_analyst", "u_store_001", "u_store_multi", "u_region_east"):
        with wb.session(user, settings=settings) as s:
            seen[user] = set(output.read_forecast(s)["store_code"])
    assert seen["u_analyst"] == {"S001", "S002", "S003", "S004", "S005"}
    assert seen["u_store_001"] == {"S001"} and seen["u_store_multi"] == {"S001", "S002"}
    assert seen["u_region_east"] == {c for c in seen["u_analyst"] if regions[c] == "East"} != seen["u_analyst"]


def test_reading_filters_and_says_what_exists(settings, frame):
    with wb.session("u_analyst", settings=settings) as s, pytest.raises(LookupError, match="no forecast in marts.forecast yet"):
        output.read_forecast(s)
    write(settings, frame)
    with wb.session("u_analyst", settings=settings) as s:
        one = output.read_forecast(s, store_codes=["S002"], sku_codes=[output.read_forecast(s)["sku_code"].iloc[0]])
        assert set(one["store_code"]) == {"S002"} and one["sku_code"].nunique() == 1 and len(one) == 3
        skc = output.read_forecast(s, sku_codes=[one["skc_code"].iloc[0]])  # an SKC code: all its sizes
        assert set(skc["skc_code"]) == {one["skc_code"].iloc[0]}
        with pytest.raises(LookupError, match="no forecast for as-of 2025-11-01 .* there are: 2025-11-30"):
            output.read_forecast(s, "2025-11-01")
