"""The archive of executed notebooks: ``<runs_dir>/<pipeline>/<as_of>/<run_id>/<step>.ipynb`` and ``.html``.

Every attempt is kept, a failed or killed one too (Papermill saves the
notebook cell by cell, so a partial run shows how far it got), so that a
manager can open last night's report and an analyst can see why a step
failed. Later attempts of a step get ``.attempt2``, ``.attempt3`` ... in
their names. The folder is under ``data/`` (git-ignored) unless
``paths.runs`` or ``WB_RUNS_DIR`` says otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("workbench.pipelines")


@dataclass(frozen=True)
class AttemptFiles:
    ipynb: Path
    html: Path
    log: Path
    error: Path


def run_folder(runs_dir: Path, pipeline: str, as_of: dt.date, run_id: str) -> Path:
    return Path(runs_dir) / pipeline / as_of.isoformat() / run_id


def attempt_files(folder: Path, step: str, attempt: int) -> AttemptFiles:
    stem = step if attempt == 1 else f"{step}.attempt{attempt}"
    return AttemptFiles(*(folder / f"{stem}{suffix}" for suffix in (".ipynb", ".html", ".log", ".error.txt")))


def annotate(ipynb: Path, note: str) -> None:
    """Put ``note`` first in the archived notebook (why it stops where it does), as Papermill does for errors."""
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**wb run:** {note}"))
    nbformat.write(nb, ipynb)


def to_html(ipynb: Path, html: Path) -> Path | None:
    """Export the executed notebook to HTML next to it; None (nothing to export) when it was never written."""
    if not ipynb.is_file():
        return None
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(ipynb, as_version=4))
    html.write_text(body, encoding="utf-8")
    return html


def archive(files: AttemptFiles, status: str, error: str | None) -> tuple[Path | None, Path | None]:
    """Finish an attempt's archive: mark a killed notebook, export HTML; the (ipynb, html) paths that exist.

    A notebook cut off mid-write may not parse; the run goes on without its
    HTML (the log says why) rather than fail on its archive.
    """
    if not files.ipynb.is_file():
        return None, None
    try:
        if status == "killed" and error:
            annotate(files.ipynb, error)
        return files.ipynb, to_html(files.ipynb, files.html)
    except Exception:  # nbformat's and nbconvert's errors vary; none may stop the run
        log.exception("could not export %s to HTML", files.ipynb)
        return files.ipynb, None
