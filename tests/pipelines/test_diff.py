"""``wb runs diff A B``: two real runs of a fixture step compared from their kept outputs, and what is refused.

``scaled.ipynb`` writes ``rows`` forecast days of one SKU at one store with
``mean = scale * day number``: run A (3 rows, scale 1) against run B (4 rows,
scale 2) is 1 row added, 3 changed, and the sum of ``mean`` going 6 -> 20.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.config import load_settings
from workbench.pipelines import history
from workbench.pipelines.diff import check_reader, compare

from .project_files import write_notebook
from .run_files import WRITER_CODE, writer_home

AS_OF = "2025-11-30"
SCALED_PARAMETERS = 'as_of = "2025-11-30"\nrun_id = None\nuser = "u_pipeline"\nrows = 3\nscale = 1.0\nfail_after = False\n'
SCALED_CODE = (WRITER_CODE.replace('"mean": 1.0, ', '"mean": [scale * (d + 1) for d in range(rows)], ')
               .replace("    if hold:\n        Path(hold).write_text(str(os.getpid()))\n        threading.Event().wait()\n", "")
               .replace("    if fail:\n        raise RuntimeError(\"planned failure inside the write\")\n", ""))
PIPELINES = {
    "scaled": """\
        schedule: "30 2 * * *"
        steps:
          - name: write
            notebook: notebooks/scaled.ipynb
            outputs: [marts.forecast]
          - name: echo
            notebook: notebooks/step.ipynb
        """,
    "other": """\
        schedule: "30 2 * * *"
        steps:
          - name: write
            notebook: notebooks/scaled.ipynb
            outputs: [marts.forecast]
        """,
}


def forecast(days: dict[int, float], **extra) -> pd.DataFrame:
    """marts.forecast rows of SKU 1 at store 1: forecast day -> mean."""
    dates = pd.to_datetime("2025-12-01") + pd.to_timedelta(list(days), unit="D")
    return pd.DataFrame({"as_of": pd.Timestamp("2025-11-30").date(), "model_version": 1, "sku_id": 1, "store_id": 1,
                         "date": dates.date, "p10": 0.0, "p50": 1.0, "p90": 2.0, "mean": list(days.values()),
                         "nb_size": np.inf, "run_id": "r", **extra})


# ---------------------------------------------------------------- comparing frames


def test_rows_are_matched_on_the_key_and_float_noise_is_no_change():
    a = forecast({0: 1.0, 1: 2.0, 2: 3.0})
    b = forecast({1: 2.0 * (1 + 1e-12), 2: 3.5, 3: 4.0}, run_id="s")  # day 0 gone, day 3 new, day 2 changed
    d = compare("marts.forecast", a, b, examples=5)
    assert (d.rows_a, d.rows_b, d.added, d.removed, d.changed) == (3, 3, 1, 1, 1)
    assert d.key == ["sku_id", "store_id", "date"]  # as_of and run_id are not compared
    sums = {m["measure"]: m for m in d.measures}
    assert sums["sum of mean"]["a"] == 6.0 and sums["sum of mean"]["b"] == pytest.approx(9.5)
    assert sums["sum of nb_size"]["a"] == 0.0  # infinities (Poisson) are left out of a sum, and equal to each other
    assert "sum of model_version" not in sums and sums["rows"]["change"] == 0
    assert [e["change"] for e in d.examples] == ["added", "removed", "changed"]
    assert d.examples[-1]["what"] == "mean 3 -> 3.5"


def test_two_rows_for_one_key_cannot_be_compared():
    a = forecast({0: 1.0, 1: 2.0})
    with pytest.raises(ValueError, match="two rows for one key"):
        compare("marts.forecast", pd.concat([a, a]), a)


def test_only_a_user_who_sees_a_table_whole_may_compare_its_kept_copies():
    settings = load_settings()
    check_reader(settings, "u_hq", ["marts.forecast", "marts.transfer_plan"])
    for user in ("u_store_001", "u_region_east"):  # the copies carry no row filter
        with pytest.raises(PermissionError, match=f"{user} may not read all of marts.forecast"):
            check_reader(settings, user, ["marts.forecast"])


# ---------------------------------------------------------------- two real runs


@pytest.fixture(scope="module")
def runs(tiny_settings, tmp_path_factory):
    """Runs A (3 rows, scale 1) and B (4 rows, scale 2) of `scaled`, and one of `other`, on a tiny copy."""
    with pytest.MonkeyPatch.context() as mp:
        settings, project, _ = writer_home(tiny_settings, tmp_path_factory.mktemp("diff"), mp, PIPELINES)
        write_notebook(project.root / "notebooks" / "scaled.ipynb", SCALED_PARAMETERS, SCALED_CODE)
        for name, params in (("scaled", []), ("scaled", ["rows=4", "scale=2"]), ("other", [])):
            done = CliRunner().invoke(main, ["run", name, "--as-of", AS_OF, *[x for p in params for x in ("--param", p)]])
            assert done.exit_code == 0, done.output
        ids = history.summarise_runs(history.read_attempts(settings, user="u_admin"))
        by_start = ids.sort_values("started_at")["run_id"].tolist()
        yield {"settings": settings, "a": by_start[0], "b": by_start[1], "other": by_start[2]}


def wb(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_diff_of_two_runs_counts_added_and_changed_rows_and_the_change_in_sums(runs):
    result = wb("runs", "diff", runs["a"], runs["b"])  # the only step with outputs is chosen
    assert result.exit_code == 0, result.output
    assert f"scaled step write: A = {runs['a']} (as-of {AS_OF}), B = {runs['b']}" in result.output
    assert "marts.forecast: 3 rows in A, 4 in B; 1 added, 0 removed, 3 changed (key: sku_id, store_id, date)" in result.output
    found = json.loads(wb("runs", "diff", runs["a"], runs["b"], "--step", "write", "--format", "json").output)
    (table,) = found["tables"]
    sums = {m["measure"]: m for m in table["measures"]}
    assert (sums["sum of mean"]["a"], sums["sum of mean"]["b"], sums["sum of mean"]["change_pct"]) == (6.0, 20.0, pytest.approx(233.33, abs=0.01))
    assert [e["change"] for e in table["examples"]] == ["added", "changed", "changed", "changed"]
    assert table["examples"][1]["what"] == "mean 1 -> 2"
    back = json.loads(wb("runs", "diff", runs["b"], runs["a"], "--format", "json").output)["tables"][0]
    assert (back["added"], back["removed"], back["changed"]) == (0, 1, 3)


@pytest.mark.slow
def test_diff_refuses_what_it_cannot_compare_saying_what_to_do(runs):
    a, b = runs["a"], runs["b"]
    cases = {
        ("runs", "diff", a, runs["other"]): f"run {a} is of pipeline scaled, run {runs['other']} of other",
        ("runs", "diff", a, "nope"): "no run 'nope' in ops.pipeline_runs; `wb runs` lists the recorded runs",
        ("runs", "diff", a, b, "--step", "wrte"): f"run {a} has no step 'wrte' (steps: write, echo)",
        ("runs", "diff", a, b, "--step", "echo"): f"run {a} has no kept outputs of step echo",
        ("runs", "diff", a, b, "--user", "u_store_001"): "may not read or write ops.pipeline_runs",  # the door says
    }
    for args, message in cases.items():
        result = wb(*args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, (args, result.output)


@pytest.mark.slow
def test_diff_without_the_kept_outputs_says_how_to_get_them(runs, tmp_path):
    attempts = history.read_attempts(runs["settings"], user="u_admin", run_id=runs["a"])
    kept = next(p for p in attempts["archive_ipynb"] if p.endswith("write.ipynb")).replace("write.ipynb", "write.outputs")
    moved = tmp_path / "kept"
    shutil.move(kept, moved)
    try:
        result = wb("runs", "diff", runs["a"], runs["b"])
        assert result.exit_code == 2, result.output
        assert f"run {runs['a']} has no kept outputs of step write" in result.output
        assert f"re-run it with `wb run scaled --as-of {AS_OF}`" in result.output
    finally:
        shutil.move(moved, kept)
