"""``wb mlflow ...`` (the local tracking server) and ``wb models ...`` (the registry and the review gate).

Expected failures (no server, no such model, no challenger, an evaluator
that cannot be imported) print one line and exit with code 2.
``wb models review`` exits 0 when it promotes and 1 when it rejects, so a
pipeline can branch on the decision.
"""

from __future__ import annotations

import functools
import json
from typing import Callable

import click

from workbench.cli_output import Refused, print_rows


def _clean_errors(func: Callable) -> Callable:
    """The tracking package's expected errors become one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from workbench.tracking.server import TrackingError

        try:
            return func(*args, **kwargs)
        except (TrackingError, LookupError, ValueError) as err:
            raise Refused(str(err).splitlines()[0] if isinstance(err, TrackingError) else str(err)) from None

    return wrapper


def _settings():
    from workbench.config import load_settings

    return load_settings()


# ---------------------------------------------------------------- wb mlflow


@click.group(name="mlflow")
def mlflow_group() -> None:
    """Start, stop and inspect the local MLflow tracking server.

    One server per store (models/store, or WB_MODELS_DIR): SQLite backend,
    artifacts proxied into <store>/artifacts. Clients find it through
    <store>/server.json, or through WB_MLFLOW_URI when a server runs elsewhere.

    \b
    Examples:
      wb mlflow serve                 # start it in the background (about 15 s)
      wb mlflow status                # URL, PID, store, log
      wb mlflow stop
    """


@mlflow_group.command()
@click.option("--port", type=int, help="Port to listen on (default: mlflow.port in workbench.yaml, 5000); 0 picks a free one.")
@click.option("--foreground", is_flag=True, help="Stay attached to this terminal until Ctrl-C instead of running in the background.")
@_clean_errors
def serve(port: int | None, foreground: bool) -> None:
    """Start the MLflow tracking server for the store and wait until it answers.

    Without --foreground the server keeps running after this command returns;
    if one already runs for the store, this says where and changes nothing.

    \b
    Examples:
      wb mlflow serve
      wb mlflow serve --port 5001
      wb mlflow serve --foreground    # logs to the terminal; Ctrl-C stops it
    """
    from workbench.tracking import server

    settings = _settings()
    if foreground:
        config = server.server_config(settings, port=port)
        click.echo(f"MLflow server for {config.store} at http://{config.host}:{config.port} (Ctrl-C stops it)")
        click.get_current_context().exit(server.serve_foreground(settings, port=port))
    before = server.status(settings)
    current = server.start(settings, port=port)
    click.echo(("already running" if before.running else "started") + f": {current.url} (PID {current.pid})")
    click.echo(f"store: {current.store}\nlog:   {current.log}")
    if not current.healthy:
        raise Refused(f"the server (PID {current.pid}) does not answer at {current.url}: see {current.log}, "
                      f"or `wb mlflow stop` and serve again")


@mlflow_group.command()
@_clean_errors
def stop() -> None:
    """Stop the store's MLflow tracking server (the whole process group).

    \b
    Example:
      wb mlflow stop
    """
    from workbench.tracking import server

    stopped = server.stop(_settings())
    click.echo(f"stopped the server at {stopped.url} (PID {stopped.pid})" if stopped else "no server was running")


@mlflow_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Say whether the store's server runs: URL, PID, store, log. Exit code 0 if it answers, 1 if not.

    \b
    Examples:
      wb mlflow status
      wb mlflow status --json
    """
    import os

    from workbench.tracking import server

    current = server.status(_settings())
    env = os.environ.get(server.URI_ENV)
    if as_json:
        click.echo(json.dumps({"running": current.running, "healthy": current.healthy, "url": current.url,
                               "pid": current.pid, "started": current.started, "store": str(current.store),
                               "log": str(current.log), "env_uri": env}, indent=1))
    else:
        state = "running" if current.healthy else ("not answering" if current.running else "not running")
        click.echo(f"server:  {state}")
        for label, value in (("url", current.url), ("pid", current.pid), ("started", current.started),
                             ("store", current.store), ("log", current.log)):
            if value is not None:
                click.echo(f"{label + ':':8} {value}")
        if env:
            click.echo(f"note:    clients use {server.URI_ENV}={env}")
        if not current.running:
            click.echo("start it with `wb mlflow serve`")
    click.get_current_context().exit(0 if current.healthy else 1)


# ---------------------------------------------------------------- wb models


@click.group()
def models() -> None:
    """List registered models and review challengers (the only way to promote a champion).

    Aliases: a newly trained version is the `challenger`; `wb models review`
    compares it with the `champion` on the same backtest and promotes it only
    if it is better overall by the margin and no big segment is worse beyond
    tolerance (workbench/tracking/README.md).

    \b
    Examples:
      wb models list
      wb models show demand_forecast
      wb models review demand_forecast
    """
    import os

    # Output is tables and JSON on stdout: no run links on stdout, no download progress bars.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_clean_errors
def list_(as_json: bool) -> None:
    """List registered models, their versions and aliases.

    \b
    Examples:
      wb models list
      wb models list --json
    """
    from workbench.tracking.registry import list_models

    frame = list_models(_settings())
    if frame.empty and not as_json:
        click.echo("no registered models yet: training runs register them (see workbench/tracking/README.md)")
        return
    print_rows(frame.to_dict("records"), list(frame.columns), "json" if as_json else "table", title="Registered models")


@models.command()
@click.argument("name")
@click.option("--alias", default="champion", show_default=True, help="Which version: champion, challenger, previous_champion.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_clean_errors
def show(name: str, alias: str, as_json: bool) -> None:
    """Show one version: run, data window, parameters, metrics, review tags.

    \b
    Examples:
      wb models show demand_forecast
      wb models show demand_forecast --alias challenger --json
    """
    import dataclasses

    from workbench.tracking.registry import model_version_info

    info = model_version_info(name, alias, settings=_settings())
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(info), default=str, indent=1))
        return
    click.echo(f"{info.name} version {info.version} ({', '.join(info.aliases) or 'no alias'}), created {info.created:%Y-%m-%d %H:%M}")
    click.echo(f"run: {info.run_id}\nsource: {info.source}")
    click.echo("data window: " + ", ".join(f"{k}={v}" for k, v in info.data_window.items()))
    rows = [{"kind": "param", "name": k, "value": v} for k, v in sorted(info.params.items())]
    rows += [{"kind": "metric", "name": k, "value": v} for k, v in sorted(info.metrics.items())]
    rows += [{"kind": "tag", "name": k, "value": v} for k, v in sorted(info.tags.items()) if k.startswith("review.")]
    if rows:
        print_rows(rows, ["kind", "name", "value"], "table")


@models.command("review")
@click.argument("name")
@click.option("--margin", type=float, help="Required overall improvement, relative (default: mlflow.review.margin, 0.02).")
@click.option("--segment-tolerance", type=float, help="Largest relative worsening allowed in a segment (default 0.05).")
@click.option("--min-segment-share", type=float, help="Segments below this weight are not checked (default 0.05).")
@click.option("--metric", help="Metric to decide on (default: the evaluator's first overall metric).")
@click.option("--reviewer", default="u_admin", show_default=True, help="Who signs the review (a user of `wb users`).")
@click.option("--evaluator", help="module:function of evaluate(model) -> DataFrame (default: REVIEWERS in workbench/tracking/review.py).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision and the evidence as JSON.")
@_clean_errors
def review_cmd(name: str, margin: float | None, segment_tolerance: float | None, min_segment_share: float | None,
               metric: str | None, reviewer: str, evaluator: str | None, as_json: bool) -> None:
    """Review NAME's challenger against its champion on the same backtest; promote it or not.

    Prints the evidence (champion vs challenger per segment) and the decision,
    which is also logged to the MLflow experiment `model_reviews`.
    Exit code 0: promoted; 1: rejected; 2: could not review (one-line error).

    \b
    Examples:
      wb models review demand_forecast
      wb models review demand_forecast --margin 0.05 --segment-tolerance 0.10
      wb models review my_model --evaluator mypackage.review:evaluate
    """
    from workbench.tracking.review import evaluator as find_evaluator
    from workbench.tracking.review import review

    evaluate = find_evaluator(name, evaluator)
    decision = review(name, evaluate, margin=margin, segment_tolerance=segment_tolerance,
                      min_segment_share=min_segment_share, metric=metric, reviewer=reviewer, settings=_settings())
    if as_json:
        click.echo(json.dumps({"name": name, "decision": decision.decision, "reasons": decision.reasons,
                               "challenger_version": decision.challenger_version,
                               "champion_version": decision.champion_version, "metric": decision.metric,
                               "thresholds": decision.thresholds, "run_id": decision.run_id,
                               "evidence": json.loads(decision.evidence.to_json(orient="records"))}, indent=1))
    else:
        print_rows(decision.evidence_table().to_dict("records"), None, "table",
                   title=f"{name}: champion v{decision.champion_version} vs challenger v{decision.challenger_version}")
        click.echo(decision.summary())
        click.echo(f"logged as run {decision.run_id} in experiment model_reviews")
    click.get_current_context().exit(0 if decision.promoted else 1)
