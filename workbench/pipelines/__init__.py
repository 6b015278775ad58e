"""Pipelines: which notebooks run when, in what order, with which parameters (``pipelines/*.yaml``).

- ``spec``      ``Pipeline`` and ``Step`` loaded from YAML and validated on load (``PipelineError``)
- ``keys``      key-by-key reading of the YAML, with messages naming file, step and key
- ``notebooks`` the parameters a notebook declares (its ``parameters`` cell, via Papermill)
- ``graph``     run order, dependants of a failed step, cycles
- ``schedule``  cron schedules through APScheduler, and the next run times
- ``commands``  ``wb pipelines list | show | validate``

Running them (``wb run``, ``wb runs``):

- ``runner``       check a run (``prepare``), then run its steps under the lock (``execute``)
- ``attempt``      one attempt in a child process (``child``), killed with its kernel past the timeout
- ``archive``      executed notebooks kept as .ipynb and HTML under the runs folder
- ``history``      ``ops.pipeline_runs``: one row per attempt, written through the door
- ``outputs``      the tables an attempt wrote, from the audit log
- ``locks``        one run per pipeline and as-of date (``fcntl.flock``)
- ``events``       what a run tells its listeners (progress, logs, alerts)
- ``alerts``       the listener that posts / mails failures, retries and overruns
- ``checks``       data checks on a step's outputs, after its notebook succeeded
- ``output_archive`` a Parquet copy of each succeeded step's output rows, beside its notebook
- ``diff``         what changed between two runs' kept outputs (``wb runs diff``)
- ``run_commands`` ``wb run`` and ``wb runs [show | diff]``

On a schedule (``wb schedule``):

- ``scheduler``         what is due (the latest missed fire, once), running it, the APScheduler service
- ``schedule_state``    the scheduler's memory: last fire handled per pipeline (SQLite)
- ``schedule_commands`` ``wb schedule [--once | --status]``
"""

from workbench.pipelines.graph import dependants, order
from workbench.pipelines.keys import PipelineError
from workbench.pipelines.schedule import next_runs
from workbench.pipelines.spec import Pipeline, Step, list_pipelines, load_pipeline, parse_overrides, pipelines_dir

__all__ = ["Pipeline", "PipelineError", "Step", "dependants", "list_pipelines", "load_pipeline", "next_runs",
           "order", "parse_overrides", "pipelines_dir"]
