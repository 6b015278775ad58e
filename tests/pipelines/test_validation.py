"""Every kind of bad pipeline file is a PipelineError at load time that names what to fix."""

from __future__ import annotations

import pytest

from workbench.pipelines import PipelineError, load_pipeline

from .project_files import write_notebook

STEP = "- name: a\n  notebook: notebooks/step.ipynb\n"


def error(project, text: str, name: str = "p") -> str:
    with pytest.raises(PipelineError) as caught:
        project.load(name, text)
    return str(caught.value)


def steps_error(project, steps: str, schedule: str = "30 2 * * *") -> str:
    with pytest.raises(PipelineError) as caught:
        project.steps("p", steps, schedule)
    return str(caught.value)


def test_a_valid_file_loads_with_defaults(project):
    p = project.steps("p", STEP)
    assert (p.name, p.steps[0].retries, p.steps[0].timeout_s, p.steps[0].depends_on) == ("p", 0, 3600.0, ())
    assert p.steps[0].declared == ("as_of", "run_id", "user", "scope", "knob")


def test_unknown_pipeline_lists_the_known_ones(project):
    project.steps("daily", STEP)
    with pytest.raises(PipelineError, match=r"no pipeline 'nightly' .*known: daily"):
        load_pipeline("nightly", folder=project.folder, root=project.root)


def test_missing_schedule_is_named(project):
    assert "missing key 'schedule'" in error(project, "steps: []\n")


def test_missing_steps_is_named(project):
    assert "missing key 'steps'" in error(project, 'schedule: "30 2 * * *"\n')


def test_unknown_step_key_names_the_step_and_suggests_the_right_one(project):
    message = steps_error(project, STEP + "  retry: 2\n")
    assert "step 'a'" in message and "unknown key 'retry'" in message and "did you mean 'retries'" in message


def test_a_missing_key_names_the_step_or_its_position(project):
    assert "step 'a': missing key 'notebook'" in steps_error(project, "- name: a\n")
    assert "step 2: missing key 'name'" in steps_error(project, STEP + "- notebook: notebooks/step.ipynb\n")


@pytest.mark.parametrize("line, expected", [
    ("  retries: two\n", "retries must be a whole number"),
    ("  retries: -1\n", "retries must be at least 0"),
    ("  timeout_s: yes\n", "timeout_s must be a number"),
    ("  depends_on: a\n", "depends_on must be a list"),
    ("  outputs: [marts.nothing]\n", "'marts.nothing' is not an output table"),
    ("  checks: [row_count]\n", "checks must be a list of mappings"),
])
def test_wrong_types_and_values_say_which_key(project, line, expected):
    assert expected in steps_error(project, STEP + line)


def test_a_dependency_on_an_unknown_step(project):
    message = steps_error(project, STEP + "  depends_on: [b]\n")
    assert "step 'a': depends_on 'b', which is not a step here" in message


def test_a_cycle_is_named_step_by_step(project):
    steps = "".join(f"- name: {n}\n  notebook: notebooks/step.ipynb\n  depends_on: [{d}]\n"
                    for n, d in (("a", "c"), ("b", "a"), ("c", "b")))
    assert "cycle: a -> c -> b -> a" in steps_error(project, steps)


def test_two_steps_with_one_name(project):
    assert "two steps are called 'a'" in steps_error(project, STEP + STEP)


@pytest.mark.parametrize("cron, expected", [
    ("30 2 * *", "Wrong number of fields"),
    ("61 2 * * *", "higher than the maximum"),
    ("0 4 * * 0", "day of week as names"),  # cron's Sunday would be the scheduler's Monday
])
def test_a_malformed_cron(project, cron, expected):
    message = steps_error(project, STEP, schedule=cron)
    assert f"cron {cron!r}" in message and expected in message


def test_an_unknown_time_zone(project):
    assert "time zone Mars/Olympus" in error(project, 'schedule: "30 2 * * *"\ntimezone: Mars/Olympus\nsteps: []\n')


def test_an_unquoted_cron_starting_with_a_star_is_explained(project):
    assert "quote the cron" in error(project, "schedule: * * * * *\nsteps: []\n")


def test_a_notebook_that_does_not_exist(project):
    assert "notebook" in steps_error(project, "- name: a\n  notebook: notebooks/nothing.ipynb\n")
    assert "does not exist" in steps_error(project, "- name: a\n  notebook: notebooks/nothing.ipynb\n")


def test_a_notebook_without_a_parameters_cell(project):
    write_notebook(project.root / "notebooks" / "bare.ipynb", parameters=None)
    assert "no cell tagged 'parameters'" in steps_error(project, "- name: a\n  notebook: notebooks/bare.ipynb\n")


def test_a_parameter_the_notebook_does_not_declare(project):
    message = steps_error(project, STEP + "  parameters: {knobb: 2}\n")
    assert "parameter 'knobb' is not declared" in message and "knob" in message.split("declares:")[1]


def test_the_run_s_own_values_cannot_be_fixed_in_the_file(project):
    assert "as_of is the run's own" in steps_error(project, STEP + "  parameters: {as_of: '2025-01-01'}\n")
    project.steps("ok", STEP + "  parameters: {as_of: '{as_of}'}\n")  # saying the obvious is allowed


def test_an_unknown_placeholder(project):
    assert "uses {date}" in steps_error(project, STEP + "  parameters: {knob: 'x-{date}'}\n")


def test_alerts_must_be_webhooks_or_addresses(project):
    good = project.load("p", 'schedule: "30 2 * * *"\nalerts: [https://hooks.example.com/x, ops@example.com]\nsteps: []\n')
    assert good.alerts == ("https://hooks.example.com/x", "ops@example.com")
    message = error(project, 'schedule: "30 2 * * *"\nalerts: [ops-channel]\nsteps: []\n')
    assert "'ops-channel' is neither a webhook URL" in message


def test_the_name_inside_must_match_the_file(project):
    assert "rename the file to nightly.yaml" in error(project, 'name: nightly\nschedule: "30 2 * * *"\nsteps: []\n')


def test_an_empty_step_list_is_a_pipeline_with_nothing_to_run_yet(project):
    assert project.load("p", 'schedule: "0 5 1 * *"\nsteps: []\n').steps == ()
