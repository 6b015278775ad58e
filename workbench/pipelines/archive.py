"""The archive of executed notebooks: ``<runs_dir>/<pipeline>/<as_of>/<run_id>/<step>.ipynb`` and ``.html``
(and ``.pdf``, the outputs without the code, for a step with ``export: [pdf]``).

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
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("workbench.pipelines")

EXPORTS = ("pdf",)
PDF_TIMEOUT_S = 120


@dataclass(frozen=True)
class AttemptFiles:
    ipynb: Path
    html: Path
    log: Path
    error: Path

    @property
    def pdf(self) -> Path:
        return self.html.with_suffix(".pdf")


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


def to_pdf(ipynb: Path, pdf: Path, chromium: str | Path = "/usr/bin/chromium") -> Path:
    """Print the executed notebook to PDF with headless Chromium: the report as a reader prints it, its
    outputs and text without the code (the archived .ipynb and HTML keep the code for analysts).

    The page may load nothing from the network (the report must read the same offline), so every host
    name resolves to nothing. Raises RuntimeError saying what to install or fix.
    """
    if not Path(chromium).is_file():
        raise RuntimeError(f"no Chromium at {chromium} to print {ipynb.name} to PDF: install the Debian package "
                           "`chromium` (make system-deps), or set pipelines.chromium in workbench.yaml")
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(ipynb, as_version=4))
    with tempfile.TemporaryDirectory(prefix="wb-chromium-") as work:
        page = Path(work) / "report.html"
        page.write_text(body, encoding="utf-8")
        args = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                f"--user-data-dir={work}/profile", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--virtual-time-budget=10000", f"--print-to-pdf={pdf}", page.as_uri()]
        done = subprocess.run(args, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
    if done.returncode != 0 or not pdf.is_file():
        raise RuntimeError(f"Chromium could not print {ipynb.name} to PDF (exit {done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")
    return pdf


def archive(files: AttemptFiles, status: str, error: str | None, exports: tuple[str, ...] = (),
            chromium: str | Path = "/usr/bin/chromium") -> tuple[Path | None, Path | None]:
    """Finish an attempt's archive: mark a killed notebook, export HTML (and PDF for a succeeded attempt of a
    step that asks for it); the (ipynb, html) paths that exist.

    A notebook cut off mid-write may not parse; the run goes on without its
    HTML or PDF (the log says why) rather than fail on its archive.
    """
    if not files.ipynb.is_file():
        return None, None
    try:
        if status == "killed" and error:
            annotate(files.ipynb, error)
        html = to_html(files.ipynb, files.html)
    except Exception:  # nbformat's and nbconvert's errors vary; none may stop the run
        log.exception("could not export %s to HTML", files.ipynb)
        return files.ipynb, None
    if "pdf" in exports and status == "succeeded" and html is not None:
        try:
            to_pdf(files.ipynb, files.pdf, chromium)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            log.error("no PDF of %s: %s", files.html, err)
    return files.ipynb, html
