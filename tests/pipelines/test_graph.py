"""Run order and the dependants of a failed step, on a diamond with an independent step beside it."""

from __future__ import annotations

import pytest

from workbench.pipelines import PipelineError, dependants, order
from workbench.pipelines.graph import find_cycle

# written out of order on purpose: `report` (last to run) comes first in the file
DIAMOND = {"report": ("left", "right"), "extract": (), "left": ("extract",), "audit": (), "right": ("extract",)}


@pytest.fixture
def diamond(project):
    steps = "".join(f"- name: {name}\n  notebook: notebooks/step.ipynb\n  depends_on: [{', '.join(needs)}]\n"
                    for name, needs in DIAMOND.items())
    return project.steps("diamond", steps)


def names(steps) -> list[str]:
    return [s.name for s in steps]


def test_order_puts_dependencies_first_and_otherwise_keeps_file_order(diamond):
    assert names(order(diamond)) == ["extract", "left", "audit", "right", "report"]


def test_dependants_are_transitive_and_in_run_order(diamond):
    assert names(dependants(diamond, "extract")) == ["left", "right", "report"]
    assert names(dependants(diamond, "left")) == ["report"]
    assert names(dependants(diamond, diamond.step("report"))) == []
    assert names(dependants(diamond, "audit")) == []  # independent: runs whatever else fails


def test_dependants_of_an_unknown_step_is_an_error(diamond):
    with pytest.raises(PipelineError, match="no step 'reprot'"):
        dependants(diamond, "reprot")


def test_find_cycle_sees_a_step_that_needs_itself_and_passes_a_tree():
    assert find_cycle({"a": (), "b": ("b",)}) == ["b", "b"]
    assert find_cycle(DIAMOND) is None
