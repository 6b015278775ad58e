"""``wb run daily`` on the tiny chain: forecast (with a reviewed champion), allocation, rollups, twice.

Every step succeeds, each attempt is in ops.pipeline_runs with the tables it
wrote and its archived notebooks (which open), and the second run for the
same as-of date replaces the first one's outputs with the same rows: no
duplicates, nothing of the first run left.
"""

from __future__ import annotations

import functools

import nbformat
import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import main
from workbench.forecasting import review, runs
from workbench.metrics.preagg import ROLLUPS
from workbench.pipelines import history
from workbench.tracking.review import review as gate
from workbench.warehouse.schema import OUTPUTS

from ..forecasting.forecast_env import AS_OF, GOOD, PLAN, use_env, warehouse_copy

pytestmark = pytest.mark.slow

OUTPUT_TABLES = ("marts.forecast", "marts.replenishment_plan", "marts.transfer_plan")


@pytest.fixture(scope="module")
def daily(tiny_settings, tmp_path_factory, mlflow_server):
    """A private tiny warehouse, a champion of its own model name trained at AS_OF, the env pointing at both."""
    folder = tmp_path_factory.mktemp("daily")
    settings = warehouse_copy(tiny_settings, folder / "warehouse").with_(runs_dir=folder / "runs")
    with pytest.MonkeyPatch.context() as mp:
        name = use_env(mp, settings)
        mp.setenv("WB_RUNS_DIR", str(settings.runs_dir))
        mp.setenv("WB_FORECAST_REVIEW_WINDOWS", "1")
        with wb.session("u_pipeline", settings=settings, read_only=True) as s:
            runs.train(s, AS_OF, params=GOOD, plan=PLAN, backtest=False, settings=settings)
        assert gate(name, functools.partial(review.evaluate, settings=settings)).promoted
        yield settings


def outputs(settings) -> dict[str, tuple[list[tuple], set[str]]]:
    """Per output table: its rows of AS_OF without run_id (sorted), and the run ids on them."""
    found = {}
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        for table in OUTPUT_TABLES:
            frame = s.table(table).filter(lambda t: t.as_of == AS_OF).to_pandas()
            keys = list(OUTPUTS[table].key)
            assert not frame.duplicated(keys).any(), f"duplicate keys in {table}"
            rows = frame.drop(columns="run_id").round(9).astype(str).itertuples(index=False)
            found[table] = (sorted(map(tuple, rows)), set(frame["run_id"]))
    return found


def run_daily() -> str:
    result = CliRunner().invoke(main, ["run", "daily", "--as-of", str(AS_OF)])
    assert result.exit_code == 0, result.output
    assert "all 3 steps succeeded" in result.output
    return result.output


def test_daily_runs_every_step_records_archives_and_a_rerun_gives_the_same_outputs(daily):
    run_daily()
    first = history.read_attempts(daily, pipeline="daily")
    assert first[["step", "attempt", "status"]].values.tolist() == [["forecast", 1, "succeeded"],
                                                                     ["allocation", 1, "succeeded"],
                                                                     ["rollups", 1, "succeeded"]]
    assert first["outputs"].tolist() == ["marts.forecast", "marts.replenishment_plan,marts.transfer_plan",
                                      ",".join(sorted(["marts.rollups", *(r.table for r in ROLLUPS)]))]
    assert first["acting_user"].eq("u_pipeline").all() and first["git_commit"].str.fullmatch(r"[0-9a-f]{40}").all()
    for ipynb, html in zip(first["archive_ipynb"], first["archive_html"]):
        nb = nbformat.read(ipynb, as_version=4)
        assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
        assert html.endswith(".html") and "<html" in open(html, encoding="utf-8").read(2000).lower()
    run_one = first["run_id"].iloc[0]
    assert f"/daily/{AS_OF}/{run_one}/forecast.ipynb" in first["archive_ipynb"].iloc[0]
    before = outputs(daily)
    assert len(before["marts.forecast"][0]) > 10_000 and len(before["marts.replenishment_plan"][0]) > 0
    assert all(ids == ({run_one} if rows else set()) for rows, ids in before.values())

    run_daily()
    after = outputs(daily)
    run_two = history.read_attempts(daily, pipeline="daily")["run_id"].iloc[-1]
    assert run_two != run_one
    for table in OUTPUT_TABLES:
        assert after[table][0] == before[table][0], f"{table} differs between two runs of the same as-of date"
        assert after[table][1] == ({run_two} if after[table][0] else set())  # replaced, not added to
    listed = CliRunner().invoke(main, ["runs", "--pipeline", "daily", "--format", "csv"])
    assert listed.exit_code == 0 and listed.output.count("3 succeeded") == 2
