"""Allocation review: the rules, the append-only logs, who decides what, and the feed to the next plan."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass

import pandas as pd
import pytest

import workbench as wb
from workbench.allocation import approvals, daily, inputs, output
from workbench.allocation.approvals import Decision, DecisionRefused
from workbench.allocation.planning import load_planning_settings
from workbench.forecasting.output import write_forecast

AS_OF = dt.date(2025, 11, 9)  # a stock snapshot day (Sunday)
NEXT = AS_OF + dt.timedelta(days=1)
REPL, TRANS = "marts.replenishment_plan", "marts.transfer_plan"


@dataclass
class ReviewWarehouse:
    settings: object
    ids: dict  # store code -> store id
    transfers: pd.DataFrame  # the store-to-store moves written into the plan (origin, dest, sku_id, units)


def _first_sku(stock: pd.DataFrame, location: int, at_least: int) -> int:
    held = stock[(stock["location_id"] == location) & (stock["on_hand"] >= at_least) & (stock["in_transit"] == 0)]
    return int(held["sku_id"].min())


def make_review_warehouse(tiny_settings, root) -> ReviewWarehouse:
    """A copy of tiny with forecasts for AS_OF and NEXT and the plan of AS_OF: the optimiser's DC moves
    plus three store-to-store transfers (tiny's optimiser proposes none on AS_OF): S006 → S001 and
    S006 → S007 of one SKU (East; the same donor twice), and S002 → S003 (North → South)."""
    settings = tiny_settings.with_(warehouse=root / "review.duckdb", audit_dir=root / "audit")
    shutil.copyfile(tiny_settings.warehouse, settings.warehouse)
    with wb.session("u_pipeline", settings=settings, read_only=False) as s:
        for day in (AS_OF, NEXT):
            f = inputs.sales_rate_forecast(s, day)
            f = f[f["store_id"].isin(inputs.planning_stores(s)["store_id"])]
            write_forecast(s, f.assign(p10=0.0, p50=f["mean"], p90=f["mean"] * 2), day, None)
        stores = inputs.planning_stores(s)
        ids = dict(zip(stores["store_code"], stores["store_id"].astype(int)))
        stock = inputs.stock_position(s, AS_OF)
        east, north = _first_sku(stock, ids["S006"], 4), _first_sku(stock, ids["S002"], 2)
        transfers = pd.DataFrame({
            "origin": [ids["S006"], ids["S006"], ids["S002"]], "dest": [ids["S001"], ids["S007"], ids["S003"]],
            "sku_id": [east, east, north], "units": [1, 1, 1], "lead_days": [1, 2, 4],
            "relation": ["same_city", "same_region", "cross_region"], "expected_units_gained": [0.5, 0.4, 0.3],
            "expected_units_lost": [0.1, 0.1, 0.1], "expected_margin": [60.0, 50.0, 40.0], "freight": [10.0, 12.0, 30.0],
            "net_benefit": [50.0, 38.0, 10.0], "reason": ["transfer (调拨): test"] * 3})
        plan = daily.make_plan(s, AS_OF)
        output.write_plan(s, pd.concat([plan.moves, transfers], ignore_index=True), AS_OF)
    return ReviewWarehouse(settings, ids, transfers)


@pytest.fixture(scope="module")
def review_base(tiny_settings, tmp_path_factory) -> ReviewWarehouse:
    return make_review_warehouse(tiny_settings, tmp_path_factory.mktemp("review"))


@pytest.fixture()
def wh(review_base, tmp_path) -> ReviewWarehouse:
    """A writable copy of the review warehouse, with its own audit folder."""
    settings = review_base.settings.with_(warehouse=tmp_path / "w.duckdb", audit_dir=tmp_path / "audit")
    shutil.copyfile(review_base.settings.warehouse, settings.warehouse)
    return ReviewWarehouse(settings, review_base.ids, review_base.transfers)


def _plan(settings, table=REPL) -> pd.DataFrame:
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        return output.read_plan(s, table, AS_OF)


def _log(settings, table=REPL) -> pd.DataFrame:
    with wb.session("u_pipeline", settings=settings, read_only=True) as s:
        log = approvals.decisions_table(table)
        return s.table(log).to_pandas() if s.table_exists(log) else pd.DataFrame()


def _audit(settings, user: str) -> pd.DataFrame:
    with wb.session("u_auditor", settings=settings, read_only=True) as a:
        t = a.table("audit_log")
        return t.filter(t.user == user).to_pandas()


def _decision(row, table=REPL, **kw) -> Decision:
    return Decision(table, AS_OF, int(row["from_store_id"] if "from_store_id" in row else row["origin"]),
                    int(row["to_store_id"] if "to_store_id" in row else row["dest"]), int(row["sku_id"]), **kw)


# --- the rules, pure ------------------------------------------------------------------

def _d(decision, units=None, comment=""):
    return Decision(TRANS, AS_OF, 6, 1, 100, decision, units=units, comment=comment)


@pytest.mark.parametrize("decision, proposed, spare, wanted", [
    (_d("approved"), 3, None, None),
    (_d("approved", units=3), 3, None, None),
    (_d("approved", units=4), 3, 10, "edit the move"),
    (_d("rejected"), 3, None, "comment is required to reject"),
    (_d("rejected", comment="   "), 3, None, "comment is required to reject"),
    (_d("rejected", comment="too far"), 3, None, None),
    (_d("rejected", units=2, comment="x"), 3, None, "rejection ships nothing"),
    (_d("edited", units=2), 3, 10, "comment is required to change the quantity"),
    (_d("edited", units=0, comment="x"), 3, 10, "whole number of 1 or more"),
    (_d("edited", units=2.5, comment="x"), 3, 10, "whole number of 1 or more"),
    (_d("edited", units="2", comment="x"), 3, 10, "whole number of 1 or more"),
    (_d("edited", units=True, comment="x"), 3, 10, "whole number of 1 or more"),
    (_d("edited", units=float("nan"), comment="x"), 3, 10, "whole number of 1 or more"),
    (_d("edited", units=10.0, comment="x"), 3, 10, None),
    (_d("edited", units=11, comment="x"), 3, 10, "the donor can spare 10"),
    (_d("edited", units=2, comment="x"), 3, None, None),
    (_d("edited", units=4, comment="x"), 3, None, "can only be cut"),
    (_d("edited", units=2, comment="x" * 1001), 3, None, "keep it under 1000"),
    (_d("maybe"), 3, None, "unknown decision"),
])
def test_the_rules(decision, proposed, spare, wanted):
    problems = approvals.check(decision, proposed, spare)
    if wanted is None:
        assert problems == []
    else:
        assert len(problems) == 1 and wanted in problems[0], problems


def _log_rows(rows):
    cols = ["as_of", "from_store_id", "to_store_id", "sku_id", "decision", "approved_units", "comment",
            "decided_by", "decided_at"]
    return pd.DataFrame(rows, columns=cols)


def test_the_latest_decision_wins_and_the_summary_adds_up():
    plan = pd.DataFrame({"as_of": [AS_OF] * 3, "from_store_id": [0, 0, 6], "to_store_id": [1, 2, 1],
                         "sku_id": [10, 10, 11], "units": [4, 2, 3], "freight": [8.0, 4.0, 6.0],
                         "expected_margin": [40.0, 20.0, 30.0], "expected_units_gained": [1.0, 0.5, 0.6],
                         "expected_units_lost": [0.0, 0.0, 0.2], "net_benefit": [32.0, 16.0, 24.0]})
    t = pd.Timestamp("2025-11-10 08:00")
    log = _log_rows([
        (AS_OF, 0, 1, 10, "approved", 4, None, "u_hq", t),
        (AS_OF, 0, 1, 10, "edited", 2, "half", "u_hq", t + pd.Timedelta(minutes=5)),  # later: wins
        (AS_OF, 0, 2, 10, "approved", 2, None, "u_hq", t + pd.Timedelta(minutes=9)),
        (AS_OF, 0, 2, 10, "rejected", 0, "no", "u_region_north", t + pd.Timedelta(minutes=1)),  # earlier: loses
    ])
    reviewed = approvals.review(plan, log.sample(frac=1, random_state=1))  # the order of the rows does not matter
    by = reviewed.set_index(["to_store_id", "sku_id"])
    assert by.loc[(1, 10), "status"] == "edited" and by.loc[(1, 10), "approved_units"] == 2
    assert by.loc[(1, 10), "comment"] == "half"
    assert by.loc[(2, 10), "status"] == "approved" and by.loc[(2, 10), "approved_units"] == 2
    assert reviewed.loc[reviewed["sku_id"] == 11, "status"].item() == "pending"
    summary = approvals.summary(reviewed).set_index("status")
    assert summary.loc["total", "moves"] == 3 and summary.loc["total", "units"] == 9
    assert summary.loc["edited", "approved_units"] == 2 and summary.loc["pending", "moves"] == 1
    assert summary.loc["total", "freight"] == plan["freight"].sum()
    ships = approvals.approved_plan(reviewed).set_index("to_store_id")
    assert list(ships.index) == [1, 2]
    assert ships.loc[1, "units"] == 2 and ships.loc[1, "freight"] == pytest.approx(4.0)  # pro rata: half of 8
    assert ships.loc[2, "expected_margin"] == 20.0


def test_rejections_block_and_approvals_commit_for_a_while():
    log = _log_rows([
        (AS_OF - dt.timedelta(days=2), 0, 1, 10, "rejected", 0, "no", "u_hq", pd.Timestamp("2025-11-07 09:00")),
        (AS_OF - dt.timedelta(days=9), 0, 2, 10, "rejected", 0, "no", "u_hq", pd.Timestamp("2025-11-01 09:00")),
        (AS_OF, 0, 3, 10, "rejected", 0, "same day", "u_hq", pd.Timestamp("2025-11-10 09:00")),
        (AS_OF - dt.timedelta(days=1), 0, 1, 11, "approved", 5, None, "u_hq", pd.Timestamp("2025-11-08 09:00")),
        (AS_OF - dt.timedelta(days=3), 6, 1, 12, "edited", 2, "less", "u_hq", pd.Timestamp("2025-11-06 09:00")),
        (AS_OF - dt.timedelta(days=1), 0, 2, 13, "approved", 1, None, "u_hq", pd.Timestamp("2025-11-08 09:00")),
        (AS_OF - dt.timedelta(days=1), 0, 2, 13, "rejected", 0, "changed my mind", "u_hq", pd.Timestamp("2025-11-08 10:00")),
    ])
    blocked = approvals.blocked_moves(log, AS_OF, cooldown_days=7)
    assert sorted(map(tuple, blocked.to_numpy())) == [(0, 1, 10), (0, 2, 13)]  # 9 days ago: free again; today: not yet
    assert approvals.blocked_moves(log, AS_OF, cooldown_days=0).empty
    shipped = pd.DataFrame({"origin": [0, 6], "dest": [1, 1], "sku_id": [11, 12], "units": [2, 3]})
    committed = approvals.committed_moves(log, shipped, AS_OF, days=7)
    assert sorted(map(tuple, committed.to_numpy())) == [(0, 1, 11, 3)]  # 5 approved less 2 shipped; 12 all shipped
    assert approvals.committed_moves(log, shipped.iloc[:0], AS_OF, days=2).set_index("sku_id")["units"].to_dict() == {11: 5}

    stock = pd.DataFrame({"sku_id": [11, 11, 20], "location_id": [0, 1, 0], "on_hand": [2, 1, 9],
                          "in_transit": [0, 1, 0], "stock": [2, 2, 9]})
    after = approvals.apply_commitments(stock, pd.DataFrame({"origin": [0, 0], "dest": [1, 4], "sku_id": [11, 11],
                                                             "units": [3, 1]}))
    got = after.set_index(["sku_id", "location_id"])
    assert (0 not in got.loc[11].index) and got.loc[(20, 0), "stock"] == 9  # the DC had 2 of 4: nothing left, never < 0
    assert got.loc[(11, 1), "in_transit"] == 4 and got.loc[(11, 1), "stock"] == 5
    assert got.loc[(11, 4), "stock"] == 1  # a receiver that held none
    moves = pd.DataFrame({"origin": [0, 0], "dest": [1, 1], "sku_id": [10, 11], "units": [1, 1]})
    assert approvals.without_blocked(moves, blocked)["sku_id"].tolist() == [11]


# --- on the tiny chain ------------------------------------------------------------------

def test_donor_stock_is_the_planners_stock_position(review_base):
    with wb.session("u_pipeline", settings=review_base.settings, read_only=True) as s:
        expected = inputs.stock_position(s, AS_OF)
        pairs = expected.sample(40, random_state=0)[["location_id", "sku_id"]]
        pairs = pd.concat([pairs, pd.DataFrame({"location_id": [1], "sku_id": [-5]})])  # held nowhere: 0
        got = approvals.donor_stock(s, AS_OF, pairs)
    both = got.merge(expected, on=["location_id", "sku_id"], how="left", suffixes=("", "_planner")).fillna(0)
    assert len(both) == 41 and (both["stock"] == both["stock_planner"]).all()


def test_head_office_decides_and_the_log_only_grows(wh):
    plan = _plan(wh.settings)
    first, second = plan.iloc[0], plan.iloc[1]
    with wb.session("u_hq", settings=wh.settings, read_only=False, entry_point="app") as s:
        approvals.decide(s, [_decision(first, decision="approved", plan_run_id=first["run_id"]),
                             _decision(second, decision="rejected", comment="the store is refitting")])
        approvals.decide(s, [_decision(first, decision="edited", units=max(int(first["units"]) - 1, 1), comment="fewer")])
        reviewed = approvals.review(output.read_plan(s, REPL, AS_OF), approvals.read_decisions(s, REPL, AS_OF))
    log = _log(wh.settings)
    assert len(log) == 3  # appended, never updated
    assert set(log["decided_by"]) == {"u_hq"} and set(log["decided_role"]) == {"hq_manager"}
    assert set(log["plan_run_id"]) == {first["run_id"]}
    is_first = (reviewed["to_store_id"] == first["to_store_id"]) & (reviewed["sku_id"] == first["sku_id"])
    assert reviewed.loc[is_first, "status"].item() == "edited"
    assert reviewed.loc[is_first, "approved_units"].item() == max(int(first["units"]) - 1, 1)
    assert (reviewed["status"] == "rejected").sum() == 1 and (reviewed["status"] == "pending").sum() == len(plan) - 2
    writes = _audit(wh.settings, "u_hq")
    writes = writes[(writes["action"] == "write") & writes["tables"].map(lambda t: "raw.replenishment_plan_decisions" in t)]
    assert list(writes["status"]) == ["ok", "ok"] and list(writes["rows"]) == [2, 1]
    assert set(writes["entry_point"]) == {"app"}


def test_a_region_manager_decides_only_moves_touching_the_region(wh):
    plan = _plan(wh.settings, TRANS).set_index("from_store_id")
    north = plan.loc[[wh.ids["S002"]]].reset_index().iloc[0]  # S002 -> S003: North -> South
    east = plan.loc[[wh.ids["S006"]]].reset_index().iloc[0]
    with wb.session("u_region_east", settings=wh.settings, read_only=False, entry_point="app") as s:
        approvals.decide(s, [_decision(east, TRANS, decision="approved")])
        with pytest.raises(DecisionRefused, match="outside your scope"):
            approvals.decide(s, [_decision(north, TRANS, decision="approved")])
        # the door itself refuses the row, whatever the library checks: the scope is the governed write's
        row = approvals._arrow("raw.transfer_plan_decisions", [{
            "as_of": AS_OF, "from_store_id": int(north["from_store_id"]), "to_store_id": int(north["to_store_id"]),
            "sku_id": int(north["sku_id"]), "plan_run_id": north["run_id"], "decision": "approved",
            "proposed_units": 1, "approved_units": 1, "comment": None, "decided_by": "u_region_east",
            "decided_role": "region_manager", "decided_at": dt.datetime(2025, 11, 10)}])
        with pytest.raises(PermissionError, match="outside the scope"):
            s.write("raw.transfer_plan_decisions", row)
    with wb.session("u_region_north", settings=wh.settings, read_only=False) as s:
        approvals.decide(s, [_decision(north, TRANS, decision="rejected", comment="keep it in the north")])
    log = _log(wh.settings, TRANS)
    assert sorted(log["decided_by"]) == ["u_region_east", "u_region_north"]
    denied = _audit(wh.settings, "u_region_east")
    assert ((denied["action"] == "denied") & denied["message"].str.contains("outside the scope")).sum() == 1


def test_the_warehouse_decides_dc_replenishment_not_transfers(wh):
    repl, trans = _plan(wh.settings).iloc[0], _plan(wh.settings, TRANS).iloc[0]
    with wb.session("u_warehouse", settings=wh.settings, read_only=False) as s:
        approvals.decide(s, [_decision(repl, decision="approved")])
        with pytest.raises(PermissionError, match="may not decide the moves of marts.transfer_plan"):
            approvals.decide(s, [_decision(trans, TRANS, decision="approved")])
    assert len(_log(wh.settings)) == 1 and _log(wh.settings, TRANS).empty


def test_a_store_manager_sees_the_moves_of_the_store_but_does_not_decide(wh):
    s001 = wh.ids["S001"]
    with wb.session("u_store_001", settings=wh.settings, read_only=True) as s:
        seen = pd.concat([output.read_plan(s, t, AS_OF) for t in (REPL, TRANS)])
        with pytest.raises(PermissionError, match="may not decide"):
            approvals.decide(s, [_decision(seen.iloc[0], decision="approved")])
    everything = pd.concat([_plan(wh.settings, t) for t in (REPL, TRANS)])
    mine = everything[(everything["from_store_id"] == s001) | (everything["to_store_id"] == s001)]
    assert len(seen) == len(mine) > 0
    assert _log(wh.settings).empty


def test_an_edit_stays_within_what_the_donor_can_spare(wh):
    to_s001, to_s007 = (wh.transfers.iloc[i] for i in (0, 1))  # the same donor (S006) and SKU
    donor, sku = int(to_s001["origin"]), int(to_s001["sku_id"])
    with wb.session("u_pipeline", settings=wh.settings, read_only=True) as s:
        stock = inputs.stock_position(s, AS_OF).set_index(["location_id", "sku_id"]).loc[(donor, sku), "stock"]
        grade = inputs.planning_stores(s).set_index("store_id").loc[donor, "grade"]
    keep = load_planning_settings().min_display[grade]
    spare = int(stock) - keep - 1  # the other move (to S007) still ships its proposed unit
    with wb.session("u_hq", settings=wh.settings, read_only=False) as s:
        with pytest.raises(DecisionRefused, match=f"the donor can spare {spare} "):
            approvals.decide(s, [_decision(to_s001, TRANS, decision="edited", units=spare + 1, comment="all of it")])
        # rejecting the other move in the same batch frees its unit
        approvals.decide(s, [_decision(to_s001, TRANS, decision="edited", units=spare + 1, comment="all of it"),
                             _decision(to_s007, TRANS, decision="rejected", comment="outlet, not now")])
        # and a later decision on the other move counts against the first's edit
        with pytest.raises(DecisionRefused, match="the donor can spare 0 "):
            approvals.decide(s, [_decision(to_s007, TRANS, decision="edited", units=1, comment="back on")])
    # a region manager cannot see the DC's stock: an edit of a DC move can only cut it
    repl = _plan(wh.settings)
    big = repl.sort_values("units").iloc[-1]
    with wb.session("u_region_east", settings=wh.settings, read_only=False) as s:
        mine = repl[repl["to_store_id"].isin(s.scope.store_ids)].sort_values("units").iloc[-1]
        with pytest.raises(DecisionRefused, match="can only be cut"):
            approvals.decide(s, [_decision(mine, decision="edited", units=int(mine["units"]) + 1, comment="more")])
    with wb.session("u_hq", settings=wh.settings, read_only=False) as s:  # head office sees the DC: may add
        approvals.decide(s, [_decision(big, decision="edited", units=int(big["units"]) + 1, comment="more")])


def test_bad_decisions_are_refused_together_and_nothing_is_written(wh):
    plan = _plan(wh.settings)
    good, other = plan.iloc[0], plan.iloc[1]
    with wb.session("u_hq", settings=wh.settings, read_only=False) as s:
        with pytest.raises(DecisionRefused) as refused:
            approvals.decide(s, [
                _decision(good, decision="approved"),
                Decision(REPL, AS_OF, 0, int(good["to_store_id"]), 999_999, "approved"),  # no such move
                _decision(other, decision="approved", plan_run_id="an-older-run"),
                _decision(other, decision="rejected", comment="twice"),
            ])
        problems = refused.value.problems
        assert any("not in the plan of 2025-11-09" in p for p in problems)
        assert any("decided twice" in p for p in problems)
        with pytest.raises(DecisionRefused, match="nothing to decide"):
            approvals.decide(s, [])
        with pytest.raises(DecisionRefused, match="re-made"):
            approvals.decide(s, [_decision(other, decision="approved", plan_run_id="an-older-run")])
        with pytest.raises(ValueError, match="unknown plan"):
            approvals.decide(s, [Decision("marts.forecast", AS_OF, 0, 1, 1, "approved")])
        with pytest.raises(DecisionRefused, match="not in the plan of 2025-11-01"):
            approvals.decide(s, [_decision(good, decision="approved").__class__(
                REPL, dt.date(2025, 11, 1), 0, int(good["to_store_id"]), int(good["sku_id"]), "approved")])
    with wb.session("u_hq", settings=wh.settings, read_only=True) as s, pytest.raises(PermissionError, match="read-only"):
        approvals.decide(s, [_decision(good, decision="approved")])
    assert _log(wh.settings).empty


@pytest.mark.slow
def test_the_next_plan_respects_the_review(wh):
    with wb.session("u_pipeline", settings=wh.settings, read_only=True) as s:
        before = daily.make_plan(s, NEXT).moves
        stock_next = inputs.stock_position(s, NEXT)
    today = _plan(wh.settings)
    again = today.merge(before.rename(columns={"origin": "from_store_id", "dest": "to_store_id"}),
                        on=["from_store_id", "to_store_id", "sku_id"], suffixes=("", "_next"))
    assert len(again) >= 2, "the test needs moves proposed on both days"
    rejected, approved = again.iloc[0], again.iloc[1]
    with wb.session("u_hq", settings=wh.settings, read_only=False) as s:
        approvals.decide(s, [_decision(rejected, decision="rejected", comment="not this SKU"),
                             _decision(approved, decision="approved")])
    with wb.session("u_pipeline", settings=wh.settings, read_only=True) as s:
        same_day = daily.make_plan(s, AS_OF).moves  # a re-run of the decided day is the same plan
        after = daily.make_plan(s, NEXT)
        cooled = daily.make_plan(s, NEXT, settings=load_planning_settings(rejection_cooldown_days=0)).moves
        shipped = s.sql(f"select coalesce(sum(qty), 0) as q from core.transfers where from_store_id = "
                        f"{int(approved['from_store_id'])} and to_store_id = {int(approved['to_store_id'])} and sku_id = "
                        f"{int(approved['sku_id'])} and ship_date > date '{AS_OF}' and ship_date <= date '{NEXT}'"
                        ).to_pandas()["q"].item()
    assert len(same_day) == len(today) and same_day["units"].sum() == today["units"].sum()
    key = lambda m, r: (m["origin"] == r["from_store_id"]) & (m["dest"] == r["to_store_id"]) & (m["sku_id"] == r["sku_id"])  # noqa: E731
    assert not key(after.moves, rejected).any()  # not proposed again within the cool-down
    assert key(cooled, rejected).any()  # and proposed again without one
    committed = max(int(approved["units"]) - int(shipped), 0)
    assert committed > 0, "the test needs an approved move the chain did not ship"
    assert after.feedback.committed.set_index(["origin", "dest", "sku_id"])["units"].to_dict() == {
        (int(approved["from_store_id"]), int(approved["to_store_id"]), int(approved["sku_id"])): committed}
    held = after.stock.set_index(["location_id", "sku_id"])["stock"]
    raw = stock_next.set_index(["location_id", "sku_id"])["stock"]
    sku, dc, dest = int(approved["sku_id"]), int(approved["from_store_id"]), int(approved["to_store_id"])
    assert held.get((dc, sku), 0) == max(raw.get((dc, sku), 0) - committed, 0)
    assert held.get((dest, sku), 0) == raw.get((dest, sku), 0) + committed
    assert f"1 approved moves not shipped yet counted as committed ({committed} units)" in after.describe()


def test_a_batch_on_both_plans_is_written_together_or_not_at_all(wh):
    repl, trans = _plan(wh.settings).iloc[0], _plan(wh.settings, TRANS).iloc[0]
    with wb.session("u_hq", settings=wh.settings, read_only=False) as s:
        with pytest.raises(DecisionRefused, match="comment is required"):
            approvals.decide(s, [_decision(repl, decision="approved"), _decision(trans, TRANS, decision="rejected")])
        assert _log(wh.settings).empty and _log(wh.settings, TRANS).empty
        written = approvals.decide(s, [_decision(repl, decision="approved"),
                                       _decision(trans, TRANS, decision="rejected", comment="not now")])
    assert sorted(written["plan_table"]) == [REPL, TRANS]
    assert len(_log(wh.settings)) == 1 and _log(wh.settings, TRANS)["decision"].tolist() == ["rejected"]
