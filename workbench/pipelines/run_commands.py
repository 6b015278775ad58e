"""``wb run NAME --as-of DATE`` and ``wb runs [show RUN_ID]``: run a pipeline, and read its history.

Exit codes of ``wb run``: 0 every step succeeded (or there were none), 1 a
step failed or was killed (the summary says which, and where its notebook
is), 2 refused before anything ran (bad input, or the same pipeline and
date already running), 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from workbench.cli_output import Refused, print_rows

FORMATS = click.Choice(["table", "csv", "json"])


def _seconds(value: float | None) -> str:
    if value is None or pd.isna(value):
        return ""
    minutes, seconds = divmod(float(value), 60)
    return f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"


def _when(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")


class Progress:
    """A listener printing one line per event on stderr, under a bar of the steps done (on a terminal)."""

    def __init__(self, total: int):
        from tqdm import tqdm

        self.tqdm = tqdm
        self.bar = tqdm(total=total, unit="step", file=sys.stderr, disable=None, leave=False)

    def say(self, text: str) -> None:
        self.tqdm.write(text, file=sys.stderr)

    def __call__(self, e) -> None:
        if e.kind == "attempt_started":
            self.bar.set_postfix_str(f"{e.step} (attempt {e.attempt})")
            self.say(f"{e.step}: attempt {e.attempt} started")
        elif e.kind == "attempt_finished":
            problem = f": {e.message}" if e.message else ""
            self.say(f"{e.step}: {e.status} in {_seconds(e.seconds)} (attempt {e.attempt}){problem}")
            self.bar.update(1 if e.final else 0)
        elif e.kind == "retry":
            self.say(f"{e.step}: retrying in {_seconds(e.seconds)}")
        elif e.kind == "step_skipped":
            self.say(f"{e.step}: skipped ({e.message})")
            self.bar.update(1)
        elif e.kind == "overrun":
            self.say(f"warning: {e.pipeline} is {e.message}")

    def close(self) -> None:
        self.bar.close()


def _stop_on_sigterm():
    """A scheduler or `kill` stops the run as Ctrl-C does: the step is killed and recorded, not orphaned.

    Returns the previous handler, to put back when the run is over.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, handler)


def _quiet_log() -> None:
    """The progress lines say it all on a terminal; without logging set up, the run's log lines are not repeated."""
    import logging

    from workbench.pipelines.events import log

    if not log.hasHandlers():
        log.addHandler(logging.NullHandler())


@click.command(name="run")
@click.argument("name")
@click.option("--as-of", "as_of", required=True, help="The business day the run is for (YYYY-MM-DD).")
@click.option("--param", "params", multiple=True, metavar="[STEP.]NAME=VALUE",
              help="A notebook parameter: every step that declares NAME, or only STEP (repeatable).")
@click.option("--user", default=None, help="Whom the notebooks act as (default: pipelines.user, u_pipeline).")
@click.option("--scope", default=None, help="What the run covers, for steps that take {scope} (default: the user).")
def run(name: str, as_of: str, params: tuple[str, ...], user: str | None, scope: str | None) -> None:
    """Run a pipeline for one as-of date: its notebooks in dependency order, archived and recorded.

    Each step runs its notebook with Papermill in a process of its own, with
    the run's parameters (as_of, run_id, the user it acts as, --param values);
    a failed step is retried as its pipeline file says, a step past its
    timeout is killed, and the steps that depend on a failed one are skipped
    while the others still run. Every attempt is archived as .ipynb and HTML
    under the runs folder and recorded in ops.pipeline_runs (`wb runs`).
    The same pipeline and date cannot run twice at once.

    Exit code 0 when every step succeeded, 1 when one failed, 2 when refused.

    \b
    Examples:
      wb run daily --as-of 2025-11-30
      wb run daily --as-of 2025-11-30 --param allocation.region=East --param horizon=14
      wb run weekly --as-of 2025-11-30 --user u_pipeline
      wb runs --pipeline daily --status failed      # what went wrong lately
    """
    from workbench.config import load_settings
    from workbench.pipelines import load_pipeline
    from workbench.pipelines.keys import PipelineError
    from workbench.pipelines.locks import RunLocked
    from workbench.pipelines.runner import execute, prepare

    settings = load_settings()
    try:
        request = prepare(load_pipeline(name), as_of, params=params, user=user, scope=scope, settings=settings)
    except PipelineError as err:
        raise Refused(str(err)) from None
    if not request.pipeline.steps:
        click.echo(f"{name} has no steps yet: nothing to run (pipelines/{name}.yaml)")
        return
    click.echo(f"run {request.run_id}: {name} for as-of {request.as_of} as {request.user}", err=True)
    previous_handler = _stop_on_sigterm()
    _quiet_log()
    progress = Progress(len(request.pipeline.steps))
    try:
        result = execute(request, settings=settings, listeners=[progress])
    except RunLocked as err:
        raise Refused(f"{err}; wait for it to finish (`wb runs show {err.holder.get('run_id', 'RUN_ID')}` "
                      "shows how far it is), then run again") from None
    except (FileNotFoundError, PermissionError) as err:  # no warehouse, or the history user lacks its grant
        raise Refused(f"{err} (run {request.run_id} stopped)") from None
    except KeyboardInterrupt:
        click.echo(f"interrupted: the running step was killed; see `wb runs show {request.run_id}`", err=True)
        sys.exit(130)
    finally:
        progress.close()
        signal.signal(signal.SIGTERM, previous_handler)
    _summary(result)
    if not result.ok:
        sys.exit(1)


def _summary(result) -> None:
    rows = [{"step": s.step, "status": s.status, "attempts": s.attempts, "duration": _seconds(s.seconds),
             "archive": s.archive or "", "error": s.error or ""} for s in result.steps]
    req = result.request
    print_rows(rows, ["step", "status", "attempts", "duration", "archive", "error"], "table",
               title=f"{req.pipeline.name} for as-of {req.as_of}: run {req.run_id}")
    bad = [s for s in result.steps if s.status != "succeeded"]
    verdict = (f"all {len(result.steps)} steps succeeded" if not bad else
               f"{len(bad)} of {len(result.steps)} steps did not succeed ({', '.join(f'{s.step}: {s.status}' for s in bad)})")
    click.echo(f"{verdict} in {_seconds(result.seconds)}; archive: {result.folder}; "
               f"history: wb runs show {req.run_id}")


def _day(value: str | None) -> dt.date | None:
    from workbench.pipelines.runner import parse_as_of

    return None if value is None else parse_as_of(value)


@click.group(name="runs", invoke_without_command=True)
@click.option("--pipeline", default=None, help="Only this pipeline's runs.")
@click.option("--status", type=click.Choice(["running", "succeeded", "failed"]), default=None,
              help="Only runs that ended so (failed: a step failed or was killed).")
@click.option("--since", default=None, help="Only runs started on or after this day (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True, help="The newest N runs (0: all).")
@click.option("--user", default=None, help="Whose session reads the history (default: pipelines.user).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def runs(ctx, pipeline: str | None, status: str | None, since: str | None, limit: int, user: str | None, fmt: str) -> None:
    """List pipeline runs from ops.pipeline_runs, newest first; `wb runs show RUN_ID` shows one.

    \b
    Examples:
      wb runs
      wb runs --pipeline daily --status failed --since 2025-11-01
      wb runs show daily-20251130-20260101T023000-3fa2
    """
    if ctx.invoked_subcommand is not None:
        return
    from workbench.config import load_settings
    from workbench.pipelines import history

    settings = load_settings()
    attempts = _read(settings, user=user, pipeline=pipeline, since=_checked(_day, since))
    found = history.summarise_runs(attempts)
    if status:
        found = found[found["status"] == status]
    if limit:
        found = found.head(limit)
    if found.empty and fmt == "table":
        click.echo("no runs recorded" + (" that match" if pipeline or status or since else " yet: wb run NAME --as-of DATE"))
        return
    rows = [{**r, "started_at": _when(r["started_at"]), "duration": _seconds(r["duration_s"])}
            for r in found.to_dict("records")]
    columns = ["run_id", "pipeline", "as_of", "status", "steps", "started_at", "duration", "acting_user", "error"]
    print_rows(rows, columns, fmt)


@runs.command(name="show")
@click.argument("run_id")
@click.option("--user", default=None, help="Whose session reads the history (default: pipelines.user).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def show_run(run_id: str, user: str | None, fmt: str) -> None:
    """Show one run: every step attempt with its status, duration, outputs, archived notebook and error.

    \b
    Examples:
      wb runs show daily-20251130-20260101T023000-3fa2
      wb runs show daily-20251130-20260101T023000-3fa2 --format json   # with each step's parameters
    """
    from workbench.config import load_settings
    from workbench.pipelines import history

    attempts = _read(load_settings(), user=user, run_id=run_id)
    if attempts.empty:
        raise Refused(f"no run {run_id!r} in {history.TABLE}; `wb runs` lists the recorded runs")
    rows = [{**r, "started_at": _when(r["started_at"]), "ended_at": _when(r["ended_at"]),
             "duration": _seconds(r["duration_s"]), "archive_html": _archived(r["archive_html"])}
            for r in attempts.to_dict("records")]
    if fmt != "table":
        print_rows(rows, [c for c in attempts.columns], fmt)
        return
    first = attempts.iloc[0]
    click.echo(f"run {run_id}: {first['pipeline']} for as-of {_when(first['as_of'])[:10]} as {first['acting_user']}, "
               f"{history.run_status(history.final_attempts(attempts)['status'])}; commit {first['git_commit'] or 'unknown'}")
    print_rows(rows, ["step", "attempt", "status", "started_at", "duration", "outputs", "archive_html", "error"], "table")


def _archived(path: Any) -> str:
    """The archived notebook's path, or that retention removed it (``pipelines.keep_days``)."""
    if path is None or pd.isna(path) or not path:
        return ""
    return path if Path(path).exists() else f"{path} (removed: older than pipelines.keep_days)"


@runs.command(name="prune")
@click.option("--older-than", "days", type=click.IntRange(min=1), default=None,
              help="Remove runs last written more than DAYS ago (default: pipelines.keep_days, 90).")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def prune_runs(days: int | None, dry_run: bool, fmt: str) -> None:
    """Remove archived runs (notebooks, HTML, kept outputs) older than the retention; history rows stay.

    Every run already does this when it ends; this is for doing it now, or for seeing what it would do.

    \b
    Examples:
      wb runs prune --dry-run
      wb runs prune --older-than 30
    """
    from workbench.config import load_settings
    from workbench.pipelines import retention

    settings = load_settings()
    try:
        days = days or retention.keep_days(settings)
    except ValueError as err:  # a bad pipelines.keep_days
        raise Refused(str(err)) from None
    if days is None:
        raise Refused("pipelines.keep_days is null (keep every run): give --older-than DAYS")
    gone = retention.prune(settings.runs_dir, days, dt.datetime.now(dt.timezone.utc), dry_run=dry_run)
    rows = [{"run_folder": str(g.folder), "last_written": _when(g.last_written), "size_mb": round(g.size / 1e6, 1)}
            for g in gone]
    if fmt != "table":
        print_rows(rows, ["run_folder", "last_written", "size_mb"], fmt)
        return
    if rows:
        print_rows(rows, ["run_folder", "last_written", "size_mb"], "table")
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(gone)} archived run(s) older than {days} days "
               f"({sum(g.size for g in gone) / 1e6:.1f} MB) from {settings.runs_dir}")


@runs.command(name="diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--step", default=None, help="The step to compare (needed when both runs have several with outputs).")
@click.option("--user", default=None, help="Who reads (default: pipelines.user); must see the output tables whole.")
@click.option("--examples", default=5, show_default=True, help="Rows shown of each kind of change (0: none).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def diff_runs(run_a: str, run_b: str, step: str | None, user: str | None, examples: int, fmt: str) -> None:
    """Compare the outputs of two runs of the same step: rows added, removed and changed, and the headline sums.

    A and B are run ids (`wb runs`); B is read as the newer. Rows are matched on
    the output table's key without as_of, so runs of two as-of dates compare
    too (the same moves, the overlapping forecast days). The outputs compared
    are the copies kept when each step succeeded (<runs folder>/.../<step>.outputs/).

    \b
    Examples:
      wb runs diff daily-20251130-20251201T023000-3fa2 daily-20251130-20251201T081500-77c1 --step forecast
      wb runs diff RUN_A RUN_B --step allocation --examples 10
      wb runs diff RUN_A RUN_B --step forecast --format json
    """
    from workbench.config import load_settings
    from workbench.pipelines.diff import diff_runs as compare

    try:
        found = compare(load_settings(), run_a, run_b, step=step, user=user, examples=examples)
    except (PermissionError, LookupError, ValueError) as err:  # PipelineError is a ValueError
        raise Refused(str(err)) from None
    if fmt == "json":
        import dataclasses
        import json

        click.echo(json.dumps(dataclasses.asdict(found), default=str, ensure_ascii=False, indent=1))
        return
    _print_diff(found)


def _print_diff(found) -> None:
    a, b = found.a, found.b
    click.echo(f"{a.pipeline} step {a.step}: A = {a.run_id} (as-of {a.as_of}), B = {b.run_id} (as-of {b.as_of})")
    for t in found.tables:
        click.echo(f"\n{t.table}: {t.rows_a} rows in A, {t.rows_b} in B; {t.added} added, {t.removed} removed, "
                   f"{t.changed} changed (key: {', '.join(t.key)})" + (f"; {t.note}" if t.note else ""))
        print_rows(t.measures, ["measure", "a", "b", "change", "change_pct"], "table")
        if t.examples:
            print_rows(t.examples, None, "table", title="examples")


def _checked(parse, value):
    from workbench.pipelines.keys import PipelineError

    try:
        return parse(value)
    except PipelineError as err:
        raise Refused(str(err)) from None


def _read(settings, **filters) -> pd.DataFrame:
    """The history rows, or a one-line refusal (no warehouse, no grant)."""
    from workbench.pipelines import history

    try:
        return history.read_attempts(settings, **filters)
    except (PermissionError, LookupError, FileNotFoundError) as err:
        raise Refused(str(err)) from None
