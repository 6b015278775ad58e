"""``wb forecast train | score | show``: the demand forecast from the shell.

Expected failures (an as-of date outside the data, a user who sees no
stores, no champion, no MLflow server, no write grant) print one line and
exit with code 2, and write nothing.
"""

from __future__ import annotations

import functools
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

import click

from workbench.cli_output import Refused, print_rows


def _clean_errors(func: Callable) -> Callable:
    """The forecast's expected errors become one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from workbench.tracking.server import TrackingError
        from workbench.warehouse.engines import WarehouseMissing

        try:
            return func(*args, **kwargs)
        except (TrackingError, LookupError, ValueError, PermissionError, WarehouseMissing) as err:
            text = str(err).strip() or type(err).__name__
            raise Refused(text.splitlines()[0] if isinstance(err, TrackingError) else text) from None

    return wrapper


@contextmanager
def _steps(total: int) -> Iterator[Callable[[str], None]]:
    """A step bar on stderr (hidden when stderr is not a terminal): one tick per long step, named."""
    from tqdm import tqdm

    bar = tqdm(total=total, file=sys.stderr, disable=None, leave=False, bar_format="{l_bar}{bar}| {n}/{total} [{elapsed}]")
    first = [True]

    def step(label: str) -> None:
        if not first[0]:
            bar.update(1)
        first[0] = False
        bar.set_description_str(label)

    try:
        yield step
    finally:
        bar.close()


def _session(user: str, write: bool):
    """A CLI session of ``user``; scope warnings become one plain line on stderr."""
    from workbench.forecasting.runs import RunScope, open_session

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        s = open_session(RunScope(user), write=write, entry_point="cli")
    for w in caught:
        if issubclass(w.category, UserWarning):
            click.echo(f"warning: {w.message}", err=True)
    return s


@click.group()
def forecast() -> None:
    """Train, score and show the demand forecast (SKU x store x day, P10 / P50 / P90).

    `train` registers a challenger in MLflow; `wb models review demand_forecast`
    promotes it to champion if it beats the current one on the same backtest;
    `score` forecasts with the champion and writes marts.forecast (replacing that
    as-of date's rows); `show` reads it back through your governed session.

    \b
    Examples:
      wb mlflow serve
      wb forecast train --as-of 2025-11-30
      wb models review demand_forecast
      wb forecast score --as-of 2025-11-30
      wb forecast show --store S001 --limit 20
    """
    import os

    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@forecast.command()
@click.option("--as-of", "as_of", required=True, help="Last day of data to train on (YYYY-MM-DD).")
@click.option("--user", default="u_pipeline", show_default=True, help="Whose governed session the training reads.")
@click.option("--n-origins", type=click.IntRange(1, 104), default=None,
              help="Weekly training origins (default: TrainingPlan's 52, fewer if the history is shorter); fewer train faster.")
@click.option("--no-backtest", is_flag=True, help="Skip the backtest (the model before its refit, scored on the 28 days before --as-of).")
@_clean_errors
def train(as_of: str, user: str, n_origins: int | None, no_backtest: bool) -> None:
    """Train the forecast on data up to --as-of and register it as the challenger.

    Logs parameters, the recipe (LightGBM parameters + training plan), the data
    window, backtest metrics per level (the same recipe trained 28 days earlier
    and scored on the 28 days up to --as-of), feature importance and the model
    to MLflow (experiment demand_forecast), then prints the new version.

    \b
    Examples:
      wb forecast train --as-of 2025-11-30
      wb forecast train --as-of 2025-11-30 --n-origins 6 --no-backtest
      wb forecast train --as-of 2025-06-30 --user u_region_east   # a model of one region's data
    """
    from workbench.forecasting.forecast import TrainingPlan
    from workbench.forecasting.runs import train as run_train

    plan = TrainingPlan(n_origins=n_origins) if n_origins else TrainingPlan()
    with _session(user, write=False) as s, _steps(3 if not no_backtest else 2) as step:
        result = run_train(s, as_of, plan=plan, backtest=not no_backtest, progress=step)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.metrics is not None:
        from workbench.forecasting.report import accuracy_table

        table = accuracy_table(result.metrics).reset_index()
        columns = [c for c in ("level", "wrmsse", "wape", "bias", "coverage_p10_p90", "spl") if c in table.columns]
        print_rows(table[columns].to_dict("records"), columns, "table",
                   title=f"backtest: trained {result.backtest_origin}, scored {result.backtest_origin} +1..+28 days")
    from workbench.forecasting.registry import model_name

    click.echo(f"{model_name()} version {result.version} registered as challenger "
               f"(trained on data up to {result.as_of} as {user})")
    click.echo(f"next: wb models review {model_name()}")


@forecast.command()
@click.option("--as-of", "as_of", required=True, help="Forecast the 28 days after this day (YYYY-MM-DD).")
@click.option("--user", default="u_pipeline", show_default=True, help="Who runs it: needs a write grant on marts.forecast.")
@click.option("--alias", default="champion", show_default=True,
              help="Which registered version forecasts: champion, or previous_champion to roll back (a version "
                   "that never passed the review gate is refused).")
@click.option("--by", default="region", show_default=True, type=click.Choice(["region", "brand", "category", "store_code"]),
              help="How the printed summary groups the forecast.")
@_clean_errors
def score(as_of: str, user: str, alias: str, by: str) -> None:
    """Forecast with the champion and write marts.forecast for --as-of.

    A second run for the same as-of date replaces that date's rows (never adds
    to them); a run that fails writes nothing. Prints the rows written and a
    summary of expected units.

    \b
    Examples:
      wb forecast score --as-of 2025-11-30
      wb forecast score --as-of 2025-11-30 --alias previous_champion --by brand   # roll back
    """
    from workbench.forecasting.report import summary
    from workbench.forecasting.runs import score as run_score

    with _session(user, write=True) as s, _steps(3) as step:
        result = run_score(s, as_of, alias=alias, progress=step)
        table = summary(s, result.forecast, by=by)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    print_rows(table.to_dict("records"), list(table.columns), "table",
               title=f"forecast as of {result.as_of}, model version {result.version}")
    click.echo(f"wrote {result.rows} rows to marts.forecast for as-of {result.as_of} (run {result.run_id})")


@forecast.command()
@click.option("--as-of", "as_of", default=None, help="Which forecast (default: the latest).")
@click.option("--store", "stores", multiple=True, help="Store code, e.g. S001 (repeatable).")
@click.option("--sku", "skus", multiple=True, help="SKU code, or an SKC code for all its sizes (repeatable).")
@click.option("--user", default="u_analyst", show_default=True, help="Whose governed session reads it (row policies apply).")
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True, help="Rows to print (0: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@_clean_errors
def show(as_of: str | None, stores: tuple[str, ...], skus: tuple[str, ...], user: str, limit: int, fmt: str) -> None:
    """Show forecast rows from marts.forecast, as the user may see them.

    \b
    Examples:
      wb forecast show
      wb forecast show --as-of 2025-11-30 --store S001 --sku 25AW-KN0003-BLK
      wb forecast show --user u_store_001 --format csv --limit 0 > s001.csv
    """
    from workbench.forecasting.output import read_forecast
    from workbench.forecasting.runs import parse_day

    day = parse_day(as_of) if as_of else None
    with _session(user, write=False) as s:
        frame = read_forecast(s, day, store_codes=stores or None, sku_codes=skus or None)
    if frame.empty:
        raise Refused("no forecast rows match: check --store / --sku (and that the user may see those stores)")
    total = len(frame)
    frame = frame.head(limit) if limit else frame
    columns = ["as_of", "store_code", "sku_code", "date", "p10", "p50", "p90", "mean", "model_version"]
    frame = frame.assign(as_of=frame["as_of"].dt.date, date=frame["date"].dt.date)
    print_rows(frame[columns].to_dict("records"), columns, fmt,
               title=f"marts.forecast: {len(frame)} of {total} rows" if fmt == "table" else None)


@forecast.command()
@click.option("--as-of", "as_of", required=True, help="Last day of data; the CV windows end here (YYYY-MM-DD).")
@click.option("--trials", "n_trials", type=click.IntRange(1), default=20, show_default=True, help="Trials to run.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=None,
              help="Time budget in seconds (a running trial finishes).")
@click.option("--windows", "n_windows", type=click.IntRange(1), default=3, show_default=True,
              help="Rolling-origin windows of 28 days.")
@click.option("--user", default="u_pipeline", show_default=True, help="Whose governed session the search reads.")
@click.option("--seed", type=int, default=0, show_default=True, help="TPE sampler seed.")
@click.option("--study", "study_name", default=None, help="Study name (default: demand_forecast-AS_OF); resumed if stored.")
@_clean_errors
def tune(as_of: str, n_trials: int, timeout_s: float | None, n_windows: int, user: str, seed: int,
         study_name: str | None) -> None:
    """Search LightGBM and training-plan settings with Optuna (stored study, pruning, fixed seed).

    The study lives in the models store (SQLite) and resumes when run again;
    the default settings are always its first trial. Use the best values
    with `wb forecast train` via the notebook's parameters, or read them with
    `optuna` from the printed storage.

    \b
    Examples:
      wb forecast tune --as-of 2025-12-03 --trials 10 --timeout 3600
      wb forecast tune --as-of 2025-12-03 --windows 2 --study nightly-tune
    """
    from workbench.forecasting.runs import parse_day
    from workbench.forecasting.tuning import tune as run_tuning

    with _session(user, write=False) as s:
        result = run_tuning(s, as_of=parse_day(as_of), n_trials=n_trials, timeout_s=timeout_s, n_windows=n_windows,
                            seed=seed, study_name=study_name)
    click.echo(f"study {result.study_name} in {result.storage}")
    click.echo(f"best trial {result.best_trial}: WRMSSE {result.best_value:.4f} over windows "
               f"{', '.join(d.isoformat() for d in result.windows)}")
    for key, value in sorted(result.best_params.items()):
        click.echo(f"  {key} = {value}")
    click.echo(f"  plan = {result.best_plan}")
