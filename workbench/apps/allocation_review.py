"""Allocation review page (调拨审批): the proposed moves, their reasons and impact; approve, reject or edit.

``view(session)`` shows the user's scope of a day's plan (the latest by default): transfers (调拨) and DC
replenishment (补货) in two tabs, each move with its reason, expected extra units, margin, freight and the
decision in force, and cards summing the plan (moves, units, freight, expected margin; approved, rejected,
pending). A user whose role may decide ticks moves and presses *Approve* or *Reject*; changing a move's
``approve qty`` before approving edits it. Every rule lives in :mod:`workbench.allocation.approvals`; this
page only collects the clicks and shows what it said.

Writes need a session that may write, so the page does not write through the read-only ``session`` it
is given: it calls ``decide_session_factory()`` per click, writes, and closes what it opened. The default
opens the same user on the same warehouse (``entry_point="app"``); ``page.py`` passes one that writes to
the live warehouse while the page reads the published snapshot. The snapshot shows a decision only after
the next publish, so the page lays the decisions it wrote itself over what it reads (the latest wins).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from workbench.allocation import approvals, output

__all__ = ["view", "AllocationReview", "TABS"]

TABS = {"marts.transfer_plan": "Transfers (调拨)", "marts.replenishment_plan": "DC replenishment (补货)"}
# Quantities as whole numbers (3, not 3.0); a mistyped 2.5 still shows as typed, then is refused.
QUANTITIES = {"units": NumberFormatter(format="0[.]0"), "approve_qty": NumberFormatter(format="0[.]0")}
SHOWN = {"from": "from", "to": "to", "sku": "SKU", "units": "proposed", "approve_qty": "approve qty",
         "status": "decision", "reason": "reason", "expected_units_gained": "extra units", "expected_margin": "margin ¥",
         "freight": "freight ¥", "net_benefit": "net ¥", "decided_by": "decided by", "comment": "comment"}
HIDDEN = ["as_of", "from_store_id", "to_store_id", "sku_id", "run_id"]
CARDS = (("moves", "Moves", "{value:,.0f}"), ("units", "Units", "{value:,.0f}"), ("freight", "Freight ¥", "{value:,.0f}"),
         ("expected_margin", "Expected margin ¥", "{value:,.0f}"), ("approved", "Approved", "{value:,.0f}"),
         ("rejected", "Rejected", "{value:,.0f}"), ("pending", "Pending", "{value:,.0f}"))


def _default_factory(session) -> Callable:
    import workbench as wb

    return lambda: wb.session(session.user.name, settings=session.settings, read_only=False, entry_point="app")


class AllocationReview:
    """The page's state and handlers (``on_approve``, ``on_reject``, ``load``), testable without a browser."""

    def __init__(self, session, decide_session_factory: Callable | None = None):
        self.session = session
        self.factory = decide_session_factory or _default_factory(session)
        self.may_decide = {t: session.config.can_write(session.role, approvals.decisions_table(t)) for t in TABS}
        self.dates = self._plan_dates()
        self.as_of = pn.widgets.DatePicker(label="Plan made after the close of", enabled_dates=self.dates or None,
                                           value=max(self.dates) if self.dates else None, width=220)
        self.comment = pn.widgets.TextInput(label="Comment (required to reject or change a quantity)",
                                            max_length=approvals.MAX_COMMENT, sizing_mode="stretch_width")
        self.approve = pn.widgets.Button(label="Approve selected", color="success", width=160)
        self.reject = pn.widgets.Button(label="Reject selected", color="danger", width=160)
        self.message = pn.Column(sizing_mode="stretch_width")
        self.tables = {t: pn.widgets.Tabulator(pd.DataFrame(), selectable="checkbox", pagination="remote", page_size=25,
                                               hidden_columns=HIDDEN, titles=SHOWN, show_index=False,
                                               sizing_mode="stretch_width", editors=self._editors(t),
                                               formatters=QUANTITIES) for t in TABS}
        self.cards = {t: pn.FlexBox() for t in TABS}
        self.reviewed: dict[str, pd.DataFrame] = {}
        self.written: dict[str, list[pd.DataFrame]] = {t: [] for t in TABS}  # this page's own decisions
        self.tabs = pn.Tabs(*[(label, pn.Column(self.cards[t], self.tables[t])) for t, label in TABS.items()],
                            dynamic=False)
        self.as_of.param.watch(lambda e: self.load(), "value")
        self.tabs.param.watch(lambda e: self._buttons(), "active")
        self.approve.on_click(self.on_approve)
        self.reject.on_click(self.on_reject)
        self.load()

    # --- reading ---------------------------------------------------------------------

    def _plan_dates(self) -> list[dt.date]:
        dates: set[dt.date] = set()
        for table in TABS:
            if self.session.table_exists(table):
                t = self.session.table(table)
                dates |= {pd.Timestamp(d).date() for d in t.select("as_of").distinct().to_pandas()["as_of"]}
        return sorted(dates)

    def _editors(self, table: str) -> dict:
        # only the quantity is editable, and only for users who may decide this plan
        editors = {c: None for c in SHOWN}
        if self.may_decide[table]:
            editors["approve_qty"] = {"type": "number", "min": 1, "step": 1}
        return editors

    def _labels(self, reviewed: pd.DataFrame, table: str) -> pd.DataFrame:
        """Store and SKU codes for the ids (the DC is outside a region manager's scope: shown as DC)."""
        stores = self.session.table("core.stores")
        ids = sorted(set(reviewed["from_store_id"]) | set(reviewed["to_store_id"]))
        code = stores.filter(stores.store_id.isin(ids)).select("store_id", "store_code").to_pandas()
        code = dict(zip(code["store_id"], code["store_code"]))
        products = self.session.table("core.products")
        skus = products.filter(products.sku_id.isin(sorted(set(reviewed["sku_id"])))).select("sku_id", "sku_code").to_pandas()
        sku = dict(zip(skus["sku_id"], skus["sku_code"]))
        dc = table == "marts.replenishment_plan"
        shown = reviewed.assign(**{
            "from": reviewed["from_store_id"].map(lambda i: code.get(i, "DC" if dc else f"#{i}")),
            "to": reviewed["to_store_id"].map(lambda i: code.get(i, f"#{i}")),
            "sku": reviewed["sku_id"].map(lambda i: sku.get(i, f"#{i}")),
            # what Approve ships: the decided quantity, else the proposal
            "approve_qty": reviewed["approved_units"].where(reviewed["status"].isin(approvals.SHIPPING),
                                                            reviewed["units"]).astype(float),  # an edit may be 2.5: refused, not crashed
        })
        for c in ("expected_units_gained", "expected_margin", "freight", "net_benefit"):
            shown[c] = shown[c].round(2)
        shown[["decided_by", "comment"]] = shown[["decided_by", "comment"]].fillna("")
        return shown[list(SHOWN) + HIDDEN].reset_index(drop=True)

    def load(self) -> None:
        """Read the chosen day's plans and decisions (the user's rows) into the tables and cards."""
        self.message.clear()
        day = self.as_of.value
        if not self.dates:
            return self._say("info", "No allocation plan yet: the daily pipeline writes one (notebooks/allocation.ipynb).")
        if day is None or day not in self.dates:
            known = ", ".join(str(d) for d in self.dates[-5:])
            return self._say("warning", f"No plan for {day}. Pick a day with a plan (the latest: {known}).")
        try:
            for table in TABS:
                plan = output.read_plan(self.session, table, day)
                self.reviewed[table] = approvals.review(plan, self._decisions_of(table, day))
                self.tables[table].value = self._labels(self.reviewed[table], table)
                self.tables[table].selection = []
                self.cards[table].objects = self._cards(self.reviewed[table])
        except Exception as err:  # a page shows what went wrong, never a stack trace
            return self._say("danger", f"Could not read the plan of {day}: {type(err).__name__}: {err}")
        self._buttons()

    def _decisions_of(self, table: str, day: dt.date) -> pd.DataFrame:
        """The decisions read, with the ones this page wrote since (the snapshot may not hold them yet)."""
        read = approvals.read_decisions(self.session, table, day)
        own = [w[pd.to_datetime(w["as_of"]).dt.date == day] for w in self.written[table]]
        return pd.concat([read, *own], ignore_index=True) if any(len(w) for w in own) else read

    def _cards(self, reviewed: pd.DataFrame) -> list:
        totals = approvals.summary(reviewed).set_index("status")
        values = {"moves": totals.loc["total", "moves"], "units": totals.loc["total", "units"],
                  "freight": totals.loc["total", "freight"], "expected_margin": totals.loc["total", "expected_margin"],
                  "approved": totals.loc["approved", "moves"] + totals.loc["edited", "moves"],
                  "rejected": totals.loc["rejected", "moves"], "pending": totals.loc["pending", "moves"]}
        return [pn.indicators.Number(label=label, value=float(values[key]), format=fmt, font_size="20pt",
                                     title_size="10pt") for key, label, fmt in CARDS]

    # --- deciding ----------------------------------------------------------------------

    @property
    def active_table(self) -> str:
        return list(TABS)[self.tabs.active]

    def _buttons(self) -> None:
        allowed = self.may_decide[self.active_table]
        self.approve.disabled = self.reject.disabled = not allowed

    def on_approve(self, event=None) -> None:
        """Approve the ticked moves at their ``approve qty`` (another quantity than proposed: an edit)."""
        self._decide("approved")

    def on_reject(self, event=None) -> None:
        """Reject the ticked moves (a comment is required)."""
        self._decide("rejected")

    def _decisions(self, table: str, verdict: str) -> list[approvals.Decision]:
        widget = self.tables[table]
        rows = widget.value.iloc[list(widget.selection)]
        out = []
        for row in rows.itertuples(index=False):
            qty = row.approve_qty
            edited = verdict == "approved" and not (pd.notna(qty) and qty == row.units)
            out.append(approvals.Decision(
                table, row.as_of, int(row.from_store_id), int(row.to_store_id), int(row.sku_id),
                "edited" if edited else verdict, units=qty if edited else None, comment=self.comment.value or "",
                plan_run_id=row.run_id))
        return out

    def _decide(self, verdict: str) -> None:
        table = self.active_table
        self.message.clear()
        if not self.may_decide[table]:
            return self._say("warning", f"Your role ({self.session.role.name}) sees these moves but does not decide "
                                        "them: head office, the region managers and the DC (its replenishment) do.")
        if not self.tables[table].selection:
            return self._say("warning", "Select one or more moves first (tick their boxes).")
        try:
            with self.factory() as writer:
                written = approvals.decide(writer, self._decisions(table, verdict))
        except approvals.DecisionRefused as err:
            return self._say("danger", "Nothing was saved:\n" + "\n".join(f"- {p}" for p in err.problems))
        except Exception as err:  # refused by the door, or the warehouse is busy: say so, keep the page
            return self._say("danger", f"Nothing was saved: {type(err).__name__}: {err}")
        self.written[table].append(written.drop(columns="plan_table"))
        counts = written["decision"].value_counts()
        done = ", ".join(f"{n} {d}" for d, n in counts.items())
        self.comment.value = ""
        self.load()
        self._say("success", f"Saved: {done} ({approvals.decisions_table(table)}, audited).")

    def _say(self, kind: str, text: str) -> None:
        self.message.objects = [pn.pane.Alert(text, alert_type=kind, sizing_mode="stretch_width")]

    # --- layout ----------------------------------------------------------------------

    def panel(self) -> pn.viewable.Viewable:
        intro = ("Tick moves and approve or reject them; change **approve qty** to approve another quantity "
                 "(whole units, at most what the donor can spare above its minimum display; a comment is required).")
        if not any(self.may_decide.values()):
            intro = "You see the moves into and out of your stores; head office, the region managers and the DC decide them."
        return pn.Column(
            pn.pane.Markdown(intro),  # the frame (page.py) shows the title
            pn.Row(self.as_of, self.comment),
            pn.Row(self.approve, self.reject),
            self.message,
            self.tabs,
            sizing_mode="stretch_width",
        )


def view(session, decide_session_factory: Callable | None = None) -> pn.viewable.Viewable:
    """The allocation review page for ``session``'s user (a read-only governed session, ``entry_point="app"``).

    ``decide_session_factory()`` opens a session of the same user that may write (closed after each
    decision); by default ``workbench.session(user, settings=session.settings, read_only=False, entry_point="app")``.
    """
    return AllocationReview(session, decide_session_factory).panel()
