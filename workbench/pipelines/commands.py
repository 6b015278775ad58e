"""``wb pipelines list | show | validate``: what runs when, read from ``pipelines/*.yaml``.

``validate`` is the check to run after editing a pipeline file (and in CI):
it exits 0 when every file would run and 1 with one ``error:`` line per bad
file, like a linter. ``show`` refuses an unknown or invalid pipeline with one
line and exit code 2, as every other ``wb`` command does.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from workbench.cli_output import Refused, print_rows

def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _chain(pipeline) -> str:
    from workbench.pipelines import order

    return " -> ".join(s.name for s in order(pipeline)) or "(no steps yet)"


@click.group()
def pipelines() -> None:
    """List, show and validate the scheduled pipelines (pipelines/*.yaml).

    A pipeline is a cron schedule and notebook steps with their parameters,
    dependencies, retries and timeouts; pipelines/README.md describes the format.
    Every file is validated when it is read: keys, the cron, the dependencies,
    the notebooks and the parameters they declare.

    \b
    Examples:
      wb pipelines list
      wb pipelines show daily
      wb pipelines validate              # every pipeline; exit code 1 if one is wrong
    """


@pipelines.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def list_pipelines_command(fmt: str) -> None:
    """List the pipelines: schedule, steps in run order, next run.

    A file that does not validate is listed as invalid (exit code 1);
    `wb pipelines validate NAME` says why.

    \b
    Examples:
      wb pipelines list
      wb pipelines list --format json
    """
    from workbench.pipelines import PipelineError, list_pipelines, load_pipeline, next_runs

    rows, invalid = [], False
    for name in list_pipelines():
        try:
            p = load_pipeline(name)
        except PipelineError:
            invalid = True
            rows.append({"pipeline": name, "schedule": "", "steps": f"invalid: wb pipelines validate {name}", "next_run": ""})
            continue
        rows.append({"pipeline": p.name, "schedule": p.schedule, "steps": _chain(p), "next_run": _when(next(iter(next_runs(p, _now(), 1)), None))})
    print_rows(rows, ["pipeline", "schedule", "steps", "next_run"], fmt)
    if invalid:
        raise SystemExit(1)


@pipelines.command()
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def show(name: str, fmt: str) -> None:
    """Show one pipeline: its steps in run order, their settings and parameters, the next 3 runs.

    Parameters are shown before a run fills them in: {as_of}, {run_id}, {user}
    and {scope} become the run's values (as_of and run_id are given to every
    notebook that declares them).

    \b
    Examples:
      wb pipelines show daily
      wb pipelines show weekly --format json
    """
    from workbench.pipelines import PipelineError, load_pipeline, next_runs, order

    try:
        p = load_pipeline(name)
    except PipelineError as err:
        raise Refused(str(err)) from None
    runs = next_runs(p, _now(), 3)
    steps = [_step_row(s) for s in order(p)]
    if fmt == "json":
        click.echo(json.dumps({"pipeline": p.name, "description": p.description, "schedule": p.schedule,
                               "timezone": p.timezone, "alerts": list(p.alerts), "expected_duration_s": p.expected_duration_s,
                               "next_runs": [r.isoformat() for r in runs], "steps": steps}, indent=1, default=str))
        return
    click.echo(f"{p.name}: {p.description}")
    click.echo(f"schedule:  {p.schedule} ({p.timezone or 'local time'}); next runs: {', '.join(_when(r) for r in runs)}")
    click.echo(f"alerts:    {', '.join(p.alerts) or 'none (failures are logged only)'}")
    if not steps:
        click.echo("steps:     none yet (a run of it does nothing)")
        return
    print_rows([_shown_step(r) for r in steps], ["step", "notebook", "depends_on", "retries", "timeout", "outputs", "parameters"],
               "table", title=f"steps of {p.name}, in run order")


def _step_row(step) -> dict[str, Any]:
    return {"step": step.name, "notebook": step.notebook, "depends_on": list(step.depends_on), "retries": step.retries,
            "retry_backoff_s": step.retry_backoff_s, "timeout_s": step.timeout_s, "outputs": list(step.outputs),
            "parameters": step.parameter_template()}


def _shown_step(row: dict[str, Any]) -> dict[str, Any]:
    """A step row for the table: lists joined, seconds as whole numbers."""
    waits = f", first after {row['retry_backoff_s']:g} s" if row["retries"] else ""
    return {**row, "depends_on": ", ".join(row["depends_on"]), "outputs": ", ".join(row["outputs"]),
            "retries": f"{row['retries']}{waits}", "timeout": f"{row['timeout_s']:g} s",
            "parameters": ", ".join(f"{k}={v}" for k, v in row["parameters"].items())}


@pipelines.command()
@click.argument("name", required=False)
@click.option("--param", "params", multiple=True, metavar="[STEP.]NAME=VALUE",
              help="A run parameter to check too: every step that declares NAME, or only STEP (repeatable).")
def validate(name: str | None, params: tuple[str, ...]) -> None:
    """Validate one pipeline, or all; exit code 1 with the reason if one would not run.

    Checks keys and types, the cron, step dependencies (unknown steps, cycles),
    that each notebook exists and declares every parameter given to it, and
    the --param values as `wb run` would get them.

    \b
    Examples:
      wb pipelines validate
      wb pipelines validate daily --param horizon=14 --param allocation.region=East
    """
    from workbench.pipelines import PipelineError, list_pipelines, load_pipeline, parse_overrides

    if params and not name:
        raise Refused("--param checks one pipeline's parameters: name it, e.g. wb pipelines validate daily --param horizon=14")
    names = [name] if name else list_pipelines()
    if not names:
        raise Refused("no pipeline files in pipelines/; add one (pipelines/README.md describes the format)")
    failed = False
    for each in names:
        try:
            p = load_pipeline(each)
            p.step_overrides(parse_overrides(params))
        except PipelineError as err:
            failed = True
            click.echo(f"error: {err}", err=True)
            continue
        count = f"{len(p.steps)} step{'s' if len(p.steps) != 1 else ''}: {_chain(p)}" if p.steps else "no steps yet"
        click.echo(f"ok: {p.name} ({count})")
    if failed:
        raise SystemExit(1)
