"""Step dependencies as a graph: the order steps run in, who depends on whom, and cycles.

Pure functions over ``{step: [steps it depends on]}`` in file order, so the
spec can validate with them and the runner can plan with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    from workbench.pipelines.spec import Pipeline, Step

Needs = Mapping[str, Sequence[str]]  # step -> the steps it depends on; insertion order is file order


def find_cycle(needs: Needs) -> list[str] | None:
    """A cycle as ``[a, b, ..., a]`` (each depends on the next), or None. The first one in file order."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(step: str, path: list[str]) -> list[str] | None:
        state[step] = "open"
        path.append(step)
        for need in needs.get(step, ()):
            if state.get(need) == "open":
                return path[path.index(need):] + [need]
            if need not in state and (found := visit(need, path)):
                return found
        path.pop()
        state[step] = "done"
        return None

    for step in needs:
        if step not in state and (found := visit(step, [])):
            return found
    return None


def topological(needs: Needs) -> list[str]:
    """Steps in an order where each comes after the steps it needs; ties keep file order.

    Stable so that a pipeline runs in the order its author wrote wherever the
    dependencies allow it. Assumes no cycle (``find_cycle`` first).
    """
    placed: list[str] = []
    waiting = list(needs)
    while waiting:
        ready = next(s for s in waiting if all(n in placed for n in needs[s]))
        placed.append(ready)
        waiting.remove(ready)
    return placed


def downstream(needs: Needs, step: str) -> list[str]:
    """Every step that depends on ``step`` directly or through others, in run order."""
    hit = {step}
    for candidate in topological(needs):
        if any(n in hit for n in needs[candidate]):
            hit.add(candidate)
    return [s for s in topological(needs) if s in hit and s != step]


def order(pipeline: "Pipeline") -> list["Step"]:
    """The pipeline's steps in the order they run: dependencies first, otherwise as written."""
    return [pipeline.step(name) for name in topological(pipeline.needs())]


def dependants(pipeline: "Pipeline", step: "str | Step") -> list["Step"]:
    """The steps that must not run when ``step`` fails: all that depend on it, directly or not, in run order."""
    name = step if isinstance(step, str) else step.name
    pipeline.step(name)  # an unknown step is an error, not an empty list
    return [pipeline.step(s) for s in downstream(pipeline.needs(), name)]
