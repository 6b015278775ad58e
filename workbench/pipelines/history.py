"""Run history in the warehouse: ``ops.pipeline_runs``, one row per step attempt, written through the door.

The runner writes a row when an attempt starts (``running``) and replaces it
when the attempt ends, each time in a session of its own that it closes at
once: DuckDB lets one process hold the file, and while a step runs that
process must be the step's kernel, not the runner. If another process holds
the file when a row is due, the write waits for it (``pipelines.warehouse_wait_s``).

Rows are written by the pipeline user (``pipelines.history_user``), whoever
the run acts as: a run acting as a store manager is still recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

from workbench.config import Settings
from workbench.warehouse.schema import OPERATIONS

TABLE = "ops.pipeline_runs"
SPEC = OPERATIONS[TABLE]
STATUSES = ("running", "succeeded", "failed", "killed", "skipped")
FINISHED = ("succeeded", "failed", "killed", "skipped")
WAIT_POLL_S = 0.5


def utc_now() -> dt.datetime:
    """UTC without a zone: how the warehouse's timestamp columns hold it."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class Attempt:
    """One row of ``ops.pipeline_runs`` (``run_id`` is filled by the session that writes it)."""

    pipeline: str
    step: str
    attempt: int
    as_of: dt.date
    status: str
    acting_user: str
    parameters: dict[str, Any] = field(default_factory=dict)
    notebook: str | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    duration_s: float | None = None
    git_commit: str | None = None
    outputs: tuple[str, ...] = ()
    archive_ipynb: str | None = None
    archive_html: str | None = None
    error: str | None = None
    pid: int | None = None

    def finish(self, status: str, error: str | None = None, **changes: Any) -> "Attempt":
        """The same attempt, ended now with ``status``."""
        ended = utc_now()
        seconds = (ended - self.started_at).total_seconds() if self.started_at else 0.0
        return Attempt(**{**asdict(self), "status": status, "error": error, "ended_at": ended,
                          "duration_s": round(seconds, 3), **changes})

    def row(self) -> dict[str, Any]:
        values = asdict(self)
        values["parameters"] = json.dumps(self.parameters, sort_keys=True, default=str)
        values["outputs"] = ",".join(self.outputs)
        return values


def to_table(attempts: Iterable[Attempt]) -> pa.Table:
    """Rows of the contract, in its types (so the first write creates the table as declared)."""
    schema = pa.schema([f for f in SPEC.arrow_schema() if f.name != "run_id"])
    rows = [a.row() for a in attempts]
    unknown = sorted({r["status"] for r in rows} - set(STATUSES))
    if unknown:
        raise ValueError(f"status {unknown[0]!r} is not one of {', '.join(STATUSES)}")
    return pa.Table.from_pylist([{n: r[n] for n in schema.names} for r in rows], schema=schema)


# ---------------------------------------------------------------- writing


def _settings_value(settings: Settings, key: str, default: Any) -> Any:
    return (settings.pipelines or {}).get(key, default)


def open_session(settings: Settings, run_id: str, *, write: bool, user: str | None = None):
    """A session of the history user; waits while another process holds the DuckDB file."""
    from workbench.governance.session import session

    user = user or _settings_value(settings, "history_user", "u_pipeline")
    deadline = time.monotonic() + float(_settings_value(settings, "warehouse_wait_s", 120))
    while True:
        try:
            return session(user, settings=settings, read_only=not write, run_id=run_id, entry_point="pipeline")
        except Exception as err:  # duckdb.IOException; its class is the engine's business
            if "lock" not in str(err).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(WAIT_POLL_S)


def record(settings: Settings, run_id: str, attempts: list[Attempt]) -> None:
    """Write (or replace) these attempts' rows of run ``run_id``, then let go of the warehouse."""
    from workbench.governance.backends import ops_for

    replace = ops_for(settings).deletes
    if not replace:  # an engine that cannot delete (Spark): only the final row of each attempt
        attempts = [a for a in attempts if a.status in FINISHED]
    with open_session(settings, run_id, write=True) as s, s.transaction() if replace else nullcontext():
        for a in attempts:
            if replace:
                s.write(TABLE, to_table([a]), mode="replace_where",
                        where={"run_id": run_id, "step": a.step, "attempt": a.attempt})
            else:
                s.write(TABLE, to_table([a]))


def close_abandoned(settings: Settings, pipeline: str, as_of: dt.date, by_run: str) -> list[str]:
    """Mark ``running`` rows of earlier runs of ``pipeline`` / ``as_of`` as killed; the run ids closed.

    Called by a run that holds the lock for them: no other run of that
    pipeline and date can be going, so such rows are left by a runner that
    was killed or crashed and would otherwise show as running for ever.
    """
    frame = read_attempts(settings, pipeline=pipeline, as_of=as_of, status="running")
    frame = frame[frame["run_id"] != by_run]
    for run_id, rows in frame.groupby("run_id"):
        stale = [_attempt_of(r).finish("killed", f"the runner stopped (killed or crashed) before this attempt "
                                                 f"ended; found by run {by_run}") for r in rows.to_dict("records")]
        record(settings, str(run_id), stale)
    return sorted(frame["run_id"].unique())


def _attempt_of(row: dict[str, Any]) -> Attempt:
    values = {k: row[k] for k in Attempt.__dataclass_fields__}
    values["parameters"] = json.loads(values["parameters"] or "{}")
    values["outputs"] = tuple(o for o in (values["outputs"] or "").split(",") if o)
    values["as_of"] = pd.Timestamp(values["as_of"]).date()
    for key in ("started_at", "ended_at"):
        values[key] = None if pd.isna(values[key]) else pd.Timestamp(values[key]).to_pydatetime()
    values = {k: (None if not isinstance(v, (dict, tuple, list)) and pd.isna(v) else v) for k, v in values.items()}
    return Attempt(**values)


# ---------------------------------------------------------------- reading


def read_attempts(settings: Settings, *, user: str | None = None, pipeline: str | None = None,
                  status: str | None = None, since: dt.date | None = None, as_of: dt.date | None = None,
                  run_id: str | None = None) -> pd.DataFrame:
    """Attempt rows, filtered in the engine, oldest first; empty (with the columns) before the first run."""
    with open_session(settings, "wb-runs", write=False, user=user) as s:
        if not s.table_exists(TABLE):
            return pd.DataFrame(columns=SPEC.column_names)
        t = s.table(TABLE)
        filters = [t[col] == value for col, value in (("pipeline", pipeline), ("status", status), ("as_of", as_of),
                                                      ("run_id", run_id)) if value is not None]
        if since is not None:
            filters.append(t.started_at >= dt.datetime.combine(since, dt.time()))
        if filters:
            t = t.filter(*filters)
        return t.order_by(["started_at", "run_id", "step", "attempt"]).to_pandas()


def final_attempts(attempts: pd.DataFrame) -> pd.DataFrame:
    """The last attempt of each step of each run (what the step ended as)."""
    if attempts.empty:
        return attempts
    last = attempts.sort_values("attempt").groupby(["run_id", "step"], sort=False).tail(1)
    return last.sort_values(["started_at", "run_id"], kind="stable", na_position="last")


def run_status(statuses: Iterable[str]) -> str:
    """A run's status from its steps' final statuses: running, failed (one failed or killed) or succeeded."""
    statuses = set(statuses)
    if "running" in statuses:
        return "running"
    return "failed" if statuses & {"failed", "killed"} else "succeeded"


def summarise_runs(attempts: pd.DataFrame) -> pd.DataFrame:
    """One row per run, newest first: status, step counts, start, duration, the first error."""
    columns = ["run_id", "pipeline", "as_of", "status", "steps", "started_at", "duration_s", "acting_user", "error"]
    if attempts.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for run_id, steps in final_attempts(attempts).groupby("run_id", sort=False):
        tries = attempts[attempts["run_id"] == run_id]
        counts = steps["status"].value_counts()
        ended, started = tries["ended_at"].max(), tries["started_at"].min()
        errors = steps.loc[steps["status"].isin(["failed", "killed"]), "error"].dropna()  # the cause, not the skips
        rows.append({"run_id": run_id, "pipeline": steps["pipeline"].iloc[0],
                     "as_of": pd.Timestamp(steps["as_of"].iloc[0]).date(),
                     "status": run_status(steps["status"]),
                     "steps": ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts),
                     "started_at": started,
                     "duration_s": None if pd.isna(ended) else round((ended - started).total_seconds(), 1),
                     "acting_user": steps["acting_user"].iloc[0], "error": errors.iloc[0] if len(errors) else None})
    return pd.DataFrame(rows, columns=columns).sort_values("started_at", ascending=False, kind="stable")
