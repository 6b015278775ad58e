"""``wb``: the workbench command line.

Each command lives with its capability (``workbench/<capability>/commands.py``)
and is imported only when it runs, so ``wb --help`` answers at once.
"""

from __future__ import annotations

import importlib

import click

# name -> (module:attribute, one-line help). The help is repeated here so that
# listing commands imports nothing heavy.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("workbench.demo:demo", "Set up the embedded default and run the main job; print a chain summary."),
    "demo-data": ("workbench.simulation.commands:demo_data", "Generate the simulated chain into the warehouse (tiny | demo | large)."),
    "summary": ("workbench.demo:summary", "Print a short summary of the chain in the warehouse."),
    "tables": ("workbench.governance.commands:tables", "List the tables a user may read, with their columns."),
    "users": ("workbench.governance.commands:users", "List the configured users with their role and scope."),
    "query": ("workbench.governance.commands:query", "Run SQL as a user, through that user's policies."),
    "audit": ("workbench.governance.commands:audit", "Show recent entries of the audit log (auditor, admin)."),
    "ingest": ("workbench.ingest.commands:ingest", "Load a POS / ERP export into the raw layer; bad rows go to quarantine."),
    "metrics": ("workbench.metrics.commands:metrics", "List the metric definitions, or compute metrics by dimensions."),
    "rollups": ("workbench.metrics.commands:rollups", "Build, list and explain the rollups dashboards answer from."),
    "bench": ("workbench.bench.commands:bench", "Run a benchmark; print a table and write JSON."),
    "mlflow": ("workbench.tracking.commands:mlflow_group", "Start, stop and inspect the local MLflow tracking server."),
    "models": ("workbench.tracking.commands:models", "List registered models; review a challenger against the champion."),
    "devices": ("workbench.devices.commands:devices", "Shop-floor devices: scale readings, RFID stocktakes, simulated devices on a pty."),
    "members": ("workbench.members.commands:members", "Members: RFM segments, lifetime value, BG/NBD holdout, reactivation call lists."),
    "vision": ("workbench.vision.commands:vision", "Returns inspection (accept / B-goods / reject) and photo search on the catalogue's photos."),
    "studio": ("workbench.studio.commands:studio", "AI model photos (AI模特): generate from a product photo, review, list those for use."),
    "forecast": ("workbench.forecasting.commands:forecast", "Train, score (write marts.forecast) and show the demand forecast."),
    "pipelines": ("workbench.pipelines.commands:pipelines", "List, show and validate the scheduled pipelines (pipelines/*.yaml)."),
    "run": ("workbench.pipelines.run_commands:run", "Run a pipeline for an as-of date: notebooks in order, archived, recorded."),
    "runs": ("workbench.pipelines.run_commands:runs", "List pipeline runs (ops.pipeline_runs); show one run's steps; diff two."),
    "serve": ("workbench.apps.commands:serve", "Serve the apps, the report notebooks (Voila) and the MLflow UI; print their URLs."),
    "apps": ("workbench.apps.commands:apps_group", "Manage logins of the published apps (wb apps passwd USER)."),
    "schedule": ("workbench.pipelines.schedule_commands:schedule", "Run the pipelines on their cron schedules (a service, or --once from cron)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="retail-workbench")
def main() -> None:
    """Retail Workbench: governed data, metrics and models for a fashion retail chain.

    \b
    Examples:
      wb demo                                  # build the demo chain and summarise it
      wb demo-data --scale tiny --seed 7       # a small warehouse for tests
      wb query --user u_store_017 "select count(*) from sales"
      wb tables --user u_region_east
    """


if __name__ == "__main__":
    main()
