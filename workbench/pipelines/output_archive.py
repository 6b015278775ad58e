"""A copy of each succeeded step's output rows, kept beside its archived notebook, for ``wb runs diff``.

A re-run for the same as-of date replaces the previous run's rows in the
warehouse (DESIGN invariant 5), so the warehouse alone cannot say what an
earlier run produced. When a step's attempt succeeds, this listener copies
the rows that run wrote (its ``run_id``, its as-of date) of each table in the
step's ``outputs:`` to Parquet:

    <runs_dir>/<pipeline>/<as_of>/<run_id>/<step>.outputs/<table>.parquet

A table the run wrote no rows to gets an empty file with the table's columns,
so "the plan was empty" and "not archived" stay apart. The copy is taken
between steps, when the step's kernel has let go of the DuckDB file; a copy
that fails is logged and the run goes on (listeners never break a run).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from workbench.config import Settings
from workbench.pipelines import archive, history
from workbench.pipelines.events import Event, Listener
from workbench.pipelines.spec import Pipeline

log = logging.getLogger("workbench.pipelines")


def outputs_folder(run_folder: Path, step: str) -> Path:
    return Path(run_folder) / f"{step}.outputs"


def listener(pipeline: Pipeline, settings: Settings) -> Listener:
    """The listener that keeps the outputs of ``pipeline``'s succeeded steps."""

    def keep(event: Event) -> None:
        if event.kind != "attempt_finished" or event.status != "succeeded" or event.step is None:
            return
        step = pipeline.step(event.step)
        if step.outputs:
            run = archive.run_folder(settings.runs_dir, event.pipeline, event.as_of, event.run_id)
            save(settings, event.run_id, event.as_of, step.outputs, outputs_folder(run, step.name))

    return keep


def save(settings: Settings, run_id: str, as_of: dt.date, tables: tuple[str, ...], folder: Path) -> list[Path]:
    """Write the rows of ``run_id`` for ``as_of`` of each table to ``folder/<table>.parquet``; the files."""
    import pyarrow.parquet as pq

    from workbench.warehouse.schema import spec

    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, int] = {}
    with history.open_session(settings, run_id, write=False) as s:
        for table in tables:
            if s.table_exists(table):
                t = s.table(table)
                mine = t.run_id == run_id  # a mart kept per month or period has no as_of: the run id alone
                rows = t.filter(mine & (t.as_of == as_of) if "as_of" in t.columns else mine).to_pyarrow()
            else:  # the step never created it: nothing of this run there
                rows = spec(table).arrow_schema().empty_table()
            path = folder / f"{table}.parquet"
            part = path.with_suffix(".parquet.part")
            pq.write_table(rows, part, compression="zstd")
            part.replace(path)  # whole or absent: a diff never reads half a file
            written[path] = rows.num_rows
    log.info("%s: kept the outputs %s in %s", run_id, ", ".join(f"{p.stem} ({n} rows)" for p, n in written.items()), folder)
    return list(written)
