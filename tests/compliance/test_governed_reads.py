"""Row policies, column policies and deny-by-default, on every engine."""

from __future__ import annotations

import re

import pytest

from .conftest import column, store_ids

BUSINESS_USERS = ["u_analyst", "u_finance", "u_hq", "u_region_east", "u_store_001", "u_warehouse", "u_auditor"]


def test_store_manager_sees_only_their_store(open_session):
    s = open_session("u_store_001")
    assert set(column(s.sql("select distinct store_id from sales"), "store_id")) == store_ids(open_session, store_code="S001")
    assert set(column(s.table("inventory").select("store_id").distinct(), "store_id")) == store_ids(open_session, store_code="S001")


def test_region_manager_sees_only_their_region(open_session):
    s = open_session("u_region_east")
    east = store_ids(open_session, region="East")
    seen = set(column(s.sql("select distinct store_id from sales"), "store_id"))
    assert seen and seen <= east
    assert set(column(s.table("stores").select("store_id"), "store_id")) == east


def test_hq_sees_the_whole_chain(open_session):
    everything = set(column(open_session("u_oracle").sql("select distinct store_id from sales"), "store_id"))
    assert set(column(open_session("u_hq").sql("select distinct store_id from sales"), "store_id")) == everything
    assert len(everything) > 3


def test_a_transfer_is_visible_from_either_end(open_session):
    s001 = store_ids(open_session, store_code="S001")
    moves = open_session("u_store_001").table("transfers")
    ends = column(moves.select(inside=moves.from_store_id.isin(s001) | moves.to_store_id.isin(s001)), "inside")
    assert ends and all(ends)


def test_table_and_sql_agree_under_the_row_filter(open_session):
    s = open_session("u_region_east")
    by_table = s.table("sales").count().to_pyarrow().as_py()
    by_sql = column(s.sql("select count(*) as n from sales"), "n")[0]
    assert by_table == by_sql > 0


def test_unit_cost_is_hidden_from_a_store_manager(open_session):
    s = open_session("u_store_001")
    assert "unit_cost" not in s.table("products").columns
    assert "cost_amount" not in s.table("sales").columns
    with pytest.raises(PermissionError, match="product_cost"):
        s.sql("select sku_id, unit_cost from products")
    assert "unit_cost" in open_session("u_finance").table("products").columns


def test_member_names_and_phones_are_masked_for_all_but_admin(open_session):
    masked = open_session("u_analyst").table("members").select("member_name", "phone").limit(200)
    phones, names = column(masked, "phone"), column(masked, "member_name")
    assert phones and all(re.fullmatch(r"\d{3}\*{4}\d{4}", p) for p in phones)
    assert all(n.endswith("*") for n in names)
    clear = open_session("u_admin").table("members").select("phone").limit(200)
    assert not any("*" in p for p in column(clear, "phone"))


@pytest.mark.parametrize("user", BUSINESS_USERS)
def test_truth_is_refused_to_every_business_role(open_session, user):
    s = open_session(user)
    with pytest.raises(PermissionError, match="truth.demand"):
        s.table("truth.demand")
    with pytest.raises(PermissionError):
        s.sql("select sum(demand) from truth.demand")


def test_the_oracle_reads_truth(open_session):
    assert open_session("u_oracle").table("truth.demand").count().to_pyarrow().as_py() > 0


def test_deny_by_default_names_user_table_and_policy_file(open_session, settings):
    with pytest.raises(PermissionError) as err:
        open_session("u_warehouse").table("members")
    message = str(err.value)
    assert "u_warehouse" in message and "core.members" in message and str(settings.access_file) in message
