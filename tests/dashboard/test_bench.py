"""wb bench dashboard: a seeded sequence of valid interactions, timed, in the shared JSON format."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from workbench.dashboard.bench import KINDS, command, p95, sequence


def test_each_round_has_every_kind_and_adds_a_filter_before_removing_one():
    kinds = list(sequence(random.Random(7), 20))
    assert len(kinds) == 20 * len(KINDS)
    for i in range(0, len(kinds), len(KINDS)):
        one = kinds[i:i + len(KINDS)]
        assert sorted(one) == sorted(KINDS) and one.index("filter_add") < one.index("filter_remove")
    assert kinds == list(sequence(random.Random(7), 20))  # seeded: the same replay every time


def test_p95():
    assert p95([5.0]) == 5.0
    assert p95(list(map(float, range(1, 101)))) == pytest.approx(95.05)


@pytest.mark.slow
def test_the_bench_runs_on_the_tiny_chain(tiny_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WB_AUDIT_DIR", str(tmp_path / "audit"))
    out = tmp_path / "dash.json"
    result = CliRunner().invoke(command, ["--scale", "tiny", "--warehouse", str(tiny_settings.warehouse),
                                          "--rounds", "1", "--user", "u_region_east", "--sessions", "2",
                                          "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["bench"] == "dashboard" and data["scale"] == "tiny" and data["seed"] == 42
    rows = {(r["method"], r["metric"], r["level"]): r["value"] for r in data["results"]}
    assert rows[("workbench", "errors", None)] == 0
    assert rows[("workbench", "first_render_s", "worst user")] > 0
    assert {k for (m, metric, k) in rows if m == "workbench" and metric == "p95_ms"} == set(KINDS)
    assert rows[("workbench", "peak_rss_mb", "server, one session open at a time")] > 0  # the real server ran
    assert ("workbench", "rss_growth_pct", "2 sessions") in rows
    plans = out.with_suffix(".plans.md").read_text()
    assert "## u_region_east: dimension" in plans and "SEQ_SCAN" in plans and "core.sales" in plans
