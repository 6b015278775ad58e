"""``wb pipelines list | show | validate`` in-process, on the shipped files and on a throwaway project."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from workbench.cli import main

STEP = "- name: a\n  notebook: notebooks/step.ipynb\n"


def wb_cli(*args: str):
    return CliRunner().invoke(main, ["pipelines", *args])


@pytest.fixture
def home(project, monkeypatch):
    """The throwaway project as WB_HOME, with one good and (per test) possibly one bad pipeline."""
    monkeypatch.setenv("WB_HOME", str(project.root))
    project.steps("good", STEP)
    return project


def test_list_shows_schedule_steps_in_order_and_next_run():
    result = wb_cli("list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["pipeline"]: r for r in json.loads(result.output)}
    assert rows["daily"]["steps"] == "forecast -> allocation -> rollups"
    assert rows["monthly"]["steps"] == "consignment_write_down -> finance_report"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 02:30 \S+", rows["daily"]["next_run"])


def test_show_prints_steps_in_run_order_with_their_parameters():
    result = wb_cli("show", "daily", "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [s["step"] for s in shown["steps"]] == ["forecast", "allocation", "rollups"]
    assert shown["steps"][1]["depends_on"] == ["forecast"]
    assert shown["steps"][0]["parameters"]["run_id"] == "{run_id}"
    assert len(shown["next_runs"]) == 3
    table = wb_cli("show", "daily")
    assert table.exit_code == 0 and "notebooks/allocation.ipynb" in table.output and "next runs:" in table.output


def test_show_refuses_an_unknown_pipeline_in_one_line():
    result = wb_cli("show", "nightly")
    assert result.exit_code == 2
    assert re.search(r"^error: no pipeline 'nightly' .*known: daily, monthly, weekly", result.output, re.M)


def test_validate_passes_the_shipped_pipelines():
    result = wb_cli("validate")
    assert result.exit_code == 0, result.output
    assert "ok: daily (3 steps: forecast -> allocation -> rollups)" in result.output
    assert "ok: monthly (2 steps: consignment_write_down -> finance_report)" in result.output


def test_validate_reports_every_bad_file_and_exits_1(home):
    home.write("loop", 'schedule: "30 2 * * *"\nsteps:\n' + STEP.replace("\n  notebook", "\n  depends_on: [a]\n  notebook"))
    home.write("typo", 'schedule: "30 2 * * *"\nstep: []\n')
    result = wb_cli("validate")
    assert result.exit_code == 1
    assert "ok: good (1 step: a)" in result.output
    assert "cycle: a -> a" in result.output and "unknown key 'step'; did you mean 'steps'?" in result.output


def test_list_marks_an_invalid_file_and_exits_1(home):
    home.write("typo", 'schedule: "30 2 * * *"\nstep: []\n')
    result = wb_cli("list", "--format", "csv")
    assert result.exit_code == 1
    assert "typo,,invalid: wb pipelines validate typo," in result.output


def test_validate_checks_run_parameters(home):
    assert wb_cli("validate", "good", "--param", "knob=3", "--param", "a.user=u_hq").exit_code == 0
    bad = wb_cli("validate", "good", "--param", "kno=3")
    assert bad.exit_code == 1 and "declares a parameter 'kno'" in bad.output
    assert wb_cli("validate", "--param", "knob=3").exit_code == 2  # which pipeline?


@pytest.mark.parametrize("args", [[], ["list"], ["show"], ["validate"]])
def test_every_command_s_help_has_an_example(args):
    result = wb_cli(*args, "--help")
    assert result.exit_code == 0 and re.search(r"Examples:\n\s+wb pipelines ", result.output)


def test_wb_help_lists_pipelines():
    assert "pipelines" in CliRunner().invoke(main, ["--help"]).output
