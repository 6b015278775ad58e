"""``wb devices ...``: a scale reading and an RFID stocktake written through the door from the command line,
the simulator and the stocktake in two real processes, and the errors that say what to do next."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

import workbench as wb
from tests.devices.conftest import needs_socat
from workbench.cli import main
from workbench.devices.ptys import PtyPair
from workbench.devices.simulators import Noise, ScaleSimulator


def _wb(*args):
    return CliRunner().invoke(main, ["devices", *args])


@pytest.mark.parametrize("command", [[], ["scale"], ["scale", "read"], ["rfid"], ["rfid", "stocktake"],
                                     ["simulate"], ["run"], ["rfid", "check"]])
def test_every_help_has_an_example(command):
    result = _wb(*command, "--help")
    assert result.exit_code == 0 and "Example" in result.output and "wb devices" in result.output


@needs_socat
def test_a_parcel_check_is_read_and_written_as_the_device_user(warehouse):
    with ScaleSimulator(load_g=1262.0, noise=Noise(unstable=2, garbage=0.3, seed=1)) as sim:
        result = _wb("scale", "read", "--port", sim.port, "--count", "2", "--purpose", "parcel_check",
                     "--reference", "TR-0001", "--expected", "1250", "--tolerance", "20", "--format", "json")
    assert result.exit_code == 0, result.output
    with wb.session("u_admin", settings=warehouse) as s:
        rows = s.sql("select * from raw.scale_readings order by reading_no").to_pandas()
    assert rows["weight"].tolist() == [1262.0, 1262.0] and rows["within_tolerance"].all()
    assert set(rows["scale_serial"]) == {"B523108876"} and set(rows["reference"]) == {"TR-0001"}
    with wb.session("u_auditor", settings=warehouse) as s:
        log = s.table("audit_log").to_pandas()
    write = log[(log["action"] == "write") & (log["run_id"] == rows["session_id"][0])]
    assert write[["user", "entry_point", "status", "rows"]].values.tolist() == [["u_device_s001", "device", "ok", 2]]


@pytest.mark.parametrize("args, fragment", [
    (["scale", "read", "--port", "/nonexistent/ttyUSB7"], "no such port '/nonexistent/ttyUSB7'"),
    (["rfid", "stocktake", "--port", "/dev/null", "--store", "S002"], "u_device_s001 may not count S002"),
    (["simulate", "scale", "--noise", "static=1"], "unknown noise 'static'"),
])
def test_errors_say_what_to_do_next(warehouse, args, fragment):
    result = _wb(*args)
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output


@needs_socat
def test_a_silent_device_is_reported_as_not_answering(warehouse):
    with PtyPair() as pair:
        result = _wb("scale", "read", "--port", pair.host_port, "--timeout", "0.1")
    assert result.exit_code == 2 and "did not answer 'I4' after 3 tries" in result.output


def _first_line(proc: subprocess.Popen, timeout_s: float) -> str:
    """The simulator's first line on stdout (its port), waiting on the pipe, not sleeping."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            proc.kill()
            raise AssertionError(f"no port printed within {timeout_s} s: {proc.stderr.read()}")
    return proc.stdout.readline().strip()


@needs_socat
def test_simulate_and_stocktake_in_two_processes(warehouse):
    env = {**os.environ, "WB_WAREHOUSE": str(warehouse.warehouse), "WB_AUDIT_DIR": str(warehouse.audit_dir)}
    cli = [sys.executable, "-m", "workbench.cli", "devices"]
    sim = subprocess.Popen([*cli, "simulate", "rfid", "--store", "S001", "--date", "2025-12-31", "--noise",
                            "garbage=0.05,bad_checksum=0.05,split=0.05", "--seed", "3"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = _first_line(sim, 60)
        done = subprocess.run([*cli, "rfid", "stocktake", "--port", port, "--store", "S001", "--rounds", "4",
                               "--date", "2025-12-31", "--format", "json"], capture_output=True, text=True,
                              env=env, timeout=120)
    finally:
        sim.send_signal(signal.SIGINT)
        _, sim_log = sim.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    differences = json.loads(done.stdout)
    planted = json.loads(next(l for l in sim_log.splitlines() if l.startswith("planted: "))[len("planted: "):])
    assert {str(r["sku_id"]): r["missing"] for r in differences if r["missing"]} == planted["missing"]
    assert {str(r["sku_id"]): r["unexpected"] for r in differences if r["unexpected"]} == planted["unexpected"]
    assert "0 tag(s) not the chain's" in done.stderr
