"""``wb run`` refuses bad input in one line, exit code 2, before anything runs (no lock, no archive, no history)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from workbench.cli import main

STEP = "- name: a\n  notebook: notebooks/step.ipynb\n"


def wb_cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def home(project, monkeypatch, tmp_path):
    """The throwaway project as WB_HOME; runs would be archived under tmp_path/runs."""
    monkeypatch.setenv("WB_HOME", str(project.root))
    monkeypatch.setenv("WB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("WB_WAREHOUSE", str(tmp_path / "no-warehouse.duckdb"))  # never opened by a refused run
    project.steps("good", STEP)
    return project


def refused(result, pattern: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and re.search(pattern, lines[0]), result.output
    return lines[0]


@pytest.mark.parametrize("args, pattern", [
    (["nightly", "--as-of", "2025-11-30"], r"no pipeline 'nightly' .*known: .*good"),
    (["good", "--as-of", "30.11.2025"], r"as-of date '30.11.2025' is not a date: write it as YYYY-MM-DD"),
    (["good", "--as-of", "2025-11-30", "--param", "kno=3"], r"no step of pipeline 'good' declares a parameter 'kno'"),
    (["good", "--as-of", "2025-11-30", "--param", "b.knob=3"], r"pipeline 'good' has no step 'b'"),
    (["good", "--as-of", "2025-11-30", "--param", "as_of=2025-01-01"], r"as_of is set by the run itself"),
    (["good", "--as-of", "2025-11-30", "--param", "knob"], r"a parameter is NAME=VALUE"),
    (["good", "--as-of", "2025-11-30", "--user", "u_nobody"], r"unknown user 'u_nobody' to run as: see `wb users`"),
])
def test_bad_arguments_are_refused_before_anything_runs(home, tmp_path, args, pattern):
    refused(wb_cli("run", *args), pattern)
    assert not (tmp_path / "runs").exists()


def test_a_cycle_or_a_malformed_cron_in_the_file_is_refused_before_anything_runs(home, tmp_path):
    home.write("loop", 'schedule: "30 2 * * *"\nsteps:\n' + STEP.replace("\n  notebook", "\n  depends_on: [a]\n  notebook"))
    refused(wb_cli("run", "loop", "--as-of", "2025-11-30"), r"cycle: a -> a")
    home.write("cron", 'schedule: "30 25 * * *"\nsteps:\n' + STEP)
    refused(wb_cli("run", "cron", "--as-of", "2025-11-30"), r"cron '30 25 \* \* \*' .* is not valid")
    home.write("undeclared", 'schedule: "30 2 * * *"\nsteps:\n' + STEP + "  parameters: {horizon: 3}\n")
    refused(wb_cli("run", "undeclared", "--as-of", "2025-11-30"), r"parameter 'horizon' is not declared")
    assert not (tmp_path / "runs").exists()


def test_without_a_warehouse_the_run_is_refused_before_its_first_step(home, tmp_path):
    line = refused(wb_cli("run", "good", "--as-of", "2025-11-30"), r"no warehouse at .*no-warehouse.duckdb: build it "
                                                                   r"with `wb demo-data` \(or set WB_WAREHOUSE\) \(run good-")
    assert line.endswith("stopped)") and not list((tmp_path / "runs").glob("good/*"))


def test_a_pipeline_without_steps_is_a_no_op(home, tmp_path):
    home.write("empty", 'schedule: "0 5 1 * *"\nsteps: []\n')
    result = wb_cli("run", "empty", "--as-of", "2025-11-30")
    assert result.exit_code == 0 and "empty has no steps yet: nothing to run" in result.output
    assert not (tmp_path / "runs").exists()


def test_run_and_runs_have_help_with_examples():
    for args in (["run"], ["runs"], ["runs", "show"], ["runs", "prune"], ["runs", "diff"]):
        result = wb_cli(*args, "--help")
        assert result.exit_code == 0 and "Examples:" in result.output, args
    listed = wb_cli("--help").output
    assert re.search(r"^\s+run\s+Run a pipeline", listed, re.M) and re.search(r"^\s+runs\s+List pipeline runs", listed, re.M)
