"""Pipeline definitions: ``pipelines/NAME.yaml`` read into ``Pipeline`` and ``Step``, validated on load.

Everything that can be known before a run is checked here (keys, types, the
cron, the dependency graph, the notebooks and the parameters they declare),
so that a bad file is a clear ``PipelineError`` at load time and never a
failure at 02:30 halfway through the night. The YAML format is described in
``pipelines/README.md``.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from workbench.config import project_root
from workbench.pipelines import graph
from workbench.pipelines.checks import Check, parse_checks
from workbench.pipelines.keys import PipelineError, Reader

# Values a parameter may use as ``{name}``; ``as_of`` and ``run_id`` are also given to every
# notebook that declares them, so output rows are always tagged with the run that wrote them.
PLACEHOLDERS = ("as_of", "run_id", "user", "scope")
INJECTED = ("as_of", "run_id")


def pipelines_dir() -> Path:
    """``pipelines/`` under the project root (``WB_HOME`` moves it with the rest)."""
    return project_root() / "pipelines"


@dataclass(frozen=True)
class Step:
    """One notebook run inside a pipeline."""

    name: str
    notebook: str  # relative to the project root, e.g. notebooks/forecast.ipynb
    parameters: dict[str, Any] = field(default_factory=dict, hash=False)
    depends_on: tuple[str, ...] = ()
    retries: int = 0
    retry_backoff_s: float = 60.0
    timeout_s: float = 3600.0
    checks: tuple[Check, ...] = ()  # data checks on the outputs after the notebook succeeded (``checks``)
    outputs: tuple[str, ...] = ()  # marts tables the step writes (swapped in when it succeeds)
    description: str = ""
    declared: tuple[str, ...] = ()  # the parameters the notebook's `parameters` cell declares
    exports: tuple[str, ...] = ()  # archive formats beyond .ipynb and HTML (``export: [pdf]``)

    @property
    def retry_waits(self) -> tuple[float, ...]:
        """Seconds to wait before each retry: the back-off, doubled each time."""
        return tuple(self.retry_backoff_s * 2**k for k in range(self.retries))

    def parameter_template(self) -> dict[str, Any]:
        """The parameters before a run fills them in, with the run's as-of date and id added where declared."""
        injected = {p: "{" + p + "}" for p in INJECTED if p in self.declared}
        return {**injected, **self.parameters}

    def resolved_parameters(self, as_of: dt.date | str, run_id: str, user: str, scope: str | None = None,
                            overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The concrete parameters of one run: placeholders filled in, then ``overrides`` on top.

        ``scope`` None means the acting user (a user name is a valid scope for the notebooks).
        A string that is only a placeholder becomes the value itself (so None stays None).
        """
        self.check_overrides(overrides or {})
        values = {"as_of": as_of.isoformat() if isinstance(as_of, dt.date) else str(as_of),
                  "run_id": run_id, "user": user, "scope": user if scope is None else scope}
        merged = {**self.parameter_template(), **(overrides or {})}
        return {key: _fill(value, values) for key, value in merged.items()}

    def check_overrides(self, overrides: Mapping[str, Any]) -> None:
        """PipelineError for an override the notebook does not declare, or one the run itself sets."""
        for key in overrides:
            if key in INJECTED:
                raise PipelineError(f"step {self.name!r}: {key} is set by the run itself "
                                    f"(wb run NAME --as-of DATE); do not pass it as a parameter")
            if key not in self.declared:
                raise PipelineError(_undeclared(self, key, "override"))


@dataclass(frozen=True)
class Pipeline:
    """A named, scheduled set of steps, as loaded from ``pipelines/NAME.yaml``."""

    name: str
    schedule: str  # five-field cron, weekdays as names
    steps: tuple[Step, ...]
    description: str = ""
    timezone: str | None = None  # None: the machine's local time zone, as cron does
    alerts: tuple[str, ...] = ()  # webhook URLs and e-mail addresses
    expected_duration_s: float | None = None
    as_of_lag_days: int = 1  # a scheduled run's as-of date is its fire date minus this (1: data through yesterday)
    path: Path | None = None
    root: Path | None = None  # project root the notebook paths are relative to

    def step(self, name: str) -> Step:
        """The step called ``name``; PipelineError naming the steps there are."""
        for s in self.steps:
            if s.name == name:
                return s
        raise PipelineError(f"pipeline {self.name!r} has no step {name!r} (steps: {_names(self.steps)})")

    def needs(self) -> dict[str, tuple[str, ...]]:
        """``{step: the steps it depends on}`` in file order (for ``graph``)."""
        return {s.name: s.depends_on for s in self.steps}

    def step_overrides(self, overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Split run overrides into per-step parameters.

        ``"step.param"`` goes to that step only; a plain ``"param"`` goes to every step
        whose notebook declares it, and is an error if none does (a typo would
        otherwise be silently ignored).
        """
        split: dict[str, dict[str, Any]] = {s.name: {} for s in self.steps}
        for key, value in overrides.items():
            step_name, _, param = key.rpartition(".")
            targets = [self.step(step_name)] if step_name else [s for s in self.steps if param in s.declared]
            if not targets:
                raise PipelineError(f"no step of pipeline {self.name!r} declares a parameter {param!r}; "
                                    f"`wb pipelines show {self.name}` lists each step's parameters")
            for target in targets:
                target.check_overrides({param: value})
                split[target.name][param] = value
        return split


def list_pipelines(folder: Path | None = None) -> list[str]:
    """Names of the pipeline files in ``folder`` (default ``pipelines/``), sorted."""
    return sorted(p.stem for p in (folder or pipelines_dir()).glob("*.yaml"))


def load_pipeline(name_or_path: str | Path, folder: Path | None = None, root: Path | None = None) -> Pipeline:
    """Read and validate one pipeline: a name in ``folder`` or a path to a YAML file."""
    folder = folder or pipelines_dir()
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = folder / f"{name_or_path}.yaml"
    if not path.is_file():
        raise PipelineError(f"no pipeline {str(name_or_path)!r} in {folder} "
                            f"(known: {', '.join(list_pipelines(folder)) or 'none'}); add {path.name} there")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise PipelineError(f"{path}: not valid YAML ({err}); quote the cron, e.g. schedule: \"30 2 * * *\"") from None
    return _build(Reader(str(path), raw), path, root or project_root())


def _build(doc: Reader, path: Path, root: Path) -> Pipeline:
    from workbench.pipelines.schedule import cron_trigger

    doc.only("name", "description", "schedule", "timezone", "alerts", "expected_duration_s", "as_of_lag_days", "steps")
    name = doc.text("name", default=path.stem)
    if name != path.stem:
        raise PipelineError(f"{doc.where}: name {name!r} differs from the file name; rename the file to {name}.yaml")
    schedule, timezone = doc.text("schedule"), doc.text("timezone", default=None)
    try:
        cron_trigger(schedule, timezone)
    except ValueError as err:
        raise PipelineError(f"{doc.where}: {err}") from None
    steps = tuple(_step(item, root) for item in doc.items("steps"))
    _check_graph(doc.where, steps)
    return Pipeline(name=name, schedule=schedule, steps=steps, description=doc.text("description", default=""),
                    timezone=timezone, alerts=tuple(doc.texts("alerts", _alert_problem)), path=path, root=root,
                    expected_duration_s=doc.number("expected_duration_s", default=None, minimum=1),
                    as_of_lag_days=doc.integer("as_of_lag_days", 1))


def _step(item: Reader, root: Path) -> Step:
    item.name_step(item.text("name", pattern=r"[A-Za-z0-9_-]+"))  # first, so later messages can name the step
    item.only("name", "notebook", "description", "parameters", "depends_on", "retries", "retry_backoff_s",
              "timeout_s", "checks", "outputs", "export")
    notebook = item.text("notebook")
    outputs = tuple(item.texts("outputs", _output_problem))
    step = Step(name=item.step, notebook=notebook, parameters=item.mapping("parameters"),
                depends_on=tuple(dict.fromkeys(item.texts("depends_on"))), retries=item.integer("retries", 0),
                retry_backoff_s=item.number("retry_backoff_s", 60.0), timeout_s=item.number("timeout_s", 3600.0, minimum=1),
                checks=parse_checks(item, item.mappings("checks"), outputs), outputs=outputs,
                description=item.text("description", default=""), declared=_declared(item, root, notebook),
                exports=tuple(dict.fromkeys(item.texts("export", _export_problem))))
    for key, value in step.parameters.items():
        _check_parameter(item, step, key, value)
    return step


def _declared(item: Reader, root: Path, notebook: str) -> tuple[str, ...]:
    """The names in the notebook's ``parameters`` cell (papermill reads it as the runner will)."""
    from workbench.pipelines.notebooks import declared_parameters

    if Path(notebook).is_absolute() or not notebook.endswith(".ipynb"):
        raise PipelineError(f"{item.where}: notebook {notebook!r} must be an .ipynb path relative to the "
                            "project root, e.g. notebooks/forecast.ipynb")
    try:
        return declared_parameters(root / notebook)
    except (FileNotFoundError, ValueError) as err:
        raise PipelineError(f"{item.where}: {err}") from None


def _check_parameter(item: Reader, step: Step, key: str, value: Any) -> None:
    if key not in step.declared:
        raise PipelineError(f"{item.where}: {_undeclared(step, key, 'parameter')}")
    if key in INJECTED and value != "{" + key + "}":
        raise PipelineError(f"{item.where}: {key} is the run's own (wb run NAME --as-of DATE sets it); "
                            "remove it from the step's parameters")
    if isinstance(value, str):
        try:
            fields = [f for _, f, spec, conv in string.Formatter().parse(value) if f is not None or spec or conv]
        except ValueError as err:
            raise PipelineError(f"{item.where}: parameter {key}: {err}; write {{{{ and }}}} for literal braces") from None
        unknown = [f for f in fields if f not in PLACEHOLDERS]
        if unknown:
            raise PipelineError(f"{item.where}: parameter {key} uses {{{unknown[0]}}}; the placeholders are "
                                + ", ".join("{" + p + "}" for p in PLACEHOLDERS))


def _check_graph(where: str, steps: tuple[Step, ...]) -> None:
    names = [s.name for s in steps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PipelineError(f"{where}: two steps are called {twice[0]!r}; step names must be unique")
    for s in steps:
        for need in s.depends_on:
            if need not in names:
                raise PipelineError(f"{where}, step {s.name!r}: depends_on {need!r}, which is not a step here "
                                    f"(steps: {', '.join(names)})")
    cycle = graph.find_cycle({s.name: s.depends_on for s in steps})
    if cycle:
        raise PipelineError(f"{where}: the steps depend on each other in a cycle: {' -> '.join(cycle)}; "
                            "remove one of these depends_on")


def _alert_problem(target: str) -> str | None:
    """Alerts go to a webhook (http/https URL) or an e-mail address; anything else would never arrive."""
    if re.fullmatch(r"https?://[^\s/]+\S*", target) or re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", target):
        return None
    return f"{target!r} is neither a webhook URL (https://...) nor an e-mail address"


def _export_problem(fmt: str) -> str | None:
    from workbench.pipelines.archive import EXPORTS

    return None if fmt in EXPORTS else f"unknown export format {fmt!r}; the archive can add: {', '.join(EXPORTS)}"


def _output_problem(table: str) -> str | None:
    """Outputs are the marts contracts the runner swaps in; an unknown name could never be swapped."""
    from workbench.warehouse.schema import OUTPUTS

    if table in OUTPUTS:
        return None
    return (f"{table!r} is not an output table of workbench/warehouse/schema.py (known: {', '.join(sorted(OUTPUTS))}); "
            "add its contract there first")


def _undeclared(step: Step, key: str, what: str) -> str:
    return (f"step {step.name!r}: {what} {key!r} is not declared in the parameters cell of {step.notebook} "
            f"(it declares: {', '.join(step.declared) or 'nothing'}); fix the name or add it to the notebook")


def _names(steps) -> str:
    return ", ".join(s.name for s in steps) or "none"


def _fill(value: Any, values: Mapping[str, Any]) -> Any:
    """A parameter with the run's values in its placeholders; non-strings as they are."""
    if not isinstance(value, str):
        return value
    for name in PLACEHOLDERS:
        if value == "{" + name + "}":
            return values[name]
    try:
        return value.format_map(values)
    except (KeyError, ValueError, IndexError) as err:  # only overrides get here unchecked
        raise PipelineError(f"parameter value {value!r}: bad placeholder {err}; the placeholders are "
                            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)) from None


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["horizon=14", "allocation.region=East"]`` -> typed values (YAML scalars; dates stay strings)."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise PipelineError(f"a parameter is NAME=VALUE or STEP.NAME=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else text
        except yaml.YAMLError:
            value = text
        # notebooks take dates as YYYY-MM-DD strings; YAML would turn them into date objects
        overrides[key.strip()] = text if isinstance(value, (dt.date, list, dict)) else value
    return overrides
