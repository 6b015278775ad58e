"""``notebooks/members.ipynb`` under Papermill on the tiny chain: it is stored clean and thin, and runs end to end
with the numbers the library gives and the store's call list masked."""

from __future__ import annotations

import nbformat
import pytest

from workbench.config import project_root

from ..notebook_checks import assert_clean_and_thin

pytestmark = pytest.mark.slow

NOTEBOOK = project_root() / "notebooks" / "members.ipynb"


def test_the_notebook_is_stored_clean_and_thin():
    assert_clean_and_thin(NOTEBOOK, ("as_of", "calibration_end", "user", "store_user", "months",
                                     "monthly_discount", "run_id"))


def _text(cell) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.get("outputs", []))


def test_the_notebook_runs_on_the_tiny_chain(tiny_settings, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("WB_WAREHOUSE", str(tiny_settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(tiny_settings.audit_dir))
    out = tmp_path / "members.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"as_of": "2025-12-31"}, kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = {c.source.splitlines()[0]: _text(c) for c in nb.cells if c.cell_type == "code" and c.source}

    def shown(first_line: str) -> str:
        return outputs[first_line]

    holdout = shown("score = score_holdout(session, calibration_end, as_of)")
    assert "error_pct" in holdout and "log_likelihood" in holdout
    assert "Champions" in shown("segment_counts(member_rfm(session, as_of)).to_pandas()")
    assert "重要价值客户" in shown("segment_counts(member_rfm(session, as_of)).to_pandas()")
    alerts = shown('store_session = wb.session(store_user, run_id=run_id, entry_point="pipeline" if run_id else "python")')
    assert "S001" in alerts and "new_alerts" in alerts
    assert "****" in shown("calls.calls.head(10)")  # the store's call list: phones masked
