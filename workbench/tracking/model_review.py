"""Model review (模型评审): champion against challenger for each registered model, and a person's promotion.

What the model review app shows, as plain data (no Panel here, so it is
tested without a browser and usable from a notebook):

- :func:`registered_models`, :func:`champion_and_challenger`: the two versions
  behind the aliases, with when they were trained and on which data window;
- :func:`metrics_table`: their training runs' metrics by level (the run's
  ``{metric}.{level}`` keys, :func:`workbench.tracking.registry.metric_key`)
  and by segment (``backtest_segments.csv`` where the run logged one) as one
  tidy table with the relative change and whether it is better or worse;
- :func:`figures`: the PNGs the runs logged (backtest, feature importance);
- :func:`latest_review`: the last decision of the gate (or of a reviewer):
  promoted or not, the reasons, the evidence table, who and when;
- :func:`promote`: a model reviewer's promotion, recorded like a review.

Why a person may promote, and on which rules
--------------------------------------------
The gate (:func:`workbench.tracking.review.review`) is a rule: better overall
by the margin, no large segment worse beyond the tolerance. A person knows
things the rule does not (a brand that is worse is being dropped next season;
an improvement just below the margin is worth having now). So the reviewer
may promote a challenger *the gate has rejected*, and only that:

1. Only a user whose role is ``model_reviewer`` (:data:`REVIEWER_ROLE`).
   Admin is refused too: administrators run the systems, they do not sign
   off on models (separation of duties). An admin who must promote gives a
   user the role in ``workbench/conf/access.yaml``, which is under version
   control and so leaves its own trail.
2. Only the current ``challenger``, and only once the gate has compared it
   with the current ``champion`` on the same backtest (DESIGN.md invariant 6:
   the person overrides the rule's verdict, never the comparison). Without
   such a review the reviewer is told to run ``wb models review NAME``.
3. A reason is required.
4. It is recorded as a run of the experiment ``model_reviews``, like the
   gate's own runs (tags ``decision=promote``, ``reviewer``,
   ``review_kind=manual``; params ``reason`` and ``based_on_run``, the gate's
   run; ``evidence.csv`` copied from it; ``decision.json`` with the
   reviewer's reason first and the gate's reasons after it) and as the same
   ``review.*`` tags on the version. The aliases move as the gate moves them:
   the old champion is kept as ``previous_champion``.

Refusals raise :class:`PermissionError` (wrong role) or
:class:`PromotionRefused` (no reason, not the challenger, not reviewed) and
change nothing in MLflow.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.config import Settings, load_settings
from workbench.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    ModelAliasMissing,
    ModelVersionInfo,
    connect,
    experiment_id,
    model_version_info,
)
from workbench.tracking.review import EXPERIMENT, _promote

REVIEWER_ROLE = "model_reviewer"
SEGMENTS_FILE = "backtest_segments.csv"  # what workbench.forecasting.registry logs per training run
LEVEL = "level"  # the ``kind`` of rows that come from the run's metric keys
MANUAL = "manual"  # review_kind of a reviewer's promotion; the gate's runs carry no such tag
GATE = "gate"
# The metric a card shows first, per model; others fall back to the first error metric of the table.
KEY_METRICS: dict[str, tuple[str, str]] = {"demand_forecast": ("wrmsse", "sku_store")}
TABLE_COLUMNS = ["kind", "level", "metric", "weight", "champion", "challenger", "change", "outcome"]
# Metrics where neither lower nor higher is better, but closeness to a target.
_COVERAGE = re.compile(r"coverage_p(\d+)_p(\d+)$")
_SAFE_NAME = re.compile(r"^[\w.\- ]+$")  # what may go inside an MLflow filter string


class UnknownModel(LookupError):
    """No registered model of that name."""


class PromotionRefused(ValueError):
    """A reviewer's promotion that the rules refuse (no reason, not the challenger, not reviewed by the gate)."""


@dataclass(frozen=True)
class Pair:
    """The two versions a review compares; either may be missing."""

    name: str
    champion: ModelVersionInfo | None
    challenger: ModelVersionInfo | None


@dataclass(frozen=True)
class Figure:
    """A PNG a training run logged (``figures/backtest.png``, ``feature_importance.png`` ...)."""

    name: str
    path: str
    png: bytes


@dataclass
class ReviewRecord:
    """A decision logged in ``model_reviews``: the gate's (``kind`` gate) or a reviewer's (``kind`` manual)."""

    run_id: str
    name: str
    decision: str  # promote | reject
    kind: str  # gate | manual
    reviewer: str
    time: pd.Timestamp
    challenger_version: int | None
    champion_version: int | None
    metric: str = ""
    reasons: list[str] = field(default_factory=list)
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""  # the reviewer's own words (manual promotions)
    based_on_run: str = ""  # the gate review a manual promotion overrode

    @property
    def promoted(self) -> bool:
        return self.decision == "promote"


# --- reading ---------------------------------------------------------------------------------------------------


def registered_models(settings: Settings | None = None) -> list[str]:
    """The names of every registered model, sorted. Raises ``ServerNotRunning`` when MLflow is not up."""
    client = connect(settings)
    return sorted(m.name for m in client.search_registered_models(max_results=1000))


def _check_name(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise UnknownModel(f"{name!r} is not a registered model name")
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise UnknownModel(f"no registered model {name!r}; the registered ones are listed by `wb models list`") from None


def _version(name: str, alias: str, settings: Settings | None) -> ModelVersionInfo | None:
    try:
        return model_version_info(name, alias, settings=settings)
    except ModelAliasMissing:
        return None


def champion_and_challenger(name: str, settings: Settings | None = None) -> Pair:
    """``name@champion`` and ``name@challenger`` (None where the alias is not set); :class:`UnknownModel` if no such model."""
    _check_name(connect(settings), name)
    return Pair(name, _version(name, CHAMPION, settings), _version(name, CHALLENGER, settings))


def split_key(key: str) -> tuple[str, str]:
    """``wrmsse.skc_store`` -> (``wrmsse``, ``skc_store``); a key without a level -> (key, "")."""
    metric, _, level = key.partition(".")
    return metric, level


def outcome(metric: str, champion: float, challenger: float) -> str:
    """``better`` / ``worse`` / ``same`` for the challenger, or ``""`` when one value is missing.

    Error metrics (WRMSSE, WAPE, pinball loss ...) are lower-is-better; ``bias``
    is better nearer 0 and ``coverage_pXX_pYY`` nearer its nominal (YY-XX) %.
    """
    if not (math.isfinite(champion) and math.isfinite(challenger)):
        return ""
    coverage = _COVERAGE.match(metric)
    if coverage:
        target = (int(coverage.group(2)) - int(coverage.group(1))) / 100
        old, new = abs(champion - target), abs(challenger - target)
    elif metric == "bias":
        old, new = abs(champion), abs(challenger)
    else:
        old, new = champion, challenger
    if math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12):
        return "same"
    return "better" if new < old else "worse"


def _relative(new: float, old: float) -> float:
    """(new - old) / |old|; NaN where it has no meaning (a value missing, or the champion's is 0)."""
    if not (math.isfinite(new) and math.isfinite(old)) or old == 0:
        return math.nan
    return (new - old) / abs(old)


def _level_rows(info: ModelVersionInfo | None) -> pd.DataFrame:
    rows = []
    for key, value in (info.metrics if info else {}).items():
        metric, level = split_key(key)
        rows.append((LEVEL, level, metric, math.nan, float(value)))
    return pd.DataFrame(rows, columns=["kind", "level", "metric", "weight", "value"])


def _download_text(client: Any, run_id: str, path: str) -> str | None:
    """The text of artifact ``path`` of ``run_id``, or None when the run has none."""
    folder = tempfile.mkdtemp(prefix="wb-model-review-")
    try:
        parent = path.rpartition("/")[0] or None
        if path not in {a.path for a in client.list_artifacts(run_id, parent)}:
            return None
        return Path(client.download_artifacts(run_id, path, folder)).read_text(encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _segment_rows(client: Any, info: ModelVersionInfo | None) -> pd.DataFrame:
    text = _download_text(client, info.run_id, SEGMENTS_FILE) if info and info.run_id else None
    columns = ["kind", "level", "metric", "weight", "value"]
    if not text:
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(io.StringIO(text))
    frame = frame.rename(columns={"segment_kind": "kind", "segment": "level"})
    frame["level"] = frame["level"].astype(str)
    if "weight" not in frame:
        frame["weight"] = math.nan
    return frame[columns]


def _rows(client: Any, info: ModelVersionInfo | None) -> pd.DataFrame:
    parts = [p for p in (_level_rows(info), _segment_rows(client, info)) if len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["kind", "level", "metric", "weight", "value"])
    return frame.astype({"value": float, "weight": float})


def compare_metrics(champion: pd.DataFrame, challenger: pd.DataFrame) -> pd.DataFrame:
    """Two frames ``[kind, level, metric, weight, value]`` -> the tidy comparison (:data:`TABLE_COLUMNS`).

    Pure (no MLflow). A row only one version has keeps NaN for the other.
    ``change`` is relative, ``(challenger - champion) / |champion|``; ``outcome``
    says whether that is better (:func:`outcome`). Levels come first, then
    segments by kind and descending weight.
    """
    keys = ["kind", "level", "metric"]
    champion, challenger = (f.astype({"weight": float, "value": float}) for f in (champion, challenger))
    merged = champion.merge(challenger, on=keys, how="outer", suffixes=("_champion", "_challenger"))
    merged = merged.rename(columns={"value_champion": "champion", "value_challenger": "challenger"})
    merged["weight"] = merged["weight_challenger"].fillna(merged["weight_champion"])
    old, new = merged["champion"].astype(float), merged["challenger"].astype(float)
    merged["change"] = [_relative(n, o) for n, o in zip(new, old)]
    merged["outcome"] = [outcome(m, o, n) for m, o, n in zip(merged["metric"], old, new)]
    merged["_segment"] = merged["kind"] != LEVEL
    merged = merged.sort_values(["_segment", "kind", "metric", "weight", "level"],
                                ascending=[True, True, True, False, True], na_position="last")
    return merged[TABLE_COLUMNS].reset_index(drop=True)


def metrics_table(name: str, pair: Pair | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """Champion vs challenger: every metric their training runs logged, by level and by segment.

    Columns :data:`TABLE_COLUMNS`: ``kind`` is ``level`` for the run's
    ``{metric}.{level}`` keys, or the segment kind (``brand``, ``region`` ...)
    for rows of the run's ``backtest_segments.csv`` (with their ``weight``,
    the segment's revenue share). The training runs may have been scored on
    different backtest windows; the gate's evidence (:func:`latest_review`)
    is the like-for-like comparison.
    """
    pair = pair or champion_and_challenger(name, settings)
    client = connect(settings)
    return compare_metrics(_rows(client, pair.champion), _rows(client, pair.challenger))


def key_metric(name: str, table: pd.DataFrame) -> pd.Series | None:
    """The row a card shows: :data:`KEY_METRICS` for the model, else the first error metric by level
    (one both versions logged, where there is one, so that the card can show the change)."""
    levels = table[table["kind"] == LEVEL]
    if levels.empty:
        return None
    both = levels[levels["champion"].notna() & levels["challenger"].notna()]
    wanted = KEY_METRICS.get(name)
    if wanted:
        hit = levels[(levels["metric"] == wanted[0]) & (levels["level"] == wanted[1])]
        if len(hit):
            return hit.iloc[0]
    for candidates in (both, levels):
        errors = candidates[(candidates["metric"] != "bias") & ~candidates["metric"].str.match(_COVERAGE.pattern)]
        if len(errors):
            return errors.iloc[0]
    return (both if len(both) else levels).iloc[0]


def figures(run_id: str, settings: Settings | None = None) -> list[Figure]:
    """The PNGs a run logged at its root and under ``figures/`` (backtest first), with their bytes."""
    client = connect(settings)
    top = client.list_artifacts(run_id)
    paths = [a.path for a in top if a.path.endswith(".png")]
    if any(a.is_dir and a.path == "figures" for a in top):
        paths += [a.path for a in client.list_artifacts(run_id, "figures") if a.path.endswith(".png")]
    paths.sort(key=lambda p: (not p.startswith("figures/"), "backtest" not in p, p))
    folder = tempfile.mkdtemp(prefix="wb-model-review-")
    try:
        return [Figure(Path(p).stem, p, Path(client.download_artifacts(run_id, p, folder)).read_bytes()) for p in paths]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _record(client: Any, run: Any) -> ReviewRecord:
    tags, params = run.data.tags, run.data.params
    decision_text = _download_text(client, run.info.run_id, "decision.json")
    logged = json.loads(decision_text) if decision_text else {}
    evidence_text = _download_text(client, run.info.run_id, "evidence.csv")
    evidence = pd.read_csv(io.StringIO(evidence_text)) if evidence_text else pd.DataFrame()
    return ReviewRecord(
        run_id=run.info.run_id,
        name=tags.get("model_name", params.get("model_name", "")),
        decision=tags["decision"],
        kind=tags.get("review_kind", GATE),
        reviewer=tags.get("reviewer", params.get("reviewer", "")),
        time=pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
        challenger_version=_int_or_none(params.get("challenger_version")),
        champion_version=_int_or_none(params.get("champion_version")),
        metric=str(logged.get("metric", params.get("metric", ""))),
        reasons=list(logged.get("reasons", [])),
        evidence=evidence,
        reason=params.get("reason", ""),
        based_on_run=params.get("based_on_run", ""),
    )


def _review_runs(client: Any, name: str, extra: str = "", max_results: int = 20) -> list[Any]:
    """Finished review runs of ``name``, newest first (a run that failed half way has no ``decision`` tag)."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return []
    query = f"tags.model_name = '{name}'" + (f" and {extra}" if extra else "")
    runs = client.search_runs([found.experiment_id], query, order_by=["attributes.start_time DESC"], max_results=max_results)
    return [r for r in runs if "decision" in r.data.tags]


def latest_review(name: str, settings: Settings | None = None) -> ReviewRecord | None:
    """The last decision on ``name`` (the gate's or a reviewer's), or None if it was never reviewed."""
    client = connect(settings)
    _check_name(client, name)
    runs = _review_runs(client, name, max_results=5)
    return _record(client, runs[0]) if runs else None


def gate_review_of(name: str, challenger: int, champion: int | None, settings: Settings | None = None) -> ReviewRecord | None:
    """The gate's latest review of version ``challenger`` against ``champion`` (None: no champion), if any."""
    client = connect(settings)
    _check_name(client, name)
    runs = _review_runs(client, name, f"params.challenger_version = '{int(challenger)}'")
    wanted = "none" if champion is None else str(int(champion))
    for run in runs:
        if run.data.tags.get("review_kind", GATE) == GATE and run.data.params.get("champion_version") == wanted:
            return _record(client, run)
    return None


# --- promoting -------------------------------------------------------------------------------------------------


def role_of(user: str, settings: Settings | None = None) -> str:
    """The role ``user`` has in ``access.yaml``; LookupError for an unknown user."""
    from workbench.governance.policies import load_access

    settings = settings or load_settings()
    config = load_access(settings.access_file)
    return config.role_of(config.user(user)).name


def may_promote(user: str, settings: Settings | None = None) -> bool:
    """Whether ``user`` may promote models (role :data:`REVIEWER_ROLE`; admin may not)."""
    try:
        return role_of(user, settings) == REVIEWER_ROLE
    except LookupError:
        return False


def check_reviewer(user: str, settings: Settings | None = None) -> None:
    """PermissionError unless ``user`` has the model reviewer role."""
    role = role_of(user, settings)
    if role != REVIEWER_ROLE:
        raise PermissionError(
            f"{user} has the role {role}: promoting a model needs the {REVIEWER_ROLE} role "
            f"(workbench/conf/access.yaml); nothing was changed"
        )


def _target(client: Any, name: str, version: int) -> tuple[Any, Any | None]:
    """The challenger ``ModelVersion`` (must be ``version``) and the champion's (or None)."""
    from mlflow.exceptions import MlflowException

    def by_alias(alias: str):
        try:
            return client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None

    challenger, champion = by_alias(CHALLENGER), by_alias(CHAMPION)
    if champion is not None and int(champion.version) == version:
        raise PromotionRefused(f"version {version} of {name!r} is already the {CHAMPION}; nothing was changed")
    if challenger is None or int(challenger.version) != version:
        now = f"the {CHALLENGER} is version {challenger.version}" if challenger else f"{name!r} has no {CHALLENGER}"
        raise PromotionRefused(f"only the {CHALLENGER} can be promoted, and {now}, not version {version}; "
                               f"nothing was changed")
    return challenger, champion


def promote(name: str, version: int, reviewer: str, reason: str, *, settings: Settings | None = None) -> ReviewRecord:
    """A model reviewer promotes ``name``'s challenger ``version`` over the gate's rejection; the recorded decision.

    The rules are the module's docstring: role ``model_reviewer`` (else
    PermissionError), a reason, the current challenger, reviewed by the gate
    against the current champion (else :class:`PromotionRefused`). Recorded
    as a ``model_reviews`` run and as ``review.*`` tags on the version; the
    aliases move as the gate moves them.
    """
    settings = settings or load_settings()
    check_reviewer(reviewer, settings)
    reason = (reason or "").strip()
    if not reason:
        raise PromotionRefused("a promotion needs a reason (it is kept with the decision); nothing was changed")
    client = connect(settings)
    _check_name(client, name)
    challenger, champion = _target(client, name, int(version))
    champion_version = int(champion.version) if champion is not None else None
    gate = gate_review_of(name, int(version), champion_version, settings)
    if gate is None:
        against = f"version {champion_version}" if champion is not None else "no champion"
        raise PromotionRefused(
            f"the gate has not compared version {version} of {name!r} with the {CHAMPION} ({against}) on the same "
            f"backtest: run `wb models review {name}` first; nothing was changed"
        )
    if gate.promoted:  # the gate promoted it, so it would be the champion; defensive
        raise PromotionRefused(f"the gate already promoted version {version} of {name!r}; nothing was changed")
    return _record_promotion(client, name, challenger, champion, gate, reviewer, reason)


def _record_promotion(client: Any, name: str, challenger: Any, champion: Any | None, gate: ReviewRecord,
                      reviewer: str, reason: str) -> ReviewRecord:
    """Log the reviewer's decision as a ``model_reviews`` run, then move the aliases inside it."""
    from mlflow.entities import Param, RunTag

    reasons = [f"promoted by {reviewer} over the gate's rejection (run {gate.run_id}): {reason}",
               *(f"gate: {r}" for r in gate.reasons)]
    run_name = f"{name} v{challenger.version} promoted by {reviewer}"
    run = client.create_run(experiment_id(client, EXPERIMENT), run_name=run_name, tags={
        "model_name": name, "reviewer": reviewer, "review_kind": MANUAL})
    run_id = run.info.run_id
    try:
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in {
            "model_name": name, "challenger_version": challenger.version,
            "champion_version": champion.version if champion is not None else "none",
            "metric": gate.metric, "reviewer": reviewer, "reason": reason[:6000], "based_on_run": gate.run_id,
        }.items()])
        if len(gate.evidence):
            client.log_text(run_id, gate.evidence.to_csv(index=False), "evidence.csv")
        client.log_dict(run_id, {
            "decision": "promote", "kind": MANUAL, "reasons": reasons, "reason": reason, "reviewer": reviewer,
            "metric": gate.metric, "based_on_run": gate.run_id, "gate_decision": gate.decision,
            "challenger_version": int(challenger.version),
            "champion_version": int(champion.version) if champion is not None else None,
        }, "decision.json")
        _promote(client, name, challenger.version, champion.version if champion is not None else None)
        client.set_tag(run_id, "decision", "promote")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    tags = {"review.decision": "promote", "review.run_id": run_id, "review.reviewer": reviewer,
            "review.kind": MANUAL, "review.champion_version": str(champion.version if champion is not None else "none"),
            "review.reasons": " | ".join(reasons)[:5000]}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(challenger.version), key, value)
    return _record(client, client.get_run(run_id))
