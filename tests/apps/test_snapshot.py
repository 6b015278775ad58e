"""The serving snapshot: apps read a published copy while another process writes the warehouse (invariant 9)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest

import workbench as wb
from workbench.warehouse import snapshot

WRITER = textwrap.dedent("""
    import sys
    import pyarrow as pa
    import workbench as wb
    from workbench.config import load_settings
    s = wb.session("u_pipeline", settings=load_settings(warehouse=sys.argv[1], audit_dir=sys.argv[2]), read_only=False)
    print("holding", flush=True)
    sys.stdin.readline()                      # the test says when to write
    s.write("marts.snapshot_probe", pa.table({"note": ["written while the apps read"]}))
    s.close()
    print("done", flush=True)
""")


@pytest.fixture()
def live(tiny_settings, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_settings.warehouse, path)
    return tiny_settings.with_(warehouse=path, audit_dir=tmp_path / "audit")


def _probe_rows(session) -> int | None:
    return session.table("marts.snapshot_probe").count().execute() if session.table_exists("marts.snapshot_probe") else None


def test_before_the_first_publish_apps_read_the_live_file(live):
    assert snapshot.current(live) is None and snapshot.is_stale(live)
    assert snapshot.serving_settings(live).warehouse == live.warehouse


def test_apps_read_the_snapshot_while_another_process_writes(live):
    first = snapshot.publish(live)
    assert snapshot.current(live) == first and not snapshot.is_stale(live)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live.warehouse), str(live.audit_dir)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException, match="lock"):   # the live file is held: nobody else may open it
            duckdb.connect(str(live.warehouse), read_only=True)
        with wb.session("u_region_east", settings=snapshot.serving_settings(live), entry_point="app") as app:
            before = app.table("sales").count().execute()
            assert before > 0 and _probe_rows(app) is None
            with pytest.raises(duckdb.IOException, match="lock"):  # a publish waits for the writer, then says so
                snapshot.publish(live, wait_s=0.3)
            writer.stdin.write("write\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "done"
            assert writer.wait(timeout=60) == 0
            assert snapshot.is_stale(live)
            second = snapshot.publish(live)
            snapshot.publish(live)                    # the first snapshot is pruned while this session reads it
            assert not first.exists() and second.exists()
            assert app.table("sales").count().execute() == before and _probe_rows(app) is None
        with wb.session("u_region_east", settings=snapshot.serving_settings(live), entry_point="app") as fresh:
            assert _probe_rows(fresh) == 1
    finally:
        writer.kill()
