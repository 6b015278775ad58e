"""The ingest benchmark runs and reports in the shared long format."""

from __future__ import annotations

from workbench.ingest.bench import measure


def test_measure_reports_every_step_in_the_shared_format(tmp_path):
    results = measure(3000, seed=7, encoding="gb18030", workdir=tmp_path)
    assert all(set(r) == {"method", "metric", "level", "value"} for r in results)
    by = {(r["method"], r["metric"]): r["value"] for r in results}
    assert {("read", "wall_s"), ("check_rows", "wall_s"), ("quarantine", "wall_s"), ("total", "rows_per_s")} <= set(by)
    assert by[("total", "rows_read")] == 3000
    assert 30 < by[("total", "rows_quarantined")] < 200  # about 3 % planted
    assert list(tmp_path.iterdir()) == []  # the generated file is removed
