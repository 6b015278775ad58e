"""The access file and the pure decisions it drives (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.governance.policies import AccessConfigError, User, load_access, parse_access
from workbench.governance.scope import ScopeWarning, resolve_scope

from .conftest import SHIPPED_ACCESS

REQUIRED_ROLES = {"admin", "analyst", "finance", "hq_manager", "region_manager", "store_manager",
                  "warehouse", "auditor", "device", "oracle"}
REGIONS = {"East", "North", "South", "Central", "West"}


@pytest.fixture(scope="module")
def config():
    return load_access(SHIPPED_ACCESS)


def test_shipped_file_has_every_role_with_a_user(config):
    assert REQUIRED_ROLES <= set(config.roles)
    assert REQUIRED_ROLES <= {u.role for u in config.users.values()}
    managers = [u for u in config.users.values() if u.role == "store_manager"]
    regions = [u for u in config.users.values() if u.role == "region_manager"]
    assert len(managers) >= 3 and len(regions) >= 2
    assert {u.attributes["region"] for u in regions} == REGIONS  # the simulator's regions, exactly


def test_truth_and_audit_log_grants(config):
    readers = lambda table: {r for r in config.roles if config.can_read(config.roles[r], table)}  # noqa: E731
    assert readers("truth.demand") == {"admin", "oracle"}
    assert readers("audit_log") == {"admin", "auditor"}
    assert "store_manager" not in readers("core.purchase_orders")  # deny wins over core.*


def test_deny_by_default(config):
    analyst = config.roles["analyst"]
    assert not config.can_read(analyst, "sandbox.anything") and not config.can_write(analyst, "marts.x")
    assert config.read_decision(analyst, "truth.demand") == "no `read` grant of role 'analyst' matches it"


def test_column_rules(config):
    store = config.column_rules(config.roles["store_manager"], ["unit_cost", "phone", "qty"])
    assert store["unit_cost"].action == "hide" and store["unit_cost"].policy == "product_cost"
    assert store["phone"].action == "mask" and store["phone"].mask == "phone"
    assert "qty" not in store
    assert config.column_rules(config.roles["admin"], ["unit_cost", "phone"]) == {}
    assert set(config.column_rules(config.roles["finance"], ["unit_cost", "member_name"])) == {"member_name"}


def _raw(**changes):
    raw = {
        "roles": {"r": {"read": ["core.*"], "scope": "all"}},
        "users": {"u": {"role": "r"}},
    }
    raw.update(changes)
    return raw


@pytest.mark.parametrize("raw, fragment", [
    (_raw(users={"u": {"role": "nope"}}), "unknown role 'nope'"),
    (_raw(roles={"r": {"scope": "by_moon"}}), "neither `all` nor a row policy"),
    (_raw(column_policies={"p": {"action": "blur", "columns": ["x"]}}), "hide or mask"),
    (_raw(column_policies={"p": {"action": "mask", "columns": {"x": "emoji"}}}), "unknown mask kinds"),
    (_raw(location_columns={"store_id": "number"}), "`id` or `code`"),
    (_raw(roles={"r": {"scope": "all", "opens_read_only": "yes"}}), "opens_read_only must be true or false"),
])
def test_malformed_files_fail_early_naming_the_entry(raw, fragment):
    with pytest.raises(AccessConfigError, match=fragment):
        parse_access(raw, Path("access.yaml"))


def test_missing_access_file_says_how_to_fix(tmp_path):
    with pytest.raises(AccessConfigError, match="WB_ACCESS"):
        load_access(tmp_path / "none.yaml")


def test_resolve_scope_by_codes_and_region(config):
    stores = [
        {"store_id": 1, "store_code": "S001", "region": "East"},
        {"store_id": 2, "store_code": "S002", "region": "East"},
        {"store_id": 17, "store_code": "S017", "region": "North"},
    ]
    own, region = config.row_policies["own_stores"], config.row_policies["region_stores"]
    assert resolve_scope(User("a", "store_manager", {"stores": ["S017"]}), own, stores).store_ids == (17,)
    assert resolve_scope(User("b", "region_manager", {"region": "East"}), region, stores).store_codes == ("S001", "S002")
    assert resolve_scope(User("c", "hq_manager"), None, stores).unrestricted
    with pytest.warns(ScopeWarning, match="S404"):
        partial = resolve_scope(User("d", "store_manager", {"stores": ["S001", "S404"]}), own, stores)
    assert partial.store_ids == (1,)
    with pytest.warns(ScopeWarning, match="empty"):
        assert resolve_scope(User("e", "store_manager", {}), own, stores).store_ids == ()


def test_managers_who_only_approve_open_read_only_sessions_unless_they_ask_to_write(tiny_settings):
    import workbench as wb

    config = load_access(SHIPPED_ACCESS)
    assert config.roles["hq_manager"].write and config.roles["hq_manager"].opens_read_only
    assert not config.roles["pipeline"].opens_read_only
    with wb.session("u_hq", settings=tiny_settings) as hq, wb.session("u_region_east", settings=tiny_settings) as east:
        assert hq.read_only and east.read_only  # their reads never take the file's one write lock
