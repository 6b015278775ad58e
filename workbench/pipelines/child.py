"""One attempt of one step, in its own process: ``python -m workbench.pipelines.child JOB.json``.

The runner starts this process per attempt so that it can kill it (and the
kernel it starts) at the step's timeout without killing itself. Papermill
writes the executed notebook to the output path as it goes, so a failed or
killed attempt still leaves a partial notebook to archive. A failure is
summarised in one line into the job's ``error_file`` for the run history.
"""

from __future__ import annotations

import ctypes
import json
import signal
import sys
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """Ask Linux to end this process when the runner dies, so no notebook runs on unsupervised."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not glibc / musl: the kernel's own parent poller still applies
            pass


def summarise(err: BaseException) -> str:
    """One line for the history: the failing cell and the notebook's own exception where there is one."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        evalue = (str(err.evalue).strip().splitlines() or [""])[0]
        return f"cell {err.exec_count}: {err.ename}: {evalue}"[:1000]
    name = type(err).__name__
    if name == "DeadKernelError":
        return "the notebook's kernel died (killed, or out of memory) before the notebook finished"
    text = (str(err).strip().splitlines() or [""])[0]
    return f"{name}: {text}"[:1000]


def execute(job: dict[str, Any]) -> int:
    import papermill

    try:
        papermill.execute_notebook(job["notebook"], job["output"], parameters=job["parameters"],
                                   kernel_name=job["kernel"], cwd=job["cwd"], progress_bar=False,
                                   log_output=False)
    except BaseException as err:  # everything the notebook or papermill raises ends up in the history
        Path(job["error_file"]).write_text(summarise(err), encoding="utf-8")
        return 1
    return 0


def main(argv: list[str]) -> int:
    die_with_parent()
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    return execute(job)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
