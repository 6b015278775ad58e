"""``wb runs diff A B``: what changed between the outputs of two runs of the same step.

Each run's outputs are the copies kept when its step succeeded
(``output_archive``: ``<step>.outputs/<table>.parquet`` beside the archived
notebook); the warehouse cannot answer this itself, since a re-run replaces
the previous run's rows. Rows are matched on the table's key from
``workbench/warehouse/schema.py`` without ``as_of``, so two days' plans compare
move by move and two days' forecasts day by day where their horizons overlap.
A row is *changed* when any other column differs (floats beyond a relative
1e-9). The headline: row counts and the sum of each measure column.

The copies are whole tables, outside the door's row filters and masks, so
the reading user must be allowed to read each table whole (scope ``all``, no
masked column): the pipeline user, head office, an analyst.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.config import Settings
from workbench.pipelines import archive, history
from workbench.pipelines.keys import PipelineError
from workbench.pipelines.output_archive import outputs_folder
from workbench.warehouse.schema import OUTPUTS

NOT_COMPARED = ("as_of", "run_id")
RTOL = 1e-9


@dataclass(frozen=True)
class Side:
    """One run's step: where its kept outputs are."""

    run_id: str
    pipeline: str
    step: str
    as_of: object
    folder: Path


@dataclass
class TableDiff:
    table: str
    key: list[str]
    rows_a: int
    rows_b: int
    added: int
    removed: int
    changed: int
    measures: list[dict] = field(default_factory=list)  # measure, a, b, change, change_pct
    examples: list[dict] = field(default_factory=list)  # change, the key, what differs
    note: str = ""


@dataclass
class RunsDiff:
    a: Side
    b: Side
    tables: list[TableDiff]


# ---------------------------------------------------------------- which step, which files


def _final(settings: Settings, run_id: str, user: str | None) -> pd.DataFrame:
    attempts = history.read_attempts(settings, user=user, run_id=run_id)
    if attempts.empty:
        raise PipelineError(f"no run {run_id!r} in {history.TABLE}; `wb runs` lists the recorded runs")
    return history.final_attempts(attempts).set_index("step", drop=False)


def _pick_step(a: pd.DataFrame, b: pd.DataFrame, step: str | None) -> str:
    """The step to compare: ``step``, else the only step of both runs that wrote outputs."""
    ids = a["run_id"].iloc[0], b["run_id"].iloc[0]
    if step is not None:
        for run_id, steps in zip(ids, (a, b)):
            if step not in steps.index:
                raise PipelineError(f"run {run_id} has no step {step!r} (steps: {', '.join(steps.index)})")
        return step
    wrote = [s for s in a.index if s in b.index and (a.at[s, "outputs"] or b.at[s, "outputs"])]
    if len(wrote) == 1:
        return wrote[0]
    if not wrote:
        raise PipelineError(f"no step of both runs wrote an output table (steps: {', '.join(a.index)}); "
                            "pick one with --step")
    raise PipelineError(f"both runs have several steps with outputs ({', '.join(wrote)}); pick one with --step")


def _side(settings: Settings, final: pd.DataFrame, step: str) -> Side:
    row = final.loc[step]
    run_id = str(row["run_id"])
    if row["status"] != "succeeded":
        raise PipelineError(f"step {step} of run {run_id} ended {row['status']}: only a succeeded step's outputs are "
                            "kept; compare another run (`wb runs --pipeline "
                            f"{row['pipeline']}`)")
    as_of = pd.Timestamp(row["as_of"]).date()
    run_folder = (Path(row["archive_ipynb"]).parent if isinstance(row["archive_ipynb"], str) and row["archive_ipynb"]
                  else archive.run_folder(settings.runs_dir, row["pipeline"], as_of, run_id))
    folder = outputs_folder(run_folder, step)
    if not any(folder.glob("*.parquet")):
        raise PipelineError(f"run {run_id} has no kept outputs of step {step} in {folder} (a run from before outputs "
                            "were kept, or its runs folder was moved or cleaned); re-run it with "
                            f"`wb run {row['pipeline']} --as-of {as_of}` to compare with a fresh run")
    return Side(run_id, str(row["pipeline"]), step, as_of, folder)


def check_reader(settings: Settings, user: str, tables: list[str]) -> None:
    """PermissionError unless ``user`` may read every table whole (the copies carry no row filter or mask)."""
    from workbench.governance.policies import load_access

    access = load_access(settings.access_file)
    role = access.role_of(access.user(user))
    for table in tables:
        masked = access.column_rules(role, OUTPUTS[table].column_names) if table in OUTPUTS else {}
        if not access.can_read(role, table) or access.row_policy(role) is not None or masked:
            raise PermissionError(f"{user} may not read all of {table} (role {role.name}), and the kept outputs are "
                                  "whole tables: compare as a user who may (e.g. --user u_hq)")


# ---------------------------------------------------------------- comparing


def measure_columns(frame: pd.DataFrame, key: list[str]) -> list[str]:
    """Numeric columns that measure something (not the key, not ids or versions)."""
    return [c for c in frame.columns if c not in key and c not in NOT_COMPARED and pd.api.types.is_numeric_dtype(frame[c])
            and not c.endswith(("_id", "_version"))]


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    both_missing = (a.isna() & b.isna()).to_numpy()
    if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            same = np.isclose(x, y, rtol=RTOL, atol=0.0) | (x == y)  # x == y: equal infinities
        return ~(same | both_missing)
    return ~((a == b).fillna(False).to_numpy(dtype=bool) | both_missing)


def _sum(values: pd.Series) -> float:
    x = values.to_numpy(dtype=float)
    return float(x[np.isfinite(x)].sum())


def compare(table: str, a: pd.DataFrame, b: pd.DataFrame, *, examples: int = 5) -> TableDiff:
    """Rows added (in B only), removed (in A only) and changed, by the table's key without as_of; measure sums."""
    key = [k for k in OUTPUTS[table].key if k not in NOT_COMPARED]
    for side, frame in (("A", a), ("B", b)):
        if frame.duplicated(key).any():
            raise ValueError(f"the kept {table} of run {side} has two rows for one key ({', '.join(key)}): "
                             "it cannot be compared row by row")
    values = [c for c in a.columns if c not in key and c not in NOT_COMPARED and c in b.columns]
    both = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    common = both[both["_merge"] == "both"]
    differs = pd.DataFrame({c: _differs(common[f"{c}_a"], common[f"{c}_b"]) for c in values}, index=common.index)
    changed = common[differs.any(axis=1)] if values else common.iloc[:0]
    result = TableDiff(table, key, len(a), len(b), int((both["_merge"] == "right_only").sum()),
                       int((both["_merge"] == "left_only").sum()), len(changed))
    result.measures = [_measure("rows", len(a), len(b))] + [
        _measure(f"sum of {m}", _sum(a[m]), _sum(b[m])) for m in measure_columns(a, key) if m in b.columns]
    result.examples = _examples(both, changed, differs, key, values, examples)
    return result


def _measure(name: str, a: float, b: float) -> dict:
    return {"measure": name, "a": a, "b": b, "change": b - a, "change_pct": (b - a) / a * 100 if a else None}


def _examples(both, changed, differs, key, values, n: int) -> list[dict]:
    """The first ``n`` rows of each kind, with what differs for changed ones (``mean 1.2 -> 1.5``)."""
    rows = []
    for kind, label in (("right_only", "added"), ("left_only", "removed")):
        for _, r in both[both["_merge"] == kind].head(n).iterrows():
            rows.append({"change": label, **{k: r[k] for k in key}, "what": ""})
    for idx, r in changed.head(n).iterrows():
        what = ", ".join(f"{c} {_short(r[f'{c}_a'])} -> {_short(r[f'{c}_b'])}" for c in values if differs.at[idx, c])
        rows.append({"change": "changed", **{k: r[k] for k in key}, "what": what})
    return rows


def _short(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- both together


def diff_runs(settings: Settings, run_a: str, run_b: str, *, step: str | None = None, user: str | None = None,
              examples: int = 5) -> RunsDiff:
    """Compare the kept outputs of ``step`` in two runs of one pipeline; PipelineError says what to do instead."""
    user = user or (settings.pipelines or {}).get("user", "u_pipeline")
    final_a, final_b = _final(settings, run_a, user), _final(settings, run_b, user)
    pipe_a, pipe_b = final_a["pipeline"].iloc[0], final_b["pipeline"].iloc[0]
    if pipe_a != pipe_b:
        raise PipelineError(f"run {run_a} is of pipeline {pipe_a}, run {run_b} of {pipe_b}: compare two runs of the "
                            f"same pipeline (`wb runs --pipeline {pipe_a}`)")
    chosen = _pick_step(final_a, final_b, step)
    a, b = _side(settings, final_a, chosen), _side(settings, final_b, chosen)
    names = sorted({p.stem for side in (a, b) for p in side.folder.glob("*.parquet")})
    check_reader(settings, user, names)
    return RunsDiff(a, b, [_table(name, a, b, examples) for name in names])


def _table(name: str, a: Side, b: Side, examples: int) -> TableDiff:
    paths = [side.folder / f"{name}.parquet" for side in (a, b)]
    frames = [pd.read_parquet(p) if p.is_file() else None for p in paths]
    present = next(f for f in frames if f is not None)
    missing = [side.run_id for side, f in zip((a, b), frames) if f is None]  # the step's outputs changed between them
    result = compare(name, *(present.iloc[:0] if f is None else f for f in frames), examples=examples)
    if missing:
        result.note = f"not kept for run {', '.join(missing)}: counted as no rows"
    return result
