"""Data checks: validated when the pipeline file is read, evaluated in the engine on the run's as-of rows.

The evaluation tests use a DuckDB file of their own holding only the rows
each test writes to ``marts.forecast`` through the door (no chain needed).
"""

from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import workbench as wb
from workbench.config import load_settings
from workbench.pipelines import PipelineError, checks
from workbench.pipelines.checks import Check
from workbench.warehouse.schema import OUTPUTS

STEP = "- name: a\n  notebook: notebooks/step.ipynb\n  outputs: [marts.forecast]\n  checks:\n"
DAY = dt.date(2025, 11, 30)


def loaded(project, checks_yaml: str, outputs: str = "[marts.forecast]"):
    step = STEP.replace("[marts.forecast]", outputs) + textwrap.indent(textwrap.dedent(checks_yaml), "    ")
    return project.steps("p", step).steps[0].checks


def load_error(project, checks_yaml: str, outputs: str = "[marts.forecast]") -> str:
    with pytest.raises(PipelineError) as caught:
        loaded(project, checks_yaml, outputs)
    return str(caught.value)


def test_checks_load_with_their_defaults(project):
    found = loaded(project, """\
        - {check: row_count, min: 1}
        - {check: unique}
        - {check: range, columns: [p10, mean], min: 0, max: 1000, save_rows: 5}
        - {check: freshness, table: marts.forecast, column: date, name: forecast covers the future}
        """)
    assert found == (Check("row_count", "marts.forecast", min=1.0),
                     Check("unique", "marts.forecast", OUTPUTS["marts.forecast"].key),
                     Check("range", "marts.forecast", ("p10", "mean"), 0.0, 1000.0, save_rows=5),
                     Check("freshness", "marts.forecast", ("date",), within_days=0, name="forecast covers the future"))
    assert found[2].label == "range on marts.forecast (p10, mean)" and found[3].label == "forecast covers the future"


@pytest.mark.parametrize("checks_yaml, expected", [
    ("- {check: rowcount, min: 1}", "check 1: unknown check 'rowcount'; the checks are row_count, not_null, range"),
    ("- {check: not_null, colums: [mean]}", "check 1: unknown key 'colums'; did you mean 'columns'?"),
    ("- {min: 1}", "check 1: missing key 'check'"),
    ("- {check: row_count, table: marts.nothing, min: 1}", "check 1: unknown table 'marts.nothing'; checks read output"),
    ("- {check: row_count}", "check 1: row_count needs min, max or both"),
    ("- {check: row_count, min: 5, max: 1}", "min 5 is above max 1"),
    ("- {check: row_count, min: lots}", "min must be a number, got 'lots'"),
    ("- {check: not_null}", "not_null needs columns: [NAME, ...]"),
    ("- {check: not_null, columns: [qty]}", "marts.forecast has no column 'qty' (its columns: as_of, model_version"),
    ("- {check: range, columns: [date], min: 0}", "range needs a numeric column; date is date"),
    ("- {check: freshness, column: mean}", "freshness needs a date or timestamp column; mean is float64"),
    ("- {check: freshness, column: date, within_days: -1}", "within_days must be at least 0"),
])
def test_a_bad_check_is_refused_on_load_naming_the_step_and_the_check(project, checks_yaml, expected):
    message = load_error(project, checks_yaml)
    assert "step 'a', check 1" in message and expected in message, message


def test_a_check_without_a_table_needs_a_step_with_one_output(project):
    message = load_error(project, "- {check: row_count, min: 1}", "[marts.replenishment_plan, marts.transfer_plan]")
    assert "say which table it checks (table: marts.NAME); the step has 2 outputs" in message


# ---------------------------------------------------------------- evaluation


def forecast_row(**values) -> dict:
    row = {"as_of": DAY, "model_version": 1, "sku_id": 1, "store_id": 1, "date": DAY + dt.timedelta(days=1),
           "p10": 0.0, "p50": 1.0, "p90": 2.0, "mean": 1.0, "nb_size": 2.0}
    return {**row, **values}


@pytest.fixture
def warehouse(tmp_path):
    """Settings of an empty DuckDB file; ``write(rows)`` appends marts.forecast rows through the door as a run."""
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    settings = load_settings(warehouse=path, audit_dir=tmp_path / "audit")

    def write(rows: list[dict]) -> None:
        schema = pa.schema([f for f in OUTPUTS["marts.forecast"].arrow_schema() if f.name != "run_id"])
        with wb.session("u_pipeline", settings=settings, read_only=False, run_id="test-run") as s:
            s.write("marts.forecast", pa.Table.from_pylist(rows, schema=schema))

    return settings, write


def verify(settings, folder, *found: Check, as_of: dt.date = DAY) -> str | None:
    def opened():
        return wb.session("u_pipeline", settings=settings, read_only=True, run_id="test-run")

    return checks.verify(opened, found, as_of, folder, "forecast.attempt2")


def test_rows_that_meet_every_expectation_pass_and_save_nothing(warehouse, tmp_path):
    settings, write = warehouse
    write([forecast_row(sku_id=k) for k in range(5)] + [forecast_row(as_of=DAY - dt.timedelta(days=1), mean=-5.0)])
    found = (Check("row_count", "marts.forecast", min=5, max=5), Check("not_null", "marts.forecast", ("p10", "mean")),
             Check("range", "marts.forecast", ("mean",), 0, 10),  # the other as-of date's -5 is not this run's
             Check("unique", "marts.forecast", OUTPUTS["marts.forecast"].key),
             Check("freshness", "marts.forecast", ("date",), within_days=0))
    assert verify(settings, tmp_path / "run", *found) is None
    assert not (tmp_path / "run").exists()


def test_each_failed_check_is_named_with_its_counts_and_its_offending_rows_saved(warehouse, tmp_path):
    settings, write = warehouse
    write([forecast_row(sku_id=1), forecast_row(sku_id=2, p10=None, mean=-1.0), forecast_row(sku_id=2, p10=None),
           forecast_row(sku_id=3, mean=50.0)])
    folder = tmp_path / "run"
    error = verify(settings, folder, Check("row_count", "marts.forecast", min=10),
                   Check("not_null", "marts.forecast", ("p10", "p50")),
                   Check("range", "marts.forecast", ("mean",), min=0, max=10, save_rows=1),
                   Check("unique", "marts.forecast", OUTPUTS["marts.forecast"].key, name="one row per key"))
    saved = {n: folder / f"forecast.attempt2.check{n}-{kind}.csv" for n, kind in ((2, "not_null"), (3, "range"),
                                                                                  (4, "unique"))}
    assert error == (
        "check 1 row_count on marts.forecast failed: 4 rows for as-of 2025-11-30, expected at least 10; "
        f"check 2 not_null on marts.forecast (p10, p50) failed: 2 of 4 rows have a null (p10: 2) (rows: {saved[2]}); "
        f"check 3 range on marts.forecast (mean) failed: 2 of 4 rows are out of range (expected between 0 and 10) (rows: {saved[3]}); "
        f"check 4 one row per key failed: 2 of 4 rows repeat a value of (as_of, sku_id, store_id, date) that "
        f"should be unique (rows: {saved[4]})")
    assert sorted(pd.read_csv(saved[2])["sku_id"]) == [2, 2]
    assert len(pd.read_csv(saved[3])) == 1  # save_rows: 1
    dups = pd.read_csv(saved[4])
    assert dups["sku_id"].tolist() == [2, 2] and set(dups["run_id"]) == {"test-run"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in saved.values())


def test_stale_or_missing_dates_fail_freshness(warehouse, tmp_path):
    settings, write = warehouse
    write([forecast_row(date=DAY - dt.timedelta(days=9))])
    fresh = Check("freshness", "marts.forecast", ("date",), within_days=3)
    assert verify(settings, tmp_path, fresh) == (
        "check 1 freshness on marts.forecast (date) failed: the newest date is 2025-11-21, 9 days before the as-of "
        "date 2025-11-30; expected within 3 days")
    assert verify(settings, tmp_path, fresh, as_of=DAY + dt.timedelta(days=1)) == (
        "check 1 freshness on marts.forecast (date) failed: no date for as-of 2025-12-01: the table has no rows for it")


def test_a_missing_table_or_column_is_a_failed_check_that_says_what_to_fix(warehouse, tmp_path):
    settings, write = warehouse
    assert verify(settings, tmp_path, Check("row_count", "marts.transfer_plan", min=0)) == (
        "check 1 row_count on marts.transfer_plan failed: marts.transfer_plan does not exist: the step wrote nothing "
        "to it")
    write([forecast_row()])
    message = verify(settings, tmp_path, Check("not_null", "marts.forecast", ("qty",)))
    assert message.startswith("check 1 not_null on marts.forecast (qty) failed: marts.forecast has no column 'qty' "
                              "(its columns: as_of, model_version, sku_id")
    assert message.endswith("); fix the check in the pipeline file")


def test_checks_that_cannot_run_fail_the_step(tmp_path):
    settings = load_settings(warehouse=tmp_path / "missing.duckdb", audit_dir=tmp_path / "audit")
    error = verify(settings, tmp_path, Check("row_count", "marts.forecast", min=1))
    assert error.startswith("data checks could not run: WarehouseMissing: no warehouse at")


def test_the_daily_pipeline_checks_the_forecast_and_both_plans():
    from workbench.pipelines import load_pipeline

    daily = load_pipeline("daily")
    checked = {s.name: {(c.kind, c.table) for c in s.checks} for s in daily.steps}
    assert {"row_count", "not_null", "range", "unique", "freshness"} == {k for k, _ in checked["forecast"]}
    assert {t for _, t in checked["allocation"]} == {"marts.replenishment_plan", "marts.transfer_plan"}
