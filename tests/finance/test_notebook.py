"""The finance notebooks under Papermill on the tiny chain: ``wb run monthly`` writes the write-down and
archives the report as HTML and PDF, a re-run gives the same lines, and a region manager's report names
only their region's stores."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import workbench as wb
from workbench.cli import main
from workbench.config import project_root
from workbench.pipelines import history

from ..forecasting.forecast_env import use_env, warehouse_copy
from ..notebook_checks import assert_clean_and_thin

pytestmark = pytest.mark.slow

NOTEBOOKS = project_root() / "notebooks"
AS_OF = "2025-11-30"


def test_the_notebooks_are_stored_clean_and_thin():
    assert_clean_and_thin(NOTEBOOKS / "finance_report.ipynb", ("as_of", "period", "compare", "by", "scope", "write",
                                                               "run_id"))
    assert_clean_and_thin(NOTEBOOKS / "consignment_write_down.ipynb", ("as_of", "month", "user", "write", "run_id"))


@pytest.fixture(scope="module")
def monthly(tiny_settings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("monthly")
    settings = warehouse_copy(tiny_settings, folder / "warehouse").with_(runs_dir=folder / "runs")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, settings)
        mp.setenv("WB_RUNS_DIR", str(settings.runs_dir))
        yield settings


def _run_monthly() -> None:
    result = CliRunner().invoke(main, ["run", "monthly", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "all 2 steps succeeded" in result.output


def _write_down_rows(settings) -> pd.DataFrame:
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        return s.table("marts.consignment_write_down").to_pandas()


def test_the_monthly_run_writes_the_write_down_and_archives_the_report_as_pdf(monthly):
    _run_monthly()
    attempts = history.read_attempts(monthly, pipeline="monthly").set_index("step")
    assert attempts["status"].tolist() == ["succeeded", "succeeded"]
    html = attempts.loc["finance_report", "archive_html"]
    pdf = PdfReader(html.replace(".html", ".pdf"))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Finance report" in text and "Stock by age" in text and "Risk control" in text
    assert "build_report(" not in text  # readers get the report, not the code
    first = _write_down_rows(monthly)
    assert len(first) > 0 and set(first["month"].astype(str)) == {"2025-11-01"}
    assert first["run_id"].nunique() == 1

    _run_monthly()
    again = _write_down_rows(monthly)
    keys = ["store_id", "sku_id"]
    columns = [c for c in first.columns if c != "run_id"]
    pd.testing.assert_frame_equal(first[columns].sort_values(keys).reset_index(drop=True),
                                  again[columns].sort_values(keys).reset_index(drop=True))
    assert set(again["run_id"]) != set(first["run_id"])  # replaced by the second run, not added to
    with wb.session("u_admin", settings=monthly, read_only=True) as s:
        cases = s.table("marts.risk_cases").to_pandas()
    assert not cases.duplicated(["period_start", "period_end", "check_name", "case_key"]).any()


def test_a_region_managers_report_names_only_their_stores(tiny_settings, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("WB_WAREHOUSE", str(tiny_settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(tiny_settings.audit_dir))
    out = tmp_path / "east.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / "finance_report.ipynb"), str(out), kernel_name="python3",
                               parameters={"as_of": AS_OF, "compare": "previous", "by": "store",
                                           "scope": "u_region_east"}, cwd=str(project_root()), progress_bar=False)
    shown = " ".join(str(o.get("text", "")) + " ".join(map(str, o.get("data", {}).values()))
                     for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
    with wb.session("u_admin", settings=tiny_settings, read_only=True) as s:
        stores = s.table("core.stores").to_pandas()
    east = set(stores.loc[stores["region"] == "East", "store_code"])
    named = set(re.findall(r"\bS\d{3}\b", shown))
    assert named and named <= east, named - east
