"""A step's parameters filled in for one run, overrides on top, and retry waits."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.pipelines import PipelineError, parse_overrides

STEPS = """
- name: a
  notebook: notebooks/step.ipynb
  retries: 3
  retry_backoff_s: 10
  parameters: {user: "{user}", scope: "{scope}", knob: "{as_of}/{user}"}
- name: b
  notebook: notebooks/step.ipynb
  parameters: {knob: 5}
"""


@pytest.fixture
def pipeline(project):
    return project.steps("p", STEPS)


def test_placeholders_are_filled_and_the_run_values_given(pipeline):
    got = pipeline.step("a").resolved_parameters(dt.date(2025, 11, 30), "run-1", "u_pipeline", "S001,S002")
    assert got == {"as_of": "2025-11-30", "run_id": "run-1", "user": "u_pipeline", "scope": "S001,S002",
                   "knob": "2025-11-30/u_pipeline"}


def test_non_strings_are_kept_and_scope_defaults_to_the_user(pipeline):
    got = pipeline.step("b").resolved_parameters("2025-11-30", "run-1", "u_hq")
    assert got["knob"] == 5
    assert pipeline.step("a").resolved_parameters("2025-11-30", "run-1", "u_hq")["scope"] == "u_hq"


def test_overrides_win_and_may_use_placeholders(pipeline):
    got = pipeline.step("b").resolved_parameters("2025-11-30", "r", "u", overrides={"knob": "k-{run_id}", "user": None})
    assert (got["knob"], got["user"]) == ("k-r", None)


def test_an_override_the_notebook_does_not_declare_is_refused(pipeline):
    with pytest.raises(PipelineError, match="override 'horizon' is not declared"):
        pipeline.step("a").resolved_parameters("2025-11-30", "r", "u", overrides={"horizon": 14})
    with pytest.raises(PipelineError, match="as_of is set by the run itself"):
        pipeline.step("a").resolved_parameters("2025-11-30", "r", "u", overrides={"as_of": "2024-01-01"})


def test_run_overrides_go_to_the_named_step_or_every_step_that_declares_them(pipeline):
    split = pipeline.step_overrides({"knob": 1, "b.user": "u_hq"})
    assert split == {"a": {"knob": 1}, "b": {"knob": 1, "user": "u_hq"}}
    with pytest.raises(PipelineError, match="no step of pipeline 'p' declares a parameter 'horizon'"):
        pipeline.step_overrides({"horizon": 14})
    with pytest.raises(PipelineError, match="no step 'c'"):
        pipeline.step_overrides({"c.knob": 1})


def test_parse_overrides_types_values_but_keeps_dates_as_text():
    assert parse_overrides(["n=14", "f=0.5", "w=false", "r=null", "d=2025-11-30", "s.region=East", "e="]) == {
        "n": 14, "f": 0.5, "w": False, "r": None, "d": "2025-11-30", "s.region": "East", "e": ""}
    with pytest.raises(PipelineError, match="NAME=VALUE"):
        parse_overrides(["horizon"])


def test_retry_waits_double(pipeline):
    assert pipeline.step("a").retry_waits == (10.0, 20.0, 40.0)
    assert pipeline.step("b").retry_waits == ()
