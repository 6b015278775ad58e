"""What every stored notebook must be: clean (no outputs), one `parameters` cell, thin (no loops over data)."""

from __future__ import annotations

from pathlib import Path

import nbformat


def assert_clean_and_thin(path: Path, parameters: tuple[str, ...]) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in parameters:
        assert f"\n{name} = " in "\n" + tagged[0].source, name
    body = "\n".join(c.source for c in code if c is not tagged[0])
    assert "for " not in body and "while " not in body  # no loops over data: the library does the work
