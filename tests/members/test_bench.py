"""``wb bench members`` on the tiny chain: the shared JSON format, BG/NBD against each member's own pace."""

from __future__ import annotations

import json

from click.testing import CliRunner

from workbench.cli import main


def _value(report: dict, method: str, metric: str, level=None):
    (value,) = [r["value"] for r in report["results"] if (r["method"], r["metric"], r["level"]) == (method, metric, level)]
    return value


def test_the_members_bench_scores_bgnbd_on_a_holdout(tiny_settings, tmp_path):
    out = tmp_path / "members.json"
    result = CliRunner().invoke(main, ["bench", "members", "--warehouse", str(tiny_settings.warehouse),
                                       "--as-of", "2025-12-31", "--holdout-weeks", "13", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report) == {"bench", "scale", "seed", "started", "machine", "results"} and report["bench"] == "members"
    assert report["machine"]["calibration_end"] == "2025-10-01" and report["machine"]["holdout_weeks"] == 13
    error = _value(report, "bgnbd", "holdout_error_pct")
    assert error == abs(_value(report, "bgnbd", "holdout_bias_pct")) and error >= 0
    predicted, actual = _value(report, "bgnbd", "predicted_purchases"), _value(report, "bgnbd", "actual_purchases")
    assert abs(error - 100 * abs(predicted - actual) / actual) < 0.05  # predicted is rounded to 0.1
    # the model beats a member keeping their own calibration pace, in total and per member
    assert error < _value(report, "naive_rate", "holdout_error_pct")
    assert _value(report, "bgnbd", "holdout_mae") < _value(report, "naive_rate", "holdout_mae")
    assert "holdout_error_pct" in result.output
    # outfit pairing: suggestions up to Dec 3 tested on the 28 days after; the co-purchase beats the best sellers
    assert report["machine"]["pairing_as_of"] == "2025-12-03" and report["machine"]["pairing_top_k"] == 5
    ours, popular = _value(report, "workbench", "pairing_hit_rate"), _value(report, "popularity", "pairing_hit_rate")
    assert 0 < popular < ours < 1 and _value(report, "workbench", "pairing_tickets") > 300
    # the planted looks (truth.looks): co-purchase recovers more of them than the best sellers do
    for metric in ("pairing_look_recall", "pairing_look_precision"):
        assert 0 <= _value(report, "popularity", metric) < _value(report, "workbench", metric) <= 1
    # scalpers over the whole year, scored by the oracle: the pooled rules find every planted case
    assert report["machine"]["scalper_start"] == "2025-01-01" and _value(report, "workbench", "scalper_planted") == 7
    assert _value(report, "workbench", "scalper_recall") == 1.0
    assert _value(report, "workbench", "scalper_precision", "multi_store") == 1.0
    assert 0 < _value(report, "workbench", "scalper_precision") < 1  # the purchase limit also catches fans


def test_the_members_bench_explains_a_holdout_before_the_data(tiny_settings):
    result = CliRunner().invoke(main, ["bench", "members", "--warehouse", str(tiny_settings.warehouse),
                                       "--as-of", "2025-02-01", "--holdout-weeks", "13"])
    assert result.exit_code != 0 and "before any member purchase" in result.output
