"""The review gate: the only way a model version becomes ``champion`` (DESIGN.md invariant 6).

:func:`review` loads the ``challenger`` and the ``champion`` of a registered
model, runs both through the model's ``evaluate(model) -> DataFrame``
callback (champion first, then challenger; the callback uses the same
backtest windows for both), and promotes the challenger only if

1. its overall metric is better by at least ``margin`` (relative), and
2. no segment whose weight (revenue share) is at least ``min_segment_share``
   is worse by more than ``segment_tolerance`` (relative).

Metrics are "lower is better" (WRMSSE, WAPE, pinball loss ...). A model with
no champion yet gets its first challenger promoted once it has been
evaluated (a finite overall metric is all it needs); the decision says so.

Promotion moves ``champion`` to the challenger, keeps the old champion as
``previous_champion`` and removes ``challenger``; a rejected challenger keeps
its alias. Either way the decision and its evidence are logged as a run of
the experiment ``model_reviews`` and as ``review.*`` tags on the version.

The evaluation frame has one row per segment and metric:
``segment_kind`` ("overall", "brand", "region" ...), ``segment`` (the
overall row's is "all" or anything), ``metric``, ``value``, ``weight``.
Model-specific callbacks are found through :data:`REVIEWERS`.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from workbench.config import Settings, load_settings
from workbench.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    ModelAliasMissing,
    connect,
    experiment_id,
    version_by_alias,
)

# Registered model name -> "module:function" of its evaluate(model) -> DataFrame, imported when needed.
REVIEWERS: dict[str, str] = {
    "demand_forecast": "workbench.forecasting.review:evaluate",
}

EXPERIMENT = "model_reviews"
OVERALL = "overall"
COLUMNS = ("segment_kind", "segment", "metric", "value", "weight")
DEFAULT_THRESHOLDS = {"margin": 0.02, "segment_tolerance": 0.05, "min_segment_share": 0.05}

Evaluate = Callable[[Any], pd.DataFrame]


class ChallengerMissing(ModelAliasMissing):
    """There is no challenger to review."""


class EvaluatorMissing(LookupError):
    """No evaluate callback is registered for a model, or it cannot be imported."""


@dataclass
class ReviewDecision:
    """What the gate decided, why, and the champion-versus-challenger table it decided on."""

    name: str
    promoted: bool
    reasons: list[str]
    evidence: pd.DataFrame
    challenger_version: int | None = None
    champion_version: int | None = None
    metric: str = ""
    thresholds: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None

    @property
    def decision(self) -> str:
        return "promote" if self.promoted else "reject"

    def summary(self) -> str:
        """One paragraph: the decision, then the reasons, one per line."""
        if self.promoted:
            head = f"{self.name}: version {self.challenger_version} promoted to {CHAMPION}"
            if self.champion_version is not None:
                head += f" (version {self.champion_version} kept as {PREVIOUS_CHAMPION})"
        else:
            head = f"{self.name}: version {self.challenger_version} rejected; {CHAMPION} stays version {self.champion_version}"
        return "\n".join([head, *(f"  - {r}" for r in self.reasons)])

    def evidence_table(self) -> pd.DataFrame:
        """The evidence for people: change and weight as percentages, blank where they do not apply."""
        shown = self.evidence.copy()
        shown["change"] = [("" if c != c else f"{c * 100:+.1f} %") for c in shown["change"]]
        shown["weight"] = [("" if w != w else f"{w * 100:.1f} %") for w in shown["weight"]]
        return shown


def thresholds(settings: Settings | None = None, **overrides: float | None) -> dict[str, float]:
    """The gate's thresholds: ``mlflow.review`` in the settings file, then non-None ``overrides``."""
    settings = settings or load_settings()
    configured = {**DEFAULT_THRESHOLDS, **(settings.mlflow.get("review") or {})}
    merged = {k: float(v) for k, v in configured.items() if k in DEFAULT_THRESHOLDS}
    merged.update({k: float(v) for k, v in overrides.items() if v is not None})
    for key, value in merged.items():
        if not 0 <= value < 1:
            raise ValueError(f"{key} must be a share between 0 and 1 (got {value})")
    return merged


def evaluator(name: str, spec: str | None = None) -> Evaluate:
    """The evaluate callback of model ``name``: ``spec`` ("module:function") or :data:`REVIEWERS`."""
    spec = spec or REVIEWERS.get(name)
    if not spec:
        known = ", ".join(sorted(REVIEWERS)) or "none"
        raise EvaluatorMissing(
            f"no review evaluator is registered for model {name!r} (registered: {known}); add it to "
            f"REVIEWERS in workbench/tracking/review.py or pass --evaluator module:function"
        )
    module_name, _, attr = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr or "evaluate")
    except (ImportError, AttributeError) as err:
        raise EvaluatorMissing(f"the review evaluator {spec} of model {name!r} cannot be imported: {err}") from None
    if not callable(func):
        raise EvaluatorMissing(f"the review evaluator {spec} of model {name!r} is not a function")
    return func


def _check_frame(frame: pd.DataFrame, who: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"evaluate() returned {type(frame).__name__} for the {who}, not a DataFrame")
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"evaluate() for the {who} lacks columns {', '.join(sorted(missing))} (needs {', '.join(COLUMNS)})")
    frame = frame.loc[:, list(COLUMNS)].copy()
    frame["segment"] = frame["segment"].astype(str)
    repeated = frame.duplicated(["segment_kind", "segment", "metric"])
    if repeated.any():
        row = frame[repeated].iloc[0]
        raise ValueError(f"evaluate() for the {who} repeats {row.segment_kind}={row.segment} for {row.metric}")
    return frame


def _relative(new: float, old: float) -> float:
    """(new - old) / |old|: negative is better for lower-is-better metrics."""
    if not (math.isfinite(new) and math.isfinite(old)):
        return math.nan
    if old == 0:
        return 0.0 if new == 0 else math.inf
    return (new - old) / abs(old)


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def compare(
    champion: pd.DataFrame | None,
    challenger: pd.DataFrame,
    *,
    margin: float,
    segment_tolerance: float,
    min_segment_share: float,
    metric: str | None = None,
) -> tuple[bool, list[str], pd.DataFrame, str]:
    """The rule, on two evaluation frames: (promote?, reasons, evidence, metric decided on).

    ``metric`` defaults to the only metric, or the first one of the overall
    rows; other metrics are carried in the evidence for information.
    Pure: no MLflow, so the rule is tested on its own.
    """
    challenger = _check_frame(challenger, "challenger")
    champion = _check_frame(champion, "champion") if champion is not None else None
    overall_rows = challenger[challenger.segment_kind == OVERALL]
    if overall_rows.empty:
        raise ValueError(f"evaluate() returned no {OVERALL!r} row: the gate compares the overall metric first")
    metric = metric or str(overall_rows.metric.iloc[0])
    if metric not in set(overall_rows.metric):
        raise ValueError(f"evaluate() returned no {OVERALL!r} row for metric {metric!r}")

    keys = ["segment_kind", "segment", "metric"]
    base = champion if champion is not None else challenger.assign(value=math.nan)
    evidence = base.merge(challenger, on=keys, how="outer", suffixes=("_champion", "_challenger"))
    evidence = evidence.rename(columns={"value_champion": "champion", "value_challenger": "challenger"})
    evidence["weight"] = evidence["weight_challenger"].fillna(evidence["weight_champion"])
    evidence["change"] = [_relative(n, o) for n, o in zip(evidence.challenger.astype(float), evidence.champion.astype(float))]
    evidence["is_overall"] = evidence.segment_kind == OVERALL
    evidence["is_decisive"] = evidence.metric == metric
    evidence = evidence.sort_values(["is_decisive", "is_overall", "metric", "segment_kind", "weight"],
                                    ascending=[False, False, True, True, False])

    reasons: list[str] = []
    verdicts: dict[int, str] = {}
    overall = evidence[evidence.is_overall & (evidence.metric == metric)].iloc[0]
    if champion is None:
        promoted = math.isfinite(overall.challenger)
        verdicts[overall.name] = "first champion" if promoted else "no value"
        reasons.append(
            f"no champion yet: the challenger was evaluated (overall {metric} {overall.challenger:.4g}) and "
            + ("becomes the first champion" if promoted else "is not promoted because its overall metric is not a number")
        )
    else:
        overall_ok = math.isfinite(overall.change) and overall.change <= -margin
        verdicts[overall.name] = "better enough" if overall_ok else "not better enough"
        reasons.append(
            f"overall {metric}: challenger {overall.challenger:.4g} vs champion {overall.champion:.4g}, "
            f"{_pct(-overall.change) + ' better' if overall.change <= 0 else _pct(overall.change) + ' worse'} "
            f"({'meets' if overall_ok else 'misses'} the required {_pct(margin)} improvement)"
        )
        segments = evidence[~evidence.is_overall & (evidence.metric == metric)]
        failing, ignored = [], []
        for idx, row in segments.iterrows():
            label = f"{row.segment_kind}={row.segment}"
            if row.weight < min_segment_share:  # a segment without a weight is checked, to be safe
                verdicts[idx] = "ignored (small)"
                if math.isfinite(row.change) and row.change > segment_tolerance:
                    ignored.append(f"{label} {_pct(row.change)} worse at weight {_pct(row.weight)}")
            elif not math.isfinite(row.challenger):
                verdicts[idx] = "no challenger value"
                failing.append(f"{label} (weight {_pct(row.weight)}) has no value for the challenger")
            elif not math.isfinite(row.change):
                verdicts[idx] = "new segment" if not math.isfinite(row.champion) else "worse beyond tolerance"
                if math.isfinite(row.champion):
                    failing.append(f"{label} (weight {_pct(row.weight)}) went from 0 to {row.challenger:.4g}")
            elif row.change > segment_tolerance:
                verdicts[idx] = "worse beyond tolerance"
                failing.append(f"{label} (weight {_pct(row.weight)}) is {_pct(row.change)} worse "
                               f"(tolerance {_pct(segment_tolerance)})")
            else:
                verdicts[idx] = "worse within tolerance" if row.change > 0 else "better or equal"
        if failing:
            reasons.extend(failing)
        else:
            reasons.append(f"no segment with weight at least {_pct(min_segment_share)} is more than "
                           f"{_pct(segment_tolerance)} worse ({len(segments)} segments compared)")
        if ignored:
            reasons.append(f"ignored as too small (weight below {_pct(min_segment_share)}): {'; '.join(ignored)}")
        promoted = overall_ok and not failing

    evidence["verdict"] = [verdicts.get(i, "" if m == metric else "for information") for i, m in zip(evidence.index, evidence.metric)]
    evidence = evidence[["segment_kind", "segment", "metric", "weight", "champion", "challenger", "change", "verdict"]]
    return promoted, reasons, evidence.reset_index(drop=True), metric


def _check_reviewer(reviewer: str, settings: Settings) -> None:
    from workbench.governance.policies import load_access

    if reviewer not in load_access(settings.access_file).users:
        raise LookupError(f"unknown reviewer {reviewer!r}: a review is signed by a configured user (see `wb users`)")


def review(
    name: str,
    evaluate: Evaluate,
    *,
    margin: float | None = None,
    segment_tolerance: float | None = None,
    min_segment_share: float | None = None,
    metric: str | None = None,
    reviewer: str = "u_admin",
    settings: Settings | None = None,
    tags: dict[str, str] | None = None,
) -> ReviewDecision:
    """Review model ``name``'s challenger against its champion on ``evaluate``; promote it or not.

    Thresholds default to ``mlflow.review`` in ``workbench/conf/workbench.yaml``
    (margin 0.02, segment_tolerance 0.05, min_segment_share 0.05). ``tags`` go on
    the MLflow review run (e.g. the pipeline run that asked for it). Raises
    :class:`ChallengerMissing` when there is nothing to review.
    """
    import mlflow

    settings = settings or load_settings()
    limits = thresholds(settings, margin=margin, segment_tolerance=segment_tolerance, min_segment_share=min_segment_share)
    _check_reviewer(reviewer, settings)
    client = connect(settings)
    try:
        challenger = version_by_alias(name, CHALLENGER, settings=settings)
    except ModelAliasMissing as err:
        raise ChallengerMissing(f"nothing to review for {name!r}: {err}; train a new version first "
                                f"(it is registered as the {CHALLENGER})") from None
    try:
        champion = version_by_alias(name, CHAMPION, settings=settings)
    except ModelAliasMissing:
        champion = None
    if champion is not None and champion.version == challenger.version:
        raise ChallengerMissing(f"version {challenger.version} of {name!r} is already the {CHAMPION}; train a new challenger")

    champion_eval = evaluate(mlflow.pyfunc.load_model(f"models:/{name}/{champion.version}")) if champion else None
    challenger_eval = evaluate(mlflow.pyfunc.load_model(f"models:/{name}/{challenger.version}"))
    promoted, reasons, evidence, metric = compare(champion_eval, challenger_eval, metric=metric, **limits)
    decision = ReviewDecision(
        name=name, promoted=promoted, reasons=reasons, evidence=evidence, metric=metric, thresholds=limits,
        challenger_version=int(challenger.version), champion_version=int(champion.version) if champion else None,
    )

    run_name = f"{name} v{challenger.version} vs " + (f"v{champion.version}" if champion else "no champion")
    with mlflow.start_run(experiment_id=experiment_id(client, EXPERIMENT), run_name=run_name,
                          tags={**(tags or {}), "model_name": name, "reviewer": reviewer}) as run:
        decision.run_id = run.info.run_id
        mlflow.log_params({"model_name": name, "challenger_version": challenger.version,
                           "champion_version": champion.version if champion else "none",
                           "metric": metric, "reviewer": reviewer, **limits})
        overall = evidence[(evidence.segment_kind == OVERALL) & (evidence.metric == metric)].iloc[0]
        values = {"challenger_overall": overall.challenger, "champion_overall": overall.champion,
                  "overall_change": overall.change,
                  "segments_failing": float((evidence.verdict == "worse beyond tolerance").sum())}
        mlflow.log_metrics({k: float(v) for k, v in values.items() if math.isfinite(float(v))})
        mlflow.log_text(evidence.to_csv(index=False), "evidence.csv")
        mlflow.log_text(challenger_eval.to_csv(index=False), "evaluation/challenger.csv")
        if champion_eval is not None:
            mlflow.log_text(champion_eval.to_csv(index=False), "evaluation/champion.csv")
        mlflow.log_dict({"decision": decision.decision, "reasons": reasons, "thresholds": limits, "metric": metric,
                         "challenger_version": decision.challenger_version,
                         "champion_version": decision.champion_version}, "decision.json")
        if promoted:
            _promote(client, name, challenger.version, champion.version if champion else None)
        mlflow.set_tag("decision", decision.decision)

    tags = {"review.decision": decision.decision, "review.run_id": decision.run_id, "review.reviewer": reviewer,
            "review.champion_version": str(decision.champion_version or "none"),
            "review.reasons": " | ".join(reasons)[:5000]}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(challenger.version), key, value)
    return decision


def _promote(client, name: str, challenger: str, champion: str | None) -> None:
    """Move the aliases; refuse if another review moved ``champion`` while this one evaluated."""
    from mlflow.exceptions import MlflowException

    try:
        current = client.get_model_version_by_alias(name, CHAMPION).version
    except MlflowException:
        current = None
    if current != champion:
        raise RuntimeError(f"the {CHAMPION} of {name!r} changed during the review (now version {current}); review again")
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, champion)
    client.set_registered_model_alias(name, CHAMPION, challenger)
    try:
        still = client.get_model_version_by_alias(name, CHALLENGER).version
    except MlflowException:
        still = None
    if still == challenger:  # a newer challenger registered meanwhile keeps its alias
        client.delete_registered_model_alias(name, CHALLENGER)
