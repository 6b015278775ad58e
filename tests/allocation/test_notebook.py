"""``notebooks/allocation.ipynb`` under Papermill on the tiny chain: it plans, shows, writes; a re-run replaces."""

from __future__ import annotations

import nbformat
import pytest

import workbench as wb
from workbench.allocation import output
from workbench.config import project_root

from ..notebook_checks import assert_clean_and_thin
from .conftest import AS_OF

pytestmark = pytest.mark.slow

NOTEBOOK = project_root() / "notebooks" / "allocation.ipynb"


def run(tmp_path, name: str, **parameters) -> nbformat.NotebookNode:
    import papermill

    out = tmp_path / f"{name}.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"as_of": str(AS_OF), **parameters},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    return nbformat.read(out, as_version=4)


def test_the_notebook_is_stored_clean_and_thin():
    assert_clean_and_thin(NOTEBOOK, ("as_of", "strategy", "region", "horizon_days", "threshold", "max_shipments",
                                     "rules", "run_id"))


def test_the_notebook_plans_and_a_rerun_replaces_its_plan(planned, tmp_path, monkeypatch):
    monkeypatch.setenv("WB_WAREHOUSE", str(planned.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(planned.audit_dir))
    nb = run(tmp_path, "first", run_id="run-1")
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 3
    with wb.session("u_admin", settings=planned, read_only=True) as s:
        first = {t: output.read_plan(s, t, AS_OF) for t in output.PLAN_TABLES}
    assert sum(len(f) for f in first.values()) > 0
    assert {r for f in first.values() for r in f["run_id"]} == {"run-1"}
    run(tmp_path, "second", run_id="run-2", threshold=1e9)  # nothing clears this trigger: an empty plan
    with wb.session("u_admin", settings=planned, read_only=True) as s:
        total = sum(s.table(t).count().to_pandas() for t in output.PLAN_TABLES)
    assert total == 0  # the day's plan was replaced by the empty one, not added to
