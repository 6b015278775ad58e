"""The main job: `wb demo` builds the chain once, summarises it through the governed door, runs the daily pipeline
and, as the data ends on a month end, the monthly one."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import workbench as wb
from workbench.demo import HEADLINE, built_with, chain_summary

WB = str(Path(sys.executable).with_name("wb"))


def _wb_demo(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([WB, "demo", "--scale", "tiny", "--seed", "5", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, mlflow_server) -> tuple[dict[str, str], str]:
    """`wb demo` run once on an empty warehouse location, with a model name of its own: (its environment, its output)."""
    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "WB_WAREHOUSE": str(root / "warehouse.duckdb"), "WB_AUDIT_DIR": str(root / "audit"),
           "WB_RUNS_DIR": str(root / "runs"), "WB_FORECAST_MODEL": f"demo_forecast_{uuid.uuid4().hex[:8]}"}
    return env, _wb_demo(env)


@pytest.mark.slow
def test_wb_demo_builds_once_then_reuses_the_warehouse_and_the_champion(first_run):
    demo_env, first = first_run
    assert "Generating the simulated chain (tiny, seed 5)" in first
    assert "Net sales 净销售额" in first and "Stores by region" in first
    assert "no champion of demo_forecast_" in first and "version 1 promoted to champion" in first
    assert "Running the daily pipeline for 2025-12-31" in first and "all 3 steps succeeded" in first
    assert "Running the monthly pipeline for 2025-12-31" in first  # the last day ends a month
    pdfs = list(Path(demo_env["WB_RUNS_DIR"]).glob("monthly/2025-12-31/*/finance_report.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    second = _wb_demo(demo_env)
    assert "is up to date (tiny, seed 5)" in second
    assert "Generating" not in second
    assert "version 1 is the champion" in second and "all 3 steps succeeded" in second  # run again: replaced
    quick = _wb_demo(demo_env, "--no-daily")
    assert "Stores by region" in quick and "daily pipeline" not in quick


@pytest.mark.slow
def test_summary_agrees_with_the_store_rows_a_user_can_see(first_run):
    demo_env, _ = first_run
    settings = wb.load_settings(warehouse=demo_env["WB_WAREHOUSE"], audit_dir=demo_env["WB_AUDIT_DIR"])
    assert built_with(settings)["scale"] == "tiny"
    with wb.session("u_hq", settings=settings, read_only=True) as s:
        whole = chain_summary(s)
        sales = s.table("sales")
        assert whole.headline["net_sales"] == pytest.approx(sales.net_amount.sum().to_pyarrow().as_py())
    with wb.session("u_region_east", settings=settings, read_only=True) as s:
        east = chain_summary(s)
    assert set(HEADLINE) <= set(whole.headline)
    assert [r["region"] for r in east.by_region] == ["East"]
    east_in_whole = next(r for r in whole.by_region if r["region"] == "East")
    assert east.by_region[0]["net_sales"] == pytest.approx(east_in_whole["net_sales"])
    assert east.headline["net_sales"] < whole.headline["net_sales"]


def test_built_with_is_none_without_a_warehouse(tmp_path):
    settings = wb.load_settings(warehouse=tmp_path / "none.duckdb", audit_dir=tmp_path / "audit")
    assert built_with(settings) is None


def test_summary_without_a_warehouse_says_how_to_build_one(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import main

    monkeypatch.setenv("WB_WAREHOUSE", str(tmp_path / "none.duckdb"))
    result = CliRunner().invoke(main, ["summary"])
    assert result.exit_code == 2
    assert "no warehouse at" in result.output and "wb demo" in result.output and "Traceback" not in result.output


def test_demo_data_refuses_a_business_user_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import main

    monkeypatch.setenv("WB_WAREHOUSE", str(tmp_path / "w.duckdb"))
    result = CliRunner().invoke(main, ["demo-data", "--scale", "tiny", "--user", "u_store_001"])
    assert result.exit_code == 2 and "run it as an admin" in result.output
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.slow
@pytest.mark.browser
def test_wb_serve_after_the_demo_serves_every_app_to_every_demo_person(first_run, tmp_path):
    """The README's main command ends with `wb serve`: every demo person can log in, and opens their home."""
    import http.client
    from urllib.parse import urlencode

    from workbench.apps.login import load_logins
    from workbench.apps.settings import app_settings
    from workbench.config import load_settings
    from workbench.tracking.server import free_port
    from workbench.warehouse import snapshot

    demo_env, _ = first_run
    port, voila_port = free_port(), free_port()
    env = {**demo_env, "WB_APPS_DIR": str(tmp_path / "apps")}
    started = subprocess.run([WB, "serve", "--port", str(port), "--voila-port", str(voila_port)], env=env,
                             capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        out = started.stdout
        assert f"http://127.0.0.1:{port}/operations" in out and f":{voila_port}/voila/render/finance_report.ipynb" in out
        assert "MLflow UI" in out
        # the demo's pipeline runs published the apps' snapshot already: nothing newer to publish
        assert "Publishing a serving snapshot" not in out
        assert snapshot.current(load_settings(warehouse=demo_env["WB_WAREHOUSE"])) is not None
        status = subprocess.run([WB, "serve", "--status"], env=env, capture_output=True, text=True).stdout
        assert "panel" in status and "voila" in status
        for user in load_logins(app_settings().logins_file).passwords:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            con.request("POST", "/login", body=urlencode({"username": user, "password": "retail-demo"}),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
            got = con.getresponse()
            got.read()
            assert got.status == 302, user
            cookie = "; ".join(c.split(";")[0] for c in got.headers.get_all("Set-Cookie"))
            con.request("GET", "/home", headers={"Cookie": cookie})
            home = con.getresponse()
            assert home.status == 200 and b"bokeh" in home.read().lower(), user
    finally:
        stopped = subprocess.run([WB, "serve", "--stop"], env=env, capture_output=True, text=True)
    assert "panel" in stopped.stdout and "voila" in stopped.stdout
    assert "Nothing is running" in subprocess.run([WB, "serve", "--status"], env=env, capture_output=True,
                                                  text=True).stdout
