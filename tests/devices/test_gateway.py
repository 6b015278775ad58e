"""The gateway (``wb devices run``): the reader's buffer protocol, the journal, the settings, and the gateway over
real pty pairs: every tag the simulated reader buffered lands in the warehouse exactly once, through noise, a
dropped line, and a gateway process killed with SIGKILL mid-session and started again."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import workbench as wb
from tests.devices.conftest import needs_socat
from workbench.devices.buffer import buffer_tag_frame, decode_buffer_tag, is_buffer_reply
from workbench.devices.epc import epc_of_unit
from workbench.devices.frames import FrameParser
from workbench.devices.gateway import run_gateway
from workbench.devices.journal import Journal, replay
from workbench.devices.settings import load_gateway, parse_gateway
from workbench.devices.simulators import Noise, RfidSimulator, shelf
from workbench.devices.stocktake import book_stock, store_of

COUNT_DATE = dt.date(2025, 12, 31)


def test_a_buffer_frame_decodes_to_its_tag_and_garbage_around_it_is_skipped():
    epc = epc_of_unit(42, 7)
    raw = buffer_tag_frame(bytes.fromhex(epc), count=3, antenna=2, rssi_dbm=-48, times_read=4)
    parser = FrameParser(accept=is_buffer_reply)
    frames = parser.feed(b"\x00\xa0\xff" + raw[:9]) + parser.feed(raw[9:] + b"\x13")
    tag = decode_buffer_tag(frames[0])
    assert (tag.epc, tag.antenna, tag.rssi_dbm, tag.times_read, tag.buffer_count) == (epc, 2, -48, 4, 3)
    assert parser.skipped_bytes >= 3


def test_the_journal_replays_to_the_open_round_and_the_unwritten_ones():
    lines = [json.dumps(r) for r in [
        {"t": "session", "session_id": "gw-S001-x", "store": "S001"},
        {"t": "open", "round": 1}, {"t": "reads", "round": 1, "reads": [{"epc": "A"}, {"epc": "B"}]},
        {"t": "closed", "round": 1}, {"t": "written", "rounds": [1]},
        {"t": "open", "round": 2}, {"t": "reads", "round": 2, "reads": [{"epc": "A"}]},
        {"t": "reads", "round": 2, "reads": [{"epc": "A"}, {"epc": "C"}]},  # fetched again after a restart
    ]] + ['{"t": "closed", "rou']  # cut short by the crash
    state = replay(lines)
    assert state.session["session_id"] == "gw-S001-x" and state.torn_lines == 1
    assert state.open_round == 2 and state.last_round == 2 and state.unwritten() == [2]
    assert sorted(state.rounds[2]) == ["A", "C"]


def test_a_journal_line_is_on_disk_when_append_returns(tmp_path):
    j = Journal(tmp_path, "r1")
    j.append({"t": "session", "session_id": "s"})
    j.append({"t": "open", "round": 1})
    assert replay((tmp_path / "r1.jsonl").read_text().splitlines()).open_round == 1
    j.close()
    (tmp_path / "r1.jsonl").open("a").write('{"t": "rea')  # a torn last line
    again = Journal(tmp_path, "r1")
    again.append({"t": "closed", "round": 1})
    assert again.state.open_round is None and again.state.torn_lines == 1


def test_settings_refuse_unknown_keys_and_fill_defaults(tmp_path):
    gw = parse_gateway({"ports": {"door": {"kind": "rfid", "port": "/dev/ttyUSB0", "store": "S001",
                                           "user": "u_device_s001"}}}, tmp_path)
    assert gw.devices[0].baud == 115200 and gw.journal == tmp_path / "data/devices/journal"
    assert load_gateway().devices == ()  # the shipped settings: no port configured, the keys all known
    with pytest.raises(ValueError, match="unknown key.s. speed in devices.ports.door"):
        parse_gateway({"ports": {"door": {"kind": "rfid", "port": "p", "store": "S001", "user": "u", "speed": 9}}},
                      tmp_path)
    with pytest.raises(ValueError, match="unknown key.s. flush in devices"):
        parse_gateway({"flush": 1}, tmp_path)
    with pytest.raises(ValueError, match="kind must be one of rfid, scale"):
        parse_gateway({"ports": {"x": {"kind": "camera", "port": "p", "store": "S001", "user": "u"}}}, tmp_path)


def _s001_shelf(settings) -> list[str]:
    with wb.session("u_device_s001", settings=settings, entry_point="device") as s:
        _, book = book_stock(s, store_of(s, "S001"), COUNT_DATE)
    return shelf(dict(zip(book["sku_id"], book["book_qty"])), foreign=1)


def _gateway(tmp_path, port: str, **extra) -> dict:
    return {"journal": str(tmp_path / "journal"), "flush_s": 0.2, "port_wait_s": 5, "warehouse_wait_s": 30,
            "ports": {"floor": {"kind": "rfid", "port": port, "store": "S001", "user": "u_device_s001", **extra}}}


def _landed(settings):
    with wb.session("u_admin", settings=settings) as s:
        return s.sql("select read_id, epc, session_id from raw.rfid_tag_reads").to_pandas()


def _assert_exactly_once(sim: RfidSimulator, reads) -> None:
    sent = collections.Counter(epc for _, epc in sim.buffered)
    got = collections.Counter(reads["epc"])
    assert reads["read_id"].is_unique
    assert got == sent and len(reads) == len(sim.buffered)


@needs_socat
def test_the_gateway_lands_every_buffered_read_once_through_noise_and_a_dropped_line(warehouse, tmp_path):
    epcs = _s001_shelf(warehouse)
    noise = Noise(garbage=0.05, split=0.05, bad_checksum=0.05, disconnect_after=len(epcs) + 20, seed=4)
    with RfidSimulator(epcs, read_chance=0.7, noise=noise) as sim:
        gw = parse_gateway(_gateway(tmp_path, sim.port), tmp_path)
        report = run_gateway(gw, rounds=5, count_date=COUNT_DATE, settings=warehouse)
    assert not report.errors and sim.disconnects == 1 and report.readers[0].reconnects >= 1
    assert report.readers[0].skipped_bytes > 0 and report.readers[0].bad_checksums > 0
    reads = _landed(warehouse)
    _assert_exactly_once(sim, reads)
    assert report.landed == len(reads) and len(report.finished) == 1
    with wb.session("u_admin", settings=warehouse) as s:
        counted = s.sql("select count(*) from raw.rfid_reads where session_id = "
                        f"'{report.finished[0]}'").to_pandas().iloc[0, 0]
    assert counted == len(epcs)  # the session's stocktake: every tag on the shelf, once
    assert not (tmp_path / "journal" / "floor.jsonl").exists() and list((tmp_path / "journal" / "done").iterdir())


def _wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a condition with a deadline
    return found


def _written_and_one_open(path: Path) -> bool:
    """Some rounds in the warehouse, one asked of the reader and not reset yet: a kill now tests both."""
    state = replay(path.read_text().splitlines()) if path.exists() else None
    return bool(state and state.written and state.open_round is not None)


@needs_socat
def test_a_gateway_killed_mid_session_resumes_and_the_warehouse_has_each_read_once(warehouse, tmp_path):
    epcs = _s001_shelf(warehouse)
    env = {**os.environ, "WB_WAREHOUSE": str(warehouse.warehouse), "WB_AUDIT_DIR": str(warehouse.audit_dir)}
    cmd = [sys.executable, "-m", "workbench.cli", "devices", "run", "--config", str(tmp_path / "gw.yaml"),
           "--rounds", "40", "--date", "2025-12-31"]
    journal = tmp_path / "journal" / "floor.jsonl"
    with RfidSimulator(epcs, read_chance=0.8, noise=Noise(garbage=0.02, seed=5)) as sim:
        (tmp_path / "gw.yaml").write_text(yaml.safe_dump({"devices": _gateway(tmp_path, sim.port)}))
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _written_and_one_open(journal), 120, "rounds written and one open")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        state = replay(journal.read_text().splitlines())
        assert first.returncode == -signal.SIGKILL and state.written and state.last_round < 40
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr
    reads = _landed(warehouse)
    _assert_exactly_once(sim, reads)
    assert reads["session_id"].nunique() == 1 and "stocktake gw-S001-" in second.stderr


def test_a_port_that_never_appears_stops_the_reader_with_a_clear_message(warehouse, tmp_path):
    gw = parse_gateway({**_gateway(tmp_path, str(tmp_path / "no-such-port")), "port_wait_s": 0.3}, tmp_path)
    report = run_gateway(gw, rounds=1, settings=warehouse)
    assert report.errors and "no such port" in report.errors[0] and "waited 0.3 s" in report.errors[0]


def test_the_bench_counts_lost_and_duplicated_reads_per_epc():
    from workbench.devices.bench import loss_and_duplicates

    assert loss_and_duplicates(["A", "A", "B"], ["A", "A", "B"], ["1", "2", "3"]) == (0, 0)
    assert loss_and_duplicates(["A", "A", "B"], ["A", "B", "B"], ["1", "2", "3"]) == (1, 1)
    assert loss_and_duplicates(["A"], ["A", "A"], ["1", "1"]) == (0, 2)  # an extra row, and a repeated read id


def test_wb_bench_devices_help_has_an_example():
    from click.testing import CliRunner

    from workbench.cli import main

    result = CliRunner().invoke(main, ["bench", "devices", "--help"])
    assert result.exit_code == 0 and "wb bench devices --tags" in result.output


def test_a_settled_weight_is_a_new_load_when_it_changed_beyond_the_noise():
    from workbench.devices.weigh_station import is_new_load

    assert is_new_load(None, 1262.0) and not is_new_load(None, 3.0)
    assert not is_new_load(1262.0, 1263.5) and is_new_load(1262.0, 830.0)


@needs_socat
def test_a_scale_on_the_gateway_writes_one_reading_per_parcel(warehouse, tmp_path):
    import threading

    from workbench.devices.simulators import ScaleSimulator

    with ScaleSimulator(load_g=1262.0, noise=Noise(unstable=2, garbage=0.2, seed=2)) as sim:
        config = _gateway(tmp_path, sim.port)
        config["ports"]["floor"].update(kind="scale", baud=9600)
        gw = parse_gateway(config, tmp_path)
        reports = []
        runner = threading.Thread(target=lambda: reports.append(run_gateway(gw, rounds=2, settings=warehouse)))
        runner.start()
        journal = tmp_path / "journal" / "floor.jsonl"
        _wait_for(lambda: journal.exists() and replay(journal.read_text().splitlines()).last_round == 1, 60,
                  "the first parcel journaled")
        sim.put(0.0)      # the parcel taken off, the next one put on and settling
        sim.put(830.0, settle=2)
        runner.join(timeout=60)
    assert reports and not reports[0].errors and len(reports[0].finished) == 1
    with wb.session("u_admin", settings=warehouse) as s:
        rows = s.sql("select * from raw.scale_readings order by reading_no").to_pandas()
    assert rows["weight"].tolist() == [1262.0, 830.0] and set(rows["session_id"]) == set(reports[0].finished)
    assert set(rows["scale_serial"]) == {"B523108876"}


def test_written_rounds_leave_memory_but_the_latest(tmp_path):
    j = Journal(tmp_path, "r1")
    j.append({"t": "session", "session_id": "s"})
    for n in (1, 2, 3):
        j.append({"t": "reads", "round": n, "reads": [{"epc": f"E{n}"}]})
    j.mark_written([1, 2])
    assert j.state.rounds == {1: {}, 2: {}, 3: {"E3": {"epc": "E3"}}} and j.state.unwritten() == [3]
    j.mark_written([3])
    j.close()
    again = Journal(tmp_path, "r1")  # replayed: the same, from the file
    assert again.state.rounds == {1: {}, 2: {}, 3: {"E3": {"epc": "E3"}}} and again.state.last_round == 3
