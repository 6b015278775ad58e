"""Logins: argon2 hashes, the signed cookie, OAuth identities, and which role opens which page."""

from __future__ import annotations

import base64

import pytest
import yaml
from tornado.web import create_signed_value

from workbench.apps import login
from workbench.apps.settings import app_settings


@pytest.fixture()
def logins_file(tmp_path):
    path = tmp_path / "logins.yaml"
    path.write_text(yaml.safe_dump({"passwords": {"u_store_017": login.hash_password("correct-horse")},
                                    "oauth": {"anna@example.com": "u_region_east"}}))
    return path


def test_the_right_password_opens_and_others_do_not(logins_file):
    logins = login.load_logins(logins_file)
    assert login.check_password(logins, "u_store_017", "correct-horse")
    assert not login.check_password(logins, "u_store_017", "correct-horsE")
    assert not login.check_password(logins, "u_nobody", "correct-horse")
    assert not login.check_password(logins, "u_store_017", "")


def test_the_file_holds_hashes_never_passwords(tmp_path):
    path = tmp_path / "logins.yaml"
    path.write_text("passwords:\n  u_hq: plaintext-password\n")
    with pytest.raises(ValueError, match="not argon2 hashes.*wb apps passwd"):
        login.load_logins(path)
    with pytest.raises(FileNotFoundError, match="wb apps passwd"):
        login.load_logins(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="at least 8"):
        login.hash_password("short")


def test_set_password_replaces_one_hash_and_keeps_the_rest(logins_file):
    login.set_password(logins_file, "u_hq", "another-secret")
    logins = login.load_logins(logins_file)
    assert login.check_password(logins, "u_hq", "another-secret")
    assert login.check_password(logins, "u_store_017", "correct-horse")
    assert "another-secret" not in logins_file.read_text()
    assert logins.oauth == {"anna@example.com": "u_region_east"}


def test_set_password_keeps_the_comments_of_the_file(tmp_path):
    path = tmp_path / "logins.yaml"
    path.write_text("# who may log in\npasswords:\n  # the boss\n  u_hq: 'x'\n\n# identities\noauth:\n  a@b.c: u_hq\n")
    login.set_password(path, "u_hq", "another-secret")
    login.set_password(path, "u_finance", "finance-secret")
    text = path.read_text()
    assert text.count("#") == 3 and text.index("u_finance") < text.index("# identities")
    logins = login.load_logins(path)
    assert login.check_password(logins, "u_hq", "another-secret") and login.check_password(logins, "u_finance",
                                                                                            "finance-secret")
    assert logins.oauth == {"a@b.c": "u_hq"}


def test_the_cookie_names_the_user_only_if_signed_with_the_secret_and_fresh():
    cookie = create_signed_value("s3cret", "user", "u_hq")
    assert login.user_from_cookie(cookie, "s3cret", timeout_min=60) == "u_hq"
    assert login.user_from_cookie(cookie, "other", timeout_min=60) is None
    forged = cookie.replace(b"8:" + base64.b64encode(b"u_hq"), b"12:" + base64.b64encode(b"u_admin"))
    assert forged != cookie and login.user_from_cookie(forged, "s3cret", timeout_min=60) is None
    assert login.user_from_cookie(None, "s3cret", timeout_min=60) is None
    old = create_signed_value("s3cret", "user", "u_hq", clock=lambda: 1_000_000.0)
    assert login.user_from_cookie(old, "s3cret", timeout_min=60) is None  # timed out


def test_oauth_identities_map_to_users_and_unmapped_ones_to_nobody(logins_file):
    logins = login.load_logins(logins_file)
    assert login.workbench_user("anna@example.com", logins) == "u_region_east"
    assert login.workbench_user("u_store_017", logins) == "u_store_017"
    assert login.workbench_user("mallory@example.com", logins) is None
    assert login.workbench_user(None, logins) is None


@pytest.mark.parametrize(("path", "page"), [("/", "home"), ("/operations", "operations"),
                                            ("/model_review/ws", "model_review"), ("/alerts?x=1", "alerts")])
def test_page_of_a_request_path(path, page):
    assert login.page_of(path) == page


def test_authorize_follows_the_role_of_the_logged_in_user(logins_file, monkeypatch):
    monkeypatch.setenv("WB_LOGINS", str(logins_file))
    apps = app_settings()
    assert apps.may_open("store_manager", "operations") and not apps.may_open("store_manager", "model_review")
    assert login.authorize({"user": "u_store_017"}, "/operations")
    assert not login.authorize({"user": "u_store_017"}, "/model_review")
    assert login.authorize({"email": "anna@example.com"}, "/finance_report")
    assert not login.authorize({"user": "mallory@example.com"}, "/home")
    assert not login.authorize(None, "/home")
    assert not login.authorize({"user": "u_store_017"}, "/no_such_app")  # deny by default


def test_cookie_secret_is_made_once_private_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("WB_APPS_COOKIE_SECRET", raising=False)
    monkeypatch.setenv("WB_APPS_DIR", str(tmp_path / "apps"))
    apps = app_settings()
    first = login.cookie_secret(apps)
    assert len(first) >= 40 and login.cookie_secret(apps) == first
    assert (apps.cookie_secret_file.stat().st_mode & 0o077) == 0
    monkeypatch.setenv("WB_APPS_COOKIE_SECRET", "from-env")
    assert login.cookie_secret(apps) == "from-env"


def test_settings_refuse_unknown_fields_and_roles(tmp_path):
    bad = tmp_path / "wb.yaml"
    bad.write_text("apps:\n  prot: 1\n")
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['prot'\]"):
        app_settings(config_file=bad)
    bad.write_text("apps:\n  pages:\n    operations: [store_manger]\n")
    with pytest.raises(ValueError, match=r"unknown role\(s\) \['store_manger'\]"):
        app_settings(config_file=bad)


def test_every_demo_person_can_log_in_and_machines_cannot():
    from workbench.config import load_settings
    from workbench.governance.policies import load_access

    logins = login.load_logins(app_settings().logins_file)
    access = load_access(load_settings().access_file)
    assert set(logins.passwords) <= set(access.users)
    machines = {u for u, info in access.users.items() if info.role in ("pipeline", "oracle", "device")}
    assert not machines & set(logins.passwords)
    people = set(access.users) - machines
    assert people == set(logins.passwords)
    assert login.check_password(logins, "u_hq", "retail-demo")
