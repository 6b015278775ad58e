"""The RFID reader driver against the simulated reader over a real socat pty pair: inventory rounds find every
tag through each kind of noise and through a disconnect in the middle of a round."""

from __future__ import annotations

import pytest

from tests.devices.conftest import needs_socat
from workbench.devices.epc import epc_of_unit
from workbench.devices.line import DeviceNotAnswering, SerialLine
from workbench.devices.ptys import PtyPair, pts_paths
from workbench.devices.rfid import RfidReader
from workbench.devices.simulators import Noise, RfidSimulator

EPCS = [epc_of_unit(sku, serial) for serial, sku in enumerate([11, 11, 12, 13, 13, 13, 20, 21] * 25)]


def _stocktake(noise: Noise | None, rounds: int = 4, epcs=EPCS):
    with RfidSimulator(epcs, noise=noise) as sim, SerialLine(sim.port, baudrate=115200) as line:
        reader = RfidReader(line)
        done = list(reader.inventory(rounds))
        return sim, line, reader, done


def _seen(done) -> set[str]:
    return {read.epc for r in done for read in r.reads}


def test_socat_announces_both_ptys():
    log = ["2026/11/24 01:17:51 socat[23394] N PTY is /dev/pts/0\n", "... N PTY is /dev/pts/7\n",
           "... N starting data transfer loop with FDs [5,5] and [7,7]\n"]
    assert pts_paths(log) == ["/dev/pts/0", "/dev/pts/7"]


@needs_socat
def test_rounds_over_a_clean_line_find_every_tag():
    sim, line, reader, done = _stocktake(None)
    assert [r.number for r in done] == [1, 2, 3, 4] and all(r.end is not None for r in done)
    assert _seen(done) == set(EPCS)
    assert sum(len(r.reads) for r in done) > len(EPCS)  # tags are read again in later rounds: the stocktake dedupes
    assert {read.antenna for r in done for read in r.reads} == {1, 2, 3, 4}
    assert all(-75 <= read.rssi_dbm < -35 for r in done for read in r.reads)
    assert reader.skipped_bytes == reader.bad_checksums == 0 and sim.rounds == 4


@needs_socat
@pytest.mark.parametrize("noise, counter", [
    (Noise(garbage=0.3, seed=1), "skipped_bytes"),
    (Noise(split=0.2, seed=2), None),
    (Noise(bad_checksum=0.2, seed=3), "bad_checksums"),
], ids=["garbage", "split", "bad-checksum"])
def test_noise_loses_no_good_read(noise, counter):
    sim, line, reader, done = _stocktake(noise)
    assert _seen(done) == set(EPCS)
    if counter:
        assert getattr(reader, counter) > 0
    assert line.reconnects == 0


@needs_socat
def test_a_disconnect_mid_round_is_survived_and_the_round_issued_again():
    sim, line, reader, done = _stocktake(Noise(disconnect_after=120, seed=5))
    assert sim.disconnects == 1 and line.reconnects == 1
    assert done[0].restarts == 1 and sim.rounds == 5       # the cut round was issued again
    assert _seen(done) == set(EPCS)


@needs_socat
def test_an_empty_field_gives_empty_rounds():
    sim, line, reader, done = _stocktake(None, rounds=2, epcs=[])
    assert [len(r.reads) for r in done] == [0, 0]


@needs_socat
def test_nothing_on_the_line_says_the_reader_is_not_answering():
    with PtyPair() as pair, SerialLine(pair.host_port) as line:
        with pytest.raises(DeviceNotAnswering, match="RFID reader.*did not finish an inventory round after 2 tries"):
            RfidReader(line, round_timeout_s=0.2, retries=2).inventory_round()
