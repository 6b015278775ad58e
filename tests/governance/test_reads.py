"""Reading through the door: row filters per role, hidden and masked columns, deny by default."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.governance.policies import UnknownUser
from workbench.governance.scope import ScopeWarning
from workbench.governance.session import TableNotFound

from .conftest import SHIPPED_ACCESS, read_audit
from .warehouse import SALES

ALL_SALES_STORES = {1, 2, 17, 42, 91}


def stores_seen(s, table="sales", col="store_id") -> set:
    return set(s.table(table)[col].execute())


@pytest.mark.parametrize(
    "user, expected",
    [
        ("u_store_001", {1}),
        ("u_store_017", {17}),
        ("u_store_multi", {1, 2}),
        ("u_region_east", {1, 2}),
        ("u_region_north", {17, 42}),
        ("u_hq", ALL_SALES_STORES),
        ("u_analyst", ALL_SALES_STORES),
        ("u_finance", ALL_SALES_STORES),
        ("u_admin", ALL_SALES_STORES),
    ],
)
def test_sales_rows_follow_the_users_scope(open_session, user, expected):
    assert stores_seen(open_session(user)) == expected


def test_store_manager_totals_are_their_stores_only(open_session):
    s = open_session("u_store_017")
    expected = sum(r["net_amount"] for r in SALES if r["store_id"] == 17)
    assert s.table("sales").net_amount.sum().execute() == pytest.approx(expected)
    assert s.table("sales").count().execute() == 2


def test_transfers_are_visible_from_either_end(open_session):
    ids = lambda user: set(open_session(user).table("transfers").transfer_id.execute())  # noqa: E731
    assert ids("u_store_001") == {1, 2}  # in from the DC, out to S017
    assert ids("u_store_017") == {2}
    assert ids("u_region_north") == {2, 3}
    assert ids("u_warehouse") == {1, 2, 3, 4}


def test_members_follow_home_store_and_stores_table_is_scoped(open_session):
    s = open_session("u_store_001")
    assert set(s.table("members").member_id.execute()) == {1000}
    assert list(s.table("stores").store_code.execute()) == ["S001"]


def test_scope_is_resolved_from_stores(open_session):
    s = open_session("u_region_east")
    assert s.scope.store_ids == (1, 2) and s.scope.store_codes == ("S001", "S002")
    assert open_session("u_hq").scope.unrestricted


def test_region_without_stores_sees_nothing_with_a_warning(open_session):
    with pytest.warns(ScopeWarning, match="South"):
        s = open_session("u_region_south")
    assert s.scope.store_ids == ()
    assert s.table("sales").count().execute() == 0
    assert s.table("transfers").count().execute() == 0


def test_store_missing_from_warehouse_gives_empty_scope(open_session, settings, tmp_path):
    access = tmp_path / "access.yaml"
    access.write_text(
        SHIPPED_ACCESS.read_text(encoding="utf-8")
        + "  u_store_999: {role: store_manager, name: Closed store, attributes: {stores: [S999]}}\n",
        encoding="utf-8",
    )
    with pytest.warns(ScopeWarning, match="S999"):
        s = open_session("u_store_999", settings=settings.with_(access_file=access))
    assert s.table("sales").count().execute() == 0


def test_cost_columns_hidden_from_store_roles(open_session):
    for user in ("u_store_001", "u_device_s001"):
        s = open_session(user)
        assert "unit_cost" not in s.table("products").columns
    assert "cost_amount" not in open_session("u_store_017").table("sales").columns
    for user in ("u_region_east", "u_finance", "u_hq", "u_analyst"):
        assert "unit_cost" in open_session(user).table("products").columns


def test_personal_data_masked_for_all_but_admin(open_session):
    masked = open_session("u_analyst").table("members").order_by("member_id").execute()
    assert list(masked.member_name) == ["张*", "欧***", "李*", "W***"]
    assert list(masked.phone) == ["138****5678", "139****1111", "137****2222", "*****"]
    clear = open_session("u_admin").table("members").order_by("member_id").execute()
    assert list(clear.member_name) == ["张三", "欧阳娜娜", "李四", "Wang"]
    assert clear.phone[0] == "13812345678"


def test_filtering_on_a_masked_column_sees_only_the_mask(open_session):
    t = open_session("u_analyst").table("members")
    assert t.filter(t.phone == "13812345678").count().execute() == 0


def test_unlisted_table_is_denied_with_user_table_and_policy_file(open_session, settings):
    s = open_session("u_store_017")
    with pytest.raises(PermissionError) as err:
        s.table("purchase_orders")
    msg = str(err.value)
    assert "u_store_017" in msg and "core.purchase_orders" in msg and str(SHIPPED_ACCESS) in msg
    assert "deny" in msg
    denied = [r for r in read_audit(settings) if r["status"] == "denied"]
    assert denied[-1]["tables"] == ["core.purchase_orders"] and denied[-1]["action"] == "denied"


def test_device_reads_only_its_grants(open_session):
    s = open_session("u_device_s001")
    assert list(s.table("stores").store_code.execute()) == ["S001"]
    assert "unit_cost" not in s.table("products").columns
    with pytest.raises(PermissionError, match="no `read` grant"):
        s.table("sales")


@pytest.mark.parametrize(
    "user", ["u_analyst", "u_finance", "u_hq", "u_region_east", "u_store_001", "u_warehouse", "u_auditor", "u_device_s001", "u_pipeline"]
)
def test_truth_is_refused_to_every_business_role(open_session, user):
    with pytest.raises(PermissionError, match="truth.demand"):
        open_session(user).table("truth.demand")


def test_oracle_and_admin_read_truth(open_session):
    for user in ("u_oracle", "u_admin"):
        s = open_session(user)
        assert s.table("truth.demand").count().execute() == 2
        assert s.sql("select sum(demand) as d from truth.demand").execute().d[0] == 7


def test_audit_log_is_for_auditor_and_admin_only(open_session):
    for user in ("u_analyst", "u_hq", "u_oracle", "u_store_001"):
        with pytest.raises(PermissionError, match="audit_log"):
            open_session(user).table("audit_log")


def test_unknown_user_says_how_to_list_users(settings):
    with pytest.raises(UnknownUser, match="wb users"):
        wb.session("u_nobody", settings=settings)
    assert read_audit(settings)[-1]["user"] == "u_nobody"


def test_names_resolve_to_layers(open_session):
    s = open_session("u_admin")
    assert s.table("sales").count().execute() == s.table("core.sales").count().execute() == s.table("CORE.Sales").count().execute()
    with pytest.raises(PermissionError, match="layer"):
        s.table("main.sales")
    with pytest.raises(TableNotFound, match="wb tables"):
        s.table("raw.pos_sales")


def test_tables_lists_visible_columns_and_masks(open_session):
    infos = {i.qualified: i for i in open_session("u_store_001").tables()}
    assert "core.purchase_orders" not in infos and "truth.demand" not in infos and "audit_log" not in infos
    members = {c.name: c for c in infos["core.members"].columns}
    assert members["phone"].masked and members["member_name"].masked and not members["tier"].masked
    assert "unit_cost" not in {c.name for c in infos["core.products"].columns}
    assert infos["core.sales"].doc.startswith("POS ticket lines")
    assert "audit_log" in {i.qualified for i in open_session("u_auditor").tables()}


def test_table_exists_checks_grants(open_session):
    s = open_session("u_pipeline", read_only=True)
    assert s.table_exists("core.sales") and not s.table_exists("raw.pos_sales")
    with pytest.raises(PermissionError):
        open_session("u_store_001").table_exists("truth.demand")


def test_read_only_default_follows_write_grants(writable):
    for user, read_only in (("u_analyst", True), ("u_store_017", True), ("u_pipeline", False)):
        with wb.session(user, settings=writable) as s:
            assert s.read_only is read_only


def test_closed_session_refuses(open_session):
    s = open_session("u_analyst")
    s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.table("sales")
