"""A throwaway project root: a tiny notebook under notebooks/ and pipeline files written per test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

from workbench.pipelines import Pipeline, load_pipeline

PARAMETERS = 'as_of = "2025-01-01"\nrun_id = None\nuser = "u_pipeline"\nscope = None\nknob = 1\n'


def write_notebook(path: Path, parameters: str | None = PARAMETERS, code: str = "print(knob)") -> Path:
    """A notebook with a `parameters` cell (none if ``parameters`` is None) and one code cell."""
    cells = [nbformat.v4.new_code_cell(code)]
    if parameters is not None:
        cells.insert(0, nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


class Project:
    """``root/notebooks/step.ipynb`` and ``root/pipelines/NAME.yaml`` written from YAML text."""

    def __init__(self, root: Path):
        self.root, self.folder = root, root / "pipelines"
        self.folder.mkdir()
        write_notebook(root / "notebooks" / "step.ipynb")

    def write(self, name: str, text: str) -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def load(self, name: str, text: str | None = None) -> Pipeline:
        if text is not None:
            self.write(name, text)
        return load_pipeline(name, folder=self.folder, root=self.root)

    def steps(self, name: str, steps: str, schedule: str = "30 2 * * *") -> Pipeline:
        """A pipeline of the given steps (YAML list text, indented by 2)."""
        return self.load(name, f'schedule: "{schedule}"\nsteps:\n' + textwrap.indent(textwrap.dedent(steps), "  "))
