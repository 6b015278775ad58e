"""`wb ingest`: counts and where to look; one-line errors with exit code 2; help with an example."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from workbench.cli import main

from .synth import POS_HEADERS_ZH, count_rows, pos_export, write_csv


@pytest.fixture
def run(cli_env):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["ingest", *args], env=cli_env)

    return invoke


def test_help_shows_an_example(run):
    result = run("--help")
    assert result.exit_code == 0
    assert "wb ingest --user u_admin --table pos_sales" in result.output
    assert "--dry-run" in result.output


def test_a_load_prints_counts_and_the_query_that_shows_the_bad_rows(run, settings, tmp_path):
    export = pos_export(300)
    path = write_csv(tmp_path / "pos.csv", export.rows, encoding="gb18030", headers=POS_HEADERS_ZH)
    result = run("--user", "u_admin", "--table", "pos_sales", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(rf"read\s+{len(export.rows)}\b", out)
    assert re.search(rf"loaded\s+{export.good}\b", out)
    assert re.search(rf"quarantined\s+{export.bad}\b", out)
    assert re.search(r"duplicates\s+1\b", out)
    ingest_id = re.search(r"ingest (\S+)", out).group(1)
    assert f'''wb query --user u_admin "select * from raw.quarantine where ingest_id = '{ingest_id}' order by source_row"''' in out
    assert count_rows(settings)["raw.pos_sales"] == export.good

    again = run("--user", "u_admin", "--table", "pos_sales", str(path))
    assert again.exit_code == 0
    assert re.fullmatch(rf"pos.csv: already loaded as ingest {ingest_id} on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC by u_admin; nothing added\n", again.stdout)
    assert count_rows(settings)["raw.pos_sales"] == export.good


def test_the_printed_query_works_for_the_user(run, cli_env, tmp_path):
    path = write_csv(tmp_path / "pos.csv", pos_export(60).rows, headers=POS_HEADERS_ZH)
    out = run("--user", "u_admin", "--table", "pos_sales", str(path)).stdout
    query = re.search(r'wb query --user u_admin "(.+)"', out).group(1)
    shown = CliRunner().invoke(main, ["query", "--user", "u_admin", query], env=cli_env)
    assert shown.exit_code == 0, shown.output
    assert "is not an integer" in shown.output


def test_a_dry_run_prints_counts_and_writes_nothing(run, settings, tmp_path):
    path = write_csv(tmp_path / "pos.csv", pos_export(60).rows, headers=POS_HEADERS_ZH)
    result = run("--user", "u_admin", "--table", "pos_sales", "--dry-run", str(path))
    assert result.exit_code == 0
    assert "dry run, nothing written" in result.stdout
    assert count_rows(settings) == dict.fromkeys(count_rows(settings), 0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--user", "u_admin", "--table", "sales", "{file}"], "no ingest contract for table 'sales'"),
        (["--user", "u_admin", "--table", "pos_sales", "{missing}"], "no file"),
        (["--user", "u_admin", "--table", "pos_sales", "{empty}"], "is empty"),
        (["--user", "u_admin", "--table", "traffic", "{file}"], "missing required column(s) traffic_date, visitors"),
        (["--user", "u_nobody", "--table", "pos_sales", "{file}"], "cannot open a session for 'u_nobody': unknown user"),
        (["--user", "u_analyst", "--table", "pos_sales", "{file}"], "u_analyst may not load into raw.pos_sales"),
    ],
)
def test_errors_are_one_line_exit_2_and_change_nothing(run, settings, tmp_path, args, message):
    files = {
        "file": write_csv(tmp_path / "pos.csv", pos_export(30).rows, headers=POS_HEADERS_ZH),
        "missing": tmp_path / "nope.csv",
        "empty": tmp_path / "empty.csv",
    }
    files["empty"].write_bytes(b"")
    result = run(*[a.format(**files) for a in args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert count_rows(settings) == dict.fromkeys(count_rows(settings), 0)


def test_a_raw_table_from_an_older_contract_gives_a_one_line_error(run, settings, tmp_path):
    import duckdb

    con = duckdb.connect(str(settings.warehouse))
    con.execute("create table raw.traffic (traffic_date date, store_code varchar, ingest_id varchar, source_file varchar, source_row bigint, loaded_at timestamp, run_id varchar)")
    con.close()
    path = tmp_path / "traffic.csv"
    path.write_text("日期,门店编码,客流\n2024-03-01,S001,120\n", encoding="utf-8")
    result = run("--user", "u_admin", "--table", "traffic", str(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "raw.traffic was created under an earlier contract and lacks visitors" in lines[0]
    assert "ALTER TABLE raw.traffic ADD COLUMN visitors BIGINT" in lines[0]
    assert count_rows(settings)["raw.ingest_log"] == 0
