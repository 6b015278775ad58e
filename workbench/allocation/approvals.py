"""Allocation review (调拨审批): approve, reject or edit the proposed moves, audited, and feed the next plan.

The nightly run rebuilds the plans (``marts.transfer_plan``, ``marts.replenishment_plan``), so the
decisions on them cannot be a column of the plan: a re-run would wipe them. They are append-only logs in
``raw`` instead, one per plan (raw data is never edited): ``raw.transfer_plan_decisions`` and
``raw.replenishment_plan_decisions`` (contracts in ``workbench/warehouse/schema.py``). A change of mind or
a new quantity is a new row; **the latest row per move** (``as_of, from_store_id, to_store_id, sku_id``)
wins. Every decision goes through the user's governed session, so it is granted, scoped and audited.

**Who decides** is the write grant on each log (``workbench/conf/access.yaml``): ``hq_manager`` every
move; ``region_manager`` the moves touching their region (the door refuses a row none of whose stores is
in the user's scope); ``warehouse`` the DC replenishments only. Store managers (店长) see the moves into and
out of their stores and the decisions, but decide nothing: a receiver approving its own receipts would
approve them all.

**The rules** (:func:`check`, :func:`decide`):

- the move must be in the plan of that as-of date as the user sees it (a move out of the user's scope is
  refused as such); when the caller says which run of the plan it showed (``plan_run_id``), a plan re-made
  since is refused too: reload and decide again;
- ``approved`` ships the proposed units; ``rejected`` ships none and needs a comment;
- ``edited`` ships another quantity and needs a comment: a whole number, at least 1 (to ship none, reject),
  and at most the **donor's spare**: its stock after the close of the plan's as-of date, less the minimum
  display it keeps (``allocation.min_display`` by grade; the DC keeps none), less what its other moves of
  the SKU in that plan ship (as proposed, or as decided). Where the user cannot see the donor's stock (a
  region manager and the DC, or a donor outside the region) an edit may only cut the move;
- a batch is all or nothing: one refused decision refuses the batch, with every problem listed.

**Feeding the next plan** (:func:`planner_feedback`, read by ``daily.make_plan``): decisions on the plans
of *earlier* days count (a re-run of the same day plans the same moves, DESIGN invariant 5):

- a route × SKU rejected within ``allocation.rejection_cooldown_days`` is not proposed again;
- an approved (or edited) move within ``allocation.commitment_days`` of its plan that ``core.transfers``
  does not show shipped yet is committed: its units leave the donor's stock and arrive at the receiver's
  (:func:`apply_commitments`), so the plan does not propose them twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Iterable

import ibis
import pandas as pd
import pyarrow as pa

from workbench.allocation import output
from workbench.governance import writes
from workbench.warehouse.schema import LOGS

__all__ = ["PLAN_TABLES", "DECISIONS", "Decision", "DecisionRefused", "Feedback", "decisions_table", "check",
           "read_decisions", "latest", "review", "summary", "approved_plan", "donor_stock", "decide",
           "blocked_moves", "committed_moves", "apply_commitments", "without_blocked", "planner_feedback"]

PLAN_TABLES = output.PLAN_TABLES
DECISIONS = ("approved", "rejected", "edited")
SHIPPING = ("approved", "edited")  # decisions that ship units
STATUSES = ("approved", "edited", "rejected", "pending")  # a move's status in review; pending: no decision yet
MOVE_KEY = ["as_of", "from_store_id", "to_store_id", "sku_id"]
ROUTE_SKU = ["origin", "dest", "sku_id"]
MAX_COMMENT = 1000


class DecisionRefused(ValueError):
    """A decision the rules refuse; ``problems`` lists each, and nothing was written."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Decision:
    """One decision on one move of a plan (a row of ``plan_table`` on ``as_of``)."""

    plan_table: str  # marts.transfer_plan | marts.replenishment_plan
    as_of: dt.date
    from_store_id: int
    to_store_id: int
    sku_id: int
    decision: str  # approved | rejected | edited
    units: int | None = None  # edited: the quantity to ship; approved: the proposal; rejected: none
    comment: str = ""
    plan_run_id: str | None = None  # the plan run the user saw: a plan re-made since is refused

    def describe(self) -> str:
        return f"move {self.from_store_id}→{self.to_store_id} of SKU {self.sku_id} ({self.plan_table}, {self.as_of})"

    @property
    def key(self) -> tuple:
        return (pd.Timestamp(self.as_of).date(), int(self.from_store_id), int(self.to_store_id), int(self.sku_id))


def decisions_table(plan_table: str) -> str:
    """The log of decisions on ``plan_table``: ``marts.transfer_plan`` → ``raw.transfer_plan_decisions``."""
    if plan_table not in PLAN_TABLES:
        raise ValueError(f"unknown plan {plan_table!r}: decisions are taken on {', '.join(PLAN_TABLES)}")
    return f"raw.{plan_table.split('.', 1)[1]}_decisions"


def _empty_log() -> pd.DataFrame:
    return LOGS[decisions_table(PLAN_TABLES[0])].ibis_schema().to_pyarrow().empty_table().to_pandas()


# --- the rules (pure) -------------------------------------------------------------


def _whole(units) -> int | None:
    """``units`` as an int when it is a whole number (3, 3.0), else None."""
    if isinstance(units, bool) or units is None:
        return None
    if isinstance(units, Integral):
        return int(units)
    if isinstance(units, Real) and float(units).is_integer():
        return int(units)
    return None


def check(decision: Decision, proposed: int, spare: int | None) -> list[str]:
    """What is wrong with ``decision`` on a move the plan proposes ``proposed`` units of (empty: nothing).

    ``spare``: the most units the move may carry without taking the donor under its minimum display,
    or None when the user cannot see the donor's stock (then an edit may only cut the move).
    """
    where = decision.describe()
    if decision.decision not in DECISIONS:
        return [f"{where}: unknown decision {decision.decision!r}; choose {', '.join(DECISIONS)}"]
    problems = []
    comment = (decision.comment or "").strip()
    if decision.decision != "approved" and not comment:
        verb = "reject" if decision.decision == "rejected" else "change the quantity of"
        problems.append(f"{where}: a comment is required to {verb} a move")
    if len(comment) > MAX_COMMENT:
        problems.append(f"{where}: the comment is {len(comment)} characters; keep it under {MAX_COMMENT}")
    units = _whole(decision.units)
    if decision.decision == "approved" and decision.units is not None and units != proposed:
        problems.append(f"{where}: approving ships the proposed {proposed} units; to ship another quantity, "
                        "edit the move (with a comment)")
    elif decision.decision == "rejected" and decision.units not in (None, 0):
        problems.append(f"{where}: a rejection ships nothing; leave the quantity out")
    elif decision.decision == "edited":
        limit = proposed if spare is None else spare
        if units is None or units < 1:
            problems.append(f"{where}: the quantity must be a whole number of 1 or more (got {decision.units!r}); "
                            "to ship nothing, reject the move")
        elif units > limit:
            why = (f"the donor can spare {spare} without going under its minimum display" if spare is not None
                   else f"you cannot see the donor's stock, so the move can only be cut (proposed {proposed})")
            problems.append(f"{where}: {units} units is more than allowed: {why}")
    return problems


# --- reading decisions and reviewing a plan (pure after the read) ----------------------


def read_decisions(session, plan_table: str, as_of: dt.date | None = None, *,
                   since: dt.date | None = None, before: dt.date | None = None) -> pd.DataFrame:
    """The decision rows on ``plan_table`` the user may see (of ``as_of``, or plans in [since, before))."""
    log = decisions_table(plan_table)
    if not session.table_exists(log):
        return _empty_log()
    t = session.table(log)
    if as_of is not None:
        t = t.filter(t.as_of == pd.Timestamp(as_of).date())
    if since is not None:
        t = t.filter(t.as_of >= since)
    if before is not None:
        t = t.filter(t.as_of < before)
    return t.to_pandas()


def latest(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decision in force per move: the latest row (by ``decided_at``) of each move key."""
    if decisions.empty:
        return decisions
    ordered = _keyed(decisions).sort_values(["decided_at", "run_id"] if "run_id" in decisions else ["decided_at"], kind="stable")
    return ordered.drop_duplicates(MOVE_KEY, keep="last").reset_index(drop=True)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    for c in MOVE_KEY[1:]:
        frame[c] = frame[c].astype("int64")
    return frame


def review(plan: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The plan's rows with the decision in force on each: ``status`` (approved | edited | rejected |
    pending), ``approved_units`` (0 while pending or rejected), ``comment``, ``decided_by``, ``decided_at``."""
    cols = ["decision", "approved_units", "comment", "decided_by", "decided_at"]
    now = latest(decisions)
    base = _keyed(plan)
    if now.empty:
        out = base.assign(**{c: None for c in cols})
    else:
        out = base.merge(_keyed(now)[MOVE_KEY + cols], on=MOVE_KEY, how="left")
    out["status"] = out["decision"].fillna("pending")
    out["approved_units"] = pd.to_numeric(out["approved_units"]).fillna(0).astype(int)
    return out.drop(columns="decision")


def summary(reviewed: pd.DataFrame) -> pd.DataFrame:
    """Per status (approved, edited, rejected, pending, then ``total``): moves, proposed units, approved
    units, and the proposal's freight and expected margin."""
    rows = []
    for status in (*STATUSES, "total"):
        part = reviewed if status == "total" else reviewed[reviewed["status"] == status]
        rows.append({"status": status, "moves": len(part), "units": int(part["units"].sum()),
                     "approved_units": int(part["approved_units"].sum()),
                     "freight": float(part["freight"].sum()), "expected_margin": float(part["expected_margin"].sum())})
    return pd.DataFrame(rows)


def approved_plan(reviewed: pd.DataFrame) -> pd.DataFrame:
    """What ships: the approved and edited moves at their approved units.

    An edited move's expected units, margin and freight are the plan's, pro rata to the units: an
    estimate (expected sales are concave in stock, so a cut keeps a little more than its share).
    """
    moves = reviewed[reviewed["status"].isin(SHIPPING)].copy()
    share = moves["approved_units"] / moves["units"].where(moves["units"] > 0)
    for c in output.EXPLANATION:
        moves[c] = moves[c] * share
    moves["units"] = moves["approved_units"]
    moves["status"] = "approved"
    return moves.reset_index(drop=True)


# --- the donor's spare -------------------------------------------------------------------


def donor_stock(session, as_of: dt.date, pairs: pd.DataFrame, *, with_sales: bool = True) -> pd.DataFrame:
    """``pairs`` (``location_id, sku_id``) with ``stock``: on hand and on its way after the close of
    ``as_of``, as the planner counts it (``inputs.stock_position``), for these positions only.

    ``with_sales=False`` leaves sales out (for users who may not read ``core.sales``; right for the DC,
    which sells nothing).
    """
    pairs = pairs[["location_id", "sku_id"]].drop_duplicates().astype("int64")
    if pairs.empty:
        return pairs.assign(stock=pd.Series(dtype="int64"))
    locs, skus = sorted(pairs["location_id"].unique().tolist()), sorted(pairs["sku_id"].unique().tolist())
    inv = session.table("core.inventory")
    snap = inv.filter(inv.snapshot_date <= as_of).snapshot_date.max().to_pandas()
    if snap is None or pd.isna(snap):
        return pairs.assign(stock=0)
    snap = pd.Timestamp(snap).date()
    zero = ibis.literal(0, "int64")

    def rows(t, location, delta, transit=zero):
        return t.select(location_id=location.cast("int64"), sku_id=t.sku_id.cast("int64"),
                        on_hand=delta.cast("int64"), in_transit=transit.cast("int64"))

    base = inv.filter(inv.snapshot_date == snap, inv.quality == "A", inv.store_id.isin(locs), inv.sku_id.isin(skus))
    parts = [rows(base, base.store_id, base.on_hand)]
    if with_sales:
        s = session.table("core.sales")
        s = s.filter(s.sale_date > snap, s.sale_date <= as_of, s.store_id.isin(locs), s.sku_id.isin(skus))
        parts.append(rows(s, s.store_id, -s.qty))
    t = session.table("core.transfers")
    t = t.filter(t.sku_id.isin(skus))
    out = t.filter(t.from_store_id.isin(locs), t.ship_date > snap, t.ship_date <= as_of)
    into = t.filter(t.to_store_id.isin(locs), t.receive_date > snap, t.receive_date <= as_of)
    transit = t.filter(t.to_store_id.isin(locs), t.ship_date <= as_of, t.receive_date.isnull() | (t.receive_date > as_of))
    parts += [rows(out, out.from_store_id, -out.qty), rows(into, into.to_store_id, into.qty),
              rows(transit, transit.to_store_id, zero, transit.qty)]
    flows = ibis.union(*parts, distinct=False)
    held = flows.group_by(["location_id", "sku_id"]).aggregate(
        on_hand=flows.on_hand.sum(), in_transit=flows.in_transit.sum()).to_pandas()
    held["stock"] = held["on_hand"].clip(lower=0) + held["in_transit"]
    out = pairs.merge(held[["location_id", "sku_id", "stock"]], on=["location_id", "sku_id"], how="left")
    return out.fillna({"stock": 0}).astype({"stock": "int64"})


def _visible_donors(session, donors: list[int]) -> tuple[dict[int, int], bool]:
    """The donors whose stock this user can read, with the display each keeps; whether sales are needed."""
    from workbench.allocation.planning import load_planning_settings

    can = lambda t: session.config.can_read(session.role, t)  # noqa: E731
    if not (can("core.inventory") and can("core.transfers") and can("core.stores")):
        return {}, False
    in_scope = [d for d in donors if session.scope.unrestricted or d in session.scope.store_ids]
    if not in_scope:
        return {}, False
    st = session.table("core.stores")
    stores = st.filter(st.store_id.isin(in_scope)).select("store_id", "store_type", "grade").to_pandas()
    shops = stores[stores["store_type"] != "dc"]
    if len(shops) and not can("core.sales"):  # a shop's stock cannot be rolled forward without its sales
        stores = stores[stores["store_type"] == "dc"]
    keep = load_planning_settings().keep(stores["grade"]) * (stores["store_type"] != "dc").to_numpy()
    return dict(zip(stores["store_id"].astype(int), keep.astype(int))), bool(len(shops) and can("core.sales"))


def _spares(session, as_of: dt.date, plan: pd.DataFrame, current: pd.DataFrame,
            batch: dict[tuple, Decision]) -> dict[tuple, int | None]:
    """For each edit in ``batch``: the units its donor can give it (None where the user cannot see)."""
    edits = {k: d for k, d in batch.items() if d.decision == "edited"}
    if not edits:
        return {}
    keep, with_sales = _visible_donors(session, sorted({k[1] for k in edits}))
    pairs = pd.DataFrame([(k[1], k[3]) for k in edits if k[1] in keep], columns=["location_id", "sku_id"])
    stock = donor_stock(session, as_of, pairs, with_sales=with_sales).set_index(["location_id", "sku_id"])["stock"]
    decided = latest(current).set_index(MOVE_KEY[1:])["approved_units"] if len(current) else pd.Series(dtype=int)
    spares: dict[tuple, int | None] = {}
    for k in edits:
        if k[1] not in keep:
            spares[k] = None
            continue
        others = plan[(plan["from_store_id"] == k[1]) & (plan["sku_id"] == k[3]) & (plan["to_store_id"] != k[2])]
        shipped = 0
        for row in others.itertuples():
            other = (k[0], k[1], int(row.to_store_id), k[3])
            if other in batch:
                d = batch[other]
                shipped += 0 if d.decision == "rejected" else int(row.units) if d.decision == "approved" else (_whole(d.units) or 0)
            else:
                shipped += int(decided.get(other[1:], row.units))
        spares[k] = int(stock.get((k[1], k[3]), 0)) - keep[k[1]] - shipped
    return spares


# --- deciding (the write) ------------------------------------------------------------------


def _require_grants(session, tables: Iterable[str]) -> None:
    for table in tables:
        log = decisions_table(table)
        if not session.config.can_write(session.role, log):
            raise PermissionError(f"user {session.user.name!r} (role {session.role.name!r}) may not decide the moves "
                                  f"of {table}: no write grant on {log} in {session.config.path}")
    if session.read_only:
        raise PermissionError(f"this session of {session.user.name!r} is read-only; decisions need one opened "
                              "with read_only=False")


def _out_of_scope(session, key: tuple) -> bool:
    return not session.scope.unrestricted and not ({key[1], key[2]} & set(session.scope.store_ids))


def _rows_for(session, table: str, as_of: dt.date, batch: dict[tuple, Decision], decided_at: dt.datetime):
    """The decision rows of one plan day, and the problems (nothing is written when there are any)."""
    plan = _keyed(output.read_plan(session, table, as_of))
    current = read_decisions(session, table, as_of)
    current = _keyed(current) if len(current) else current
    spares = _spares(session, as_of, plan, current, batch)
    rows, problems = [], []
    index = plan.set_index(MOVE_KEY)
    for key, d in batch.items():
        if key not in index.index:
            problems.append(f"{d.describe()}: outside your scope ({session.scope.describe()})" if _out_of_scope(session, key)
                            else f"{d.describe()}: not in the plan of {as_of}")
            continue
        move = index.loc[key]
        if d.plan_run_id is not None and d.plan_run_id != move["run_id"]:
            problems.append(f"{d.describe()}: the plan was re-made (run {move['run_id']}) since you loaded it "
                            f"(run {d.plan_run_id}); reload and decide again")
            continue
        proposed = int(move["units"])
        found = check(d, proposed, spares.get(key))
        problems += found
        if not found:
            units = {"approved": proposed, "rejected": 0}.get(d.decision, _whole(d.units))
            rows.append({"as_of": key[0], "from_store_id": key[1], "to_store_id": key[2], "sku_id": key[3],
                         "plan_run_id": move["run_id"], "decision": d.decision, "proposed_units": proposed,
                         "approved_units": units, "comment": (d.comment or "").strip() or None,
                         "decided_by": session.user.name, "decided_role": session.role.name, "decided_at": decided_at})
    return rows, problems


def decide(session, decisions: Iterable[Decision]) -> pd.DataFrame:
    """Write ``decisions`` to their logs through ``session`` (one that may write), all or none; the rows.

    Raises :class:`DecisionRefused` listing every problem (nothing written), or ``PermissionError`` when
    the user may not decide these plans at all (a store manager) or the door refuses the rows.
    """
    decisions = list(decisions)
    if not decisions:
        raise DecisionRefused(["nothing to decide: select one or more moves first"])
    for d in decisions:
        decisions_table(d.plan_table)  # an unknown plan fails here, before any read
    _require_grants(session, {d.plan_table for d in decisions})
    groups: dict[tuple[str, dt.date], dict[tuple, Decision]] = {}
    problems = []
    for d in decisions:
        batch = groups.setdefault((d.plan_table, d.key[0]), {})
        if d.key in batch:
            problems.append(f"{d.describe()}: decided twice in one batch")
        batch[d.key] = d
    decided_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows: dict[str, list[dict]] = {}
    for (table, as_of), batch in groups.items():
        found, wrong = _rows_for(session, table, as_of, batch, decided_at)
        rows.setdefault(table, []).extend(found)
        problems += wrong
    if problems:
        raise DecisionRefused(problems)
    written = {table: _arrow(decisions_table(table), found) for table, found in rows.items()}
    # one write is atomic by itself; a batch on both plans needs a transaction (DuckDB; Spark has none)
    with session.transaction() if len(written) > 1 else contextlib.nullcontext():
        for table, data in written.items():
            session.write(decisions_table(table), data)
    return pd.concat([d.to_pandas().assign(plan_table=t) for t, d in written.items()], ignore_index=True)


def _arrow(log: str, rows: list[dict]) -> pa.Table:
    schema = pa.schema([f for f in LOGS[log].arrow_schema() if f.name != writes.RUN_ID])
    return pa.Table.from_pylist(rows, schema=schema)


# --- feeding the next plan (pure, then the reads) --------------------------------------------


@dataclass
class Feedback:
    """What the review tells the next plan: ``committed`` (``origin, dest, sku_id, units`` approved and
    not shipped yet) and ``blocked`` (``origin, dest, sku_id`` rejected recently)."""

    committed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*ROUTE_SKU, "units"]))
    blocked: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROUTE_SKU))

    def describe(self) -> str:
        units = int(self.committed["units"].sum()) if len(self.committed) else 0
        return (f"{len(self.committed)} approved moves not shipped yet counted as committed ({units} units); "
                f"{len(self.blocked)} route × SKU rejected recently not proposed")


def _routes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"from_store_id": "origin", "to_store_id": "dest"})


def _age(frame: pd.DataFrame, as_of: dt.date) -> pd.Series:
    return (pd.Timestamp(as_of) - pd.to_datetime(frame["as_of"])).dt.days


def blocked_moves(decisions: pd.DataFrame, as_of: dt.date, cooldown_days: int) -> pd.DataFrame:
    """``origin, dest, sku_id`` rejected (decision in force) on a plan of the ``cooldown_days`` before ``as_of``."""
    now = latest(decisions)
    if now.empty or cooldown_days <= 0:
        return pd.DataFrame(columns=ROUTE_SKU)
    age = _age(now, as_of)
    hit = now[(now["decision"] == "rejected") & (age > 0) & (age <= cooldown_days)]
    return _routes(hit)[ROUTE_SKU].drop_duplicates().astype("int64").reset_index(drop=True)


def committed_moves(decisions: pd.DataFrame, shipped: pd.DataFrame, as_of: dt.date, days: int) -> pd.DataFrame:
    """``origin, dest, sku_id, units`` approved on the plans of the ``days`` before ``as_of`` and not shipped.

    ``shipped``: ``origin, dest, sku_id, units`` moved on that route since the earliest of those plans
    (``core.transfers``); per route × SKU, what was approved less what shipped, never below 0.
    """
    now = latest(decisions)
    if now.empty or days <= 0:
        return pd.DataFrame(columns=[*ROUTE_SKU, "units"])
    age = _age(now, as_of)
    approved = _routes(now[now["decision"].isin(SHIPPING) & (age > 0) & (age <= days)])
    wanted = approved.groupby(ROUTE_SKU, as_index=False)["approved_units"].sum()
    gone = shipped.groupby(ROUTE_SKU)["units"].sum() if len(shipped) else pd.Series(dtype="int64")
    index = pd.MultiIndex.from_frame(wanted[ROUTE_SKU])
    wanted["units"] = (wanted["approved_units"] - gone.reindex(index).fillna(0).to_numpy()).clip(lower=0)
    out = wanted[wanted["units"] > 0][[*ROUTE_SKU, "units"]]
    return out.astype("int64").reset_index(drop=True)


def apply_commitments(stock: pd.DataFrame, committed: pd.DataFrame) -> pd.DataFrame:
    """The stock position (``inputs.stock_position``) with committed moves made: the donor's units leave
    its shelf (never below 0), the receiver's count as on their way."""
    if committed.empty:
        return stock
    out = committed.rename(columns={"origin": "location_id"}).groupby(["sku_id", "location_id"])["units"].sum()
    into = committed.rename(columns={"dest": "location_id"}).groupby(["sku_id", "location_id"])["units"].sum()
    keys = ["sku_id", "location_id"]
    rows = stock.set_index(keys)[["on_hand", "in_transit"]]
    rows = rows.reindex(rows.index.union(into.index)).fillna(0)
    rows["on_hand"] = (rows["on_hand"] - out.reindex(rows.index).fillna(0)).clip(lower=0)
    rows["in_transit"] = rows["in_transit"] + into.reindex(rows.index).fillna(0)
    rows = rows.astype("int64").assign(stock=lambda r: r["on_hand"] + r["in_transit"]).reset_index()
    result = rows[rows["stock"] > 0].reset_index(drop=True)[stock.columns]
    result.attrs = dict(stock.attrs)
    return result


def without_blocked(moves: pd.DataFrame, blocked: pd.DataFrame) -> pd.DataFrame:
    """``moves`` (``origin, dest, sku_id`` ...) less the blocked route × SKU."""
    if blocked is None or blocked.empty or moves.empty:
        return moves
    hit = moves[ROUTE_SKU].astype("int64").merge(blocked.astype("int64"), on=ROUTE_SKU, how="left", indicator=True)
    return moves[(hit["_merge"] == "left_only").to_numpy()]


def _shipments(session, approved: pd.DataFrame, since: dt.date, as_of: dt.date) -> pd.DataFrame:
    """``origin, dest, sku_id, units`` moved from ``since`` (exclusive) to ``as_of`` on the approved routes."""
    if approved.empty or not session.config.can_read(session.role, "core.transfers"):
        return pd.DataFrame(columns=[*ROUTE_SKU, "units"])
    t = session.table("core.transfers")
    t = t.filter(t.from_store_id.isin(sorted(approved["origin"].unique().tolist())),
                 t.to_store_id.isin(sorted(approved["dest"].unique().tolist())),
                 t.sku_id.isin(sorted(approved["sku_id"].unique().tolist())), t.ship_date > since, t.ship_date <= as_of)
    moved = t.group_by(origin=t.from_store_id, dest=t.to_store_id, sku_id=t.sku_id).aggregate(units=t.qty.sum())
    moved = moved.to_pandas().astype("int64")
    return moved.merge(approved[ROUTE_SKU].drop_duplicates().astype("int64"), on=ROUTE_SKU)


def planner_feedback(session, as_of: dt.date, settings) -> Feedback:
    """The decisions on the plans before ``as_of`` that the plan of ``as_of`` must respect (``settings``:
    ``planning.PlanningSettings``: ``rejection_cooldown_days``, ``commitment_days``)."""
    as_of = pd.Timestamp(as_of).date()
    days = max(settings.rejection_cooldown_days, settings.commitment_days)
    readable = [t for t in PLAN_TABLES if session.config.can_read(session.role, decisions_table(t))]
    if len(readable) < len(PLAN_TABLES):
        warnings.warn(f"user {session.user.name!r} may not read the review's decisions: the plan ignores them "
                      "(plan as a pipeline user, e.g. u_pipeline)", stacklevel=2)
    if days <= 0 or not readable:
        return Feedback()
    since = as_of - dt.timedelta(days=days)
    parts = [read_decisions(session, t, since=since, before=as_of) for t in readable]
    parts = [p for p in parts if len(p)]
    if not parts:
        return Feedback()
    decisions = pd.concat(parts, ignore_index=True)
    decisions = latest(_keyed(decisions))
    age = _age(decisions, as_of)
    approved = _routes(decisions[decisions["decision"].isin(SHIPPING) & (age <= settings.commitment_days)])
    first = min(approved["as_of"]) if len(approved) else as_of
    shipped = _shipments(session, approved, first, as_of)
    return Feedback(committed_moves(decisions, shipped, as_of, settings.commitment_days),
                    blocked_moves(decisions, as_of, settings.rejection_cooldown_days))
