"""``export: [pdf]``: a succeeded step's notebook printed to PDF (without its code) by a real headless Chromium."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from workbench.pipelines import archive
from workbench.pipelines.keys import PipelineError

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian package chromium (make system-deps)")


def _notebook(folder: Path) -> archive.AttemptFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = archive.attempt_files(folder, "finance_report", 1)
    cell = nbformat.v4.new_code_cell("print(total)", outputs=[nbformat.v4.new_output("stream", text="journal total 890.00\n")])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Consignment write-down, November"), cell])
    nbformat.write(nb, files.ipynb)
    return files


def _text(pdf: Path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(pdf).pages)


@needs_chromium
def test_a_succeeded_step_is_archived_as_pdf_with_its_headings_and_outputs(tmp_path):
    files = _notebook(tmp_path)
    ipynb, html = archive.archive(files, "succeeded", None, exports=("pdf",), chromium=CHROMIUM)
    assert (ipynb, html) == (files.ipynb, files.html)
    assert files.pdf.read_bytes().startswith(b"%PDF")
    text = _text(files.pdf)
    assert "Consignment write-down, November" in text and "journal total 890.00" in text
    assert "print(total)" not in text and "jp-InputArea" in html.read_text()  # the code stays in the HTML only


@needs_chromium
def test_a_failed_attempt_and_a_step_without_export_get_no_pdf(tmp_path):
    failed = _notebook(tmp_path / "failed")
    archive.archive(failed, "failed", "cell 2: boom", exports=("pdf",), chromium=CHROMIUM)
    plain = _notebook(tmp_path / "plain")
    archive.archive(plain, "succeeded", None, chromium=CHROMIUM)
    assert failed.html.is_file() and plain.html.is_file()
    assert not failed.pdf.exists() and not plain.pdf.exists()


def test_without_chromium_the_html_stays_and_the_log_says_what_to_install(tmp_path, caplog):
    files = _notebook(tmp_path)
    with caplog.at_level(logging.ERROR, logger="workbench.pipelines"):
        _, html = archive.archive(files, "succeeded", None, exports=("pdf",), chromium=tmp_path / "no-chromium")
    assert html == files.html and html.is_file() and not files.pdf.exists()
    assert "install the Debian package `chromium`" in caplog.text and "pipelines.chromium" in caplog.text


def test_export_is_read_from_the_step_and_an_unknown_format_is_refused(project):
    loaded = project.steps("report", """\
        - name: finance_report
          notebook: notebooks/step.ipynb
          export: [pdf]
        """)
    assert loaded.step("finance_report").exports == ("pdf",)
    with pytest.raises(PipelineError, match=r"export: unknown export format 'docx'; the archive can add: pdf"):
        project.steps("report", """\
            - name: finance_report
              notebook: notebooks/step.ipynb
              export: [docx]
            """)
