"""Model review app (模型评审): champion against challenger for each registered model; the reviewer promotes.

The page reads the model registry (MLflow), not the warehouse: the governed
session it is given says who is looking (user and role) and which settings
apply (the access file, the MLflow store). Everything shown comes from
:mod:`workbench.tracking.model_review`, which also enforces who may promote;
this module is layout only. Only the ``model_reviewer`` role sees the reason
field and the Promote button; everyone else sees :data:`VIEW_ONLY`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import panel as pn

from workbench.tracking import model_review as mr
from workbench.tracking.registry import ModelVersionInfo
from workbench.tracking.server import ServerNotRunning

VIEW_ONLY = "View only: promotion needs the model reviewer role."
NO_MODELS = ("No registered models yet: a model appears here once a training run registers it "
             "(for the demand forecast: `wb forecast train`).")
BETTER, WORSE = "#e5f5e0", "#fee0d2"  # cell backgrounds for the challenger's better / worse values
REFUSING = ("worse beyond tolerance", "not better enough", "no challenger value")  # gate verdicts that said no


def view(session: Any) -> pn.viewable.Viewable:
    """The page for the logged-in user's governed ``session`` (the page contract of :mod:`workbench.apps`)."""
    return ModelReviewPage(session).layout


def _alert(text: str, kind: str = "warning") -> pn.pane.Alert:
    return pn.pane.Alert(text, alert_type=kind, sizing_mode="stretch_width")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _pct(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value * 100:+.1f} %"


def _share(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value * 100:.1f} %"


def _number(value: float) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.4g}"


class ModelReviewPage:
    """The widgets and their callbacks; :attr:`layout` is what :func:`view` returns."""

    def __init__(self, session: Any):
        self.session = session
        self.settings = session.settings
        self.user = session.user.name
        self.can_promote = mr.may_promote(self.user, self.settings)
        self.layout = pn.Column(sizing_mode="stretch_width")  # the frame (page.py) shows the title
        self.challenger_version: int | None = None
        try:
            names = mr.registered_models(self.settings)
        except ServerNotRunning as err:
            self.layout.append(_alert(f"The model registry (MLflow) is not running, so there is nothing to show. "
                                      f"{_first_line(err)}"))
            return
        except Exception as err:  # never a stack trace in the browser
            self.layout.append(_alert(f"The model registry could not be read: {_first_line(err)}", "danger"))
            return
        if not names:
            self.layout.append(_alert(NO_MODELS, "info"))
            return
        self.selector = pn.widgets.Select(label="Model", options=names, value=names[0], width=320)
        self.body = pn.Column(sizing_mode="stretch_width")
        self.message = pn.Column(sizing_mode="stretch_width")  # the outcome of the last promotion
        self.reason = pn.widgets.TextAreaInput(label="Reason for promoting (kept with the decision)", height=80,
                                               placeholder="why the challenger should replace the champion",
                                               sizing_mode="stretch_width")
        self.promote_button = pn.widgets.Button(label="Promote the challenger", color="primary", width=320)
        self.promote_button.on_click(self.on_promote)
        self.selector.param.watch(lambda _: self.refresh(clear_message=True), "value")
        actions = (pn.Column(self.reason, self.promote_button, sizing_mode="stretch_width") if self.can_promote
                   else _alert(VIEW_ONLY, "secondary"))
        self.layout.extend([self.selector, self.body, pn.pane.Markdown("### Promotion"), actions, self.message])
        self.refresh()

    # --- reading ---------------------------------------------------------------------------------------------

    def refresh(self, clear_message: bool = False) -> None:
        """Rebuild the body for the selected model; a failure becomes a message, not a trace."""
        if clear_message:
            self.message.objects = []
        name = self.selector.value
        try:
            self.body.objects = self._sections(name)
        except (ServerNotRunning, mr.UnknownModel) as err:
            self._unavailable(_first_line(err))
        except Exception as err:  # a broken run or artifact must not take the page down
            self._unavailable(f"Model {name!r} could not be read from MLflow: {_first_line(err)}")

    def _unavailable(self, text: str) -> None:
        self.challenger_version = None
        self.body.objects = [_alert(text)]
        self._enable_promotion(None, "")

    def _sections(self, name: str) -> list[Any]:
        pair = mr.champion_and_challenger(name, self.settings)
        table = mr.metrics_table(name, pair, self.settings)
        review = mr.latest_review(name, self.settings)
        self.challenger_version = pair.challenger.version if pair.challenger else None
        self._enable_promotion(pair, self._promotion_note(name, pair) if self.can_promote else "")
        return [
            pn.Row(self._card("Champion", pair.champion, name, table, "champion"),
                   self._card("Challenger", pair.challenger, name, table, "challenger"), sizing_mode="stretch_width"),
            pn.pane.Markdown("### Metrics by level and segment (training runs' backtests; lower is better "
                             "unless noted)"),
            self._metrics(table),
            pn.pane.Markdown("### Backtest plots"),
            self._figures(pair),
            pn.pane.Markdown("### Last review decision"),
            *self._review(review),
        ]

    def _card(self, title: str, info: ModelVersionInfo | None, name: str, table: pd.DataFrame, column: str) -> pn.Card:
        if info is None:
            text = f"No {title.lower()} yet."
        else:
            window = info.data_window
            text = "\n".join([
                f"**Version {info.version}** ({', '.join(info.aliases)})",
                f"- trained: {info.created:%Y-%m-%d %H:%M} UTC",
                f"- data window: {window.get('start', '?')} .. {window.get('end', '?')}"
                + (f" (as of {window['as_of']})" if window.get("as_of") else ""),
                self._key_line(name, table, column),
            ])
        heading = f"{title} v{info.version}" if info else title
        return pn.Card(pn.pane.Markdown(text), title=heading, collapsible=False, sizing_mode="stretch_width")

    @staticmethod
    def _key_line(name: str, table: pd.DataFrame, column: str) -> str:
        row = mr.key_metric(name, table)
        if row is None:
            return "- no metrics logged"
        label = row.metric + (f" at {row.level}" if row.level else "")
        value = _number(row[column])
        line = f"- {label}: **{value}**" if value else f"- {label}: not logged by this version"
        if column == "challenger" and math.isfinite(row.change):
            line += f" ({_pct(row.change)} against the champion, {row.outcome})"
        return line

    @staticmethod
    def _metrics(table: pd.DataFrame) -> pn.viewable.Viewable:
        if table.empty:
            return _alert("Neither version's training run logged metrics.", "info")

        def colour(row: pd.Series) -> list[str]:
            background = {"better": BETTER, "worse": WORSE}.get(row["outcome"])
            paint = f"background-color: {background}" if background else ""
            return [paint if c in ("challenger", "change", "outcome") else "" for c in row.index]

        styler = (table.style.apply(colour, axis=1)
                  .format({"weight": _share, "champion": _number, "challenger": _number, "change": _pct})
                  .hide(axis="index"))
        return pn.pane.DataFrame(styler, sizing_mode="stretch_width", max_height=500)

    def _figures(self, pair: mr.Pair) -> pn.viewable.Viewable:
        columns = []
        for title, info in (("Champion", pair.champion), ("Challenger", pair.challenger)):
            if info is None:
                continue
            shown = mr.figures(info.run_id, self.settings)
            panes = [pn.pane.PNG(f.png, width=520, alt_text=f"{title} v{info.version}: {f.name}") for f in shown]
            columns.append(pn.Column(pn.pane.Markdown(f"**{title} v{info.version}**"),
                                     *(panes or [pn.pane.Markdown("no figures logged")])))
        return pn.Row(*columns) if columns else _alert("No version has figures.", "info")

    @staticmethod
    def _review(review: mr.ReviewRecord | None) -> list[Any]:
        if review is None:
            return [_alert("Not reviewed yet: the gate runs with `wb models review NAME` (and in the weekly "
                           "pipeline).", "info")]
        against = f"v{review.champion_version}" if review.champion_version else "no champion"
        who = "the gate" if review.kind == mr.GATE else "a model reviewer"
        head = (f"**{'Promoted' if review.promoted else 'Rejected'}**: challenger v{review.challenger_version} "
                f"against {against}, decided by {who} (signed {review.reviewer}) on {review.time:%Y-%m-%d %H:%M} UTC")
        parts: list[Any] = [pn.pane.Markdown("\n".join([head, "", *(f"- {r}" for r in review.reasons)]))]
        if len(review.evidence):
            parts.append(pn.pane.DataFrame(_evidence_style(review.evidence), sizing_mode="stretch_width",
                                           max_height=400))
        return parts

    # --- promoting -------------------------------------------------------------------------------------------

    def _promotion_note(self, name: str, pair: mr.Pair) -> str:
        """Why promotion is not possible now, or "" when it is."""
        if pair.challenger is None:
            return "No challenger is waiting for review."
        champion = pair.champion.version if pair.champion else None
        gate = mr.gate_review_of(name, pair.challenger.version, champion, self.settings)
        if gate is None:
            return (f"The gate has not compared v{pair.challenger.version} with the champion yet: "
                    f"run `wb models review {name}` first.")
        return ""

    def _enable_promotion(self, pair: mr.Pair | None, note: str) -> None:
        if not self.can_promote:
            return
        version = pair.challenger.version if pair and pair.challenger else None
        self.promote_button.label = f"Promote challenger v{version} to champion" if version else "Promote the challenger"
        self.promote_button.disabled = version is None or bool(note)
        if note:
            self.message.objects = [_alert(note, "info")]

    def on_promote(self, _event: Any = None) -> None:
        """The Promote button: the library checks the role and the rules; the page shows what happened."""
        name, version = self.selector.value, self.challenger_version
        if version is None:
            self.message.objects = [_alert("There is no challenger to promote.", "warning")]
            return
        self.promote_button.disabled = True
        try:
            record = mr.promote(name, version, self.user, self.reason.value, settings=self.settings)
        except (PermissionError, mr.PromotionRefused, LookupError) as err:
            self.message.objects = [_alert(str(err), "danger")]
            self.promote_button.disabled = False
            return
        except Exception as err:  # the server went away, the champion moved meanwhile ...
            self.message.objects = [_alert(f"The promotion failed: {_first_line(err)}", "danger")]
            self.refresh()
            return
        self.reason.value = ""
        self.refresh()
        self.message.objects = [_alert(f"Version {version} of {name} is now the champion (recorded as review run "
                                       f"{record.run_id}).", "success")]


def _evidence_style(evidence: pd.DataFrame):
    """The gate's evidence with the segments that refused in red."""
    def colour(row: pd.Series) -> list[str]:
        paint = f"background-color: {WORSE}" if row.get("verdict") in REFUSING else ""
        return [paint] * len(row)

    formats = {c: f for c, f in (("weight", _share), ("champion", _number), ("challenger", _number),
                                 ("change", _pct)) if c in evidence}
    return evidence.style.apply(colour, axis=1).format(formats).hide(axis="index")
