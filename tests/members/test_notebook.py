"""``notebooks/members.ipynb`` under Papermill on the tiny chain: it is stored clean and thin, and runs end to end
with the numbers the library gives, the store's call list masked, and (as the scheduler) writes its outputs."""

from __future__ import annotations

import shutil

import nbformat
import pytest

import workbench as wb
from workbench.config import load_settings

from workbench.config import project_root

from ..notebook_checks import assert_clean_and_thin

pytestmark = pytest.mark.slow

NOTEBOOK = project_root() / "notebooks" / "members.ipynb"


def test_the_notebook_is_stored_clean_and_thin():
    assert_clean_and_thin(NOTEBOOK, ("as_of", "calibration_end", "user", "store_user", "months",
                                     "monthly_discount", "run_id", "pairing_as_of", "pairing_days", "hero_styles",
                                     "hero_start", "scalper_start", "write_user"))


def _text(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.get("outputs", []))


def test_the_notebook_runs_on_the_tiny_chain(tiny_settings, tmp_path, monkeypatch):
    import papermill

    settings = load_settings(engine="duckdb", warehouse=tmp_path / "tiny.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)  # the notebook writes: a copy of the shared chain
    monkeypatch.setenv("WB_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(settings.audit_dir))
    out = tmp_path / "members.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"as_of": "2025-12-31", "write_user": "u_pipeline"},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = {c.source.splitlines()[0]: _text(c) for c in nb.cells if c.cell_type == "code" and c.source}

    def shown(first_line: str) -> str:
        return outputs[first_line]

    holdout = shown("score = score_holdout(session, calibration_end, as_of)")
    assert "error_pct" in holdout and "log_likelihood" in holdout
    segments = shown("segments = segment_counts(member_rfm(session, as_of)).to_pandas()")
    assert "Champions" in segments and "重要价值客户" in segments
    for chart in ("segments_chart(segments)", "holdout_chart(score.by_frequency())  # mean holdout purchases by "
                  "calibration frequency (the paper's figure 4)"):
        assert ":Bars" in shown(chart), chart  # a HoloViews bar chart, drawn
    alerts = shown('store_session = wb.session(store_user, run_id=run_id, entry_point="pipeline" if run_id else "python")')
    assert "S001" in alerts and "new_alerts" in alerts
    assert "****" in shown("calls.calls.head(10)")  # the store's call list: phones masked
    assert "lift_over_popularity" in shown("pairing = score_pairing(session, pairing_as_of, holdout_days=pairing_days)")
    assert "suggested_code" in shown("pairing_suggestions(session, as_of).to_pandas().head(10)")
    assert "top sellers" in shown('heroes = hero_tracking(session, hero_styles, hero_start, as_of, every="month")')
    assert "stores of" in shown("cases = scalper_cases(session, scalper_start, as_of)")
    written = shown("store_session.close()  # the reading sessions first: DuckDB allows one access mode per file and process")
    assert "marts.member_calls" in written and "marts.scalper_cases" in written
    with wb.session("u_analyst", settings=settings) as s:
        assert s.table("marts.member_segments").count().to_pandas() > 1000
        assert s.table("marts.scalper_cases").period_start.max().to_pandas().date().isoformat() == "2025-10-03"
