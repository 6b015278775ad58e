"""The MT-SICS scale driver against the simulated scale over a real socat pty pair: every command, the scale's
refusals named in words, and a line with garbage, split replies, a load that takes time to settle and a
disconnect."""

from __future__ import annotations

import pytest

from tests.devices.conftest import needs_socat
from workbench.devices.line import DeviceNotAnswering, PortMissing, SerialLine
from workbench.devices.ptys import PtyPair
from workbench.devices.scale import (CommandNotUnderstood, Overload, Reply, Scale, Underload, Weight, parse_reply)
from workbench.devices.simulators import Noise, ScaleSimulator


@pytest.mark.parametrize("line, reply", [
    ("S S     100.00 g", Reply("S", "S", ("100.00", "g"))),
    ("S D      99.87 g", Reply("S", "D", ("99.87", "g"))),
    ("S +", Reply("S", "+")),
    ("ES", Reply("", "ES")),
    ('I4 A "B523108876"', Reply("I4", "A", ("B523108876",))),
    ('I0 B 0 "SI"', Reply("I0", "B", ("0", "SI"))),
    ("\x00\x13garbage", None),
    ("X Y", None),
    ('I4 A "unterminated', None),
])
def test_reply_lines_parse_and_noise_does_not(line, reply):
    assert parse_reply(line) == reply


@pytest.fixture
def scale():
    def open_scale(noise=None, **kw):
        sim = ScaleSimulator(load_g=812.5, noise=noise, **kw).start()
        line = SerialLine(sim.port)
        opened.append((sim, line))
        return sim, line, Scale(line, timeout_s=1.0)

    opened = []
    yield open_scale
    for sim, line in opened:
        line.close()
        sim.stop()


@needs_socat
def test_every_command_over_a_real_pty(scale):
    sim, _, s = scale()
    assert s.serial_number() == "B523108876"
    assert s.commands() == ["I0", "I4", "S", "SI", "Z", "T", "@"]  # a multi-line B ... A reply
    assert s.stable_weight() == Weight(812.5, "g", stable=True)
    assert s.tare() == Weight(812.5, "g", stable=True)
    sim.put(1012.5)
    assert s.weight_now() == Weight(200.0, "g", stable=True)  # net of the tare
    assert s.reset() == "B523108876"                          # @ clears the tare and answers the serial number
    assert s.stable_weight().value == 1012.5
    s.zero()
    assert s.stable_weight().value == 0.0


@needs_socat
def test_a_moving_load_reads_dynamic_then_the_stable_weight_waits_for_it(scale):
    sim, _, s = scale()
    sim.put(2400.0, settle=3)
    now = s.weight_now()
    assert not now.stable and abs(now.value - 2400.0) <= 5    # S D
    assert s.stable_weight() == Weight(2400.0, "g", stable=True)  # two S I answered, asked again


@needs_socat
def test_overload_underload_and_a_syntax_error_are_named(scale):
    sim, _, s = scale()
    sim.put(9000.0)
    with pytest.raises(Overload, match="overload: the load is above"):
        s.stable_weight()
    sim.put(1000.0)
    s.zero()
    sim.put(0.0)
    with pytest.raises(Underload, match="underload"):
        s.weight_now()
    with pytest.raises(CommandNotUnderstood, match="syntax error"):
        s.command("XP0")


@needs_socat
def test_garbage_and_split_replies_are_skipped_without_losing_a_reading(scale):
    sim, _, s = scale(Noise(garbage=0.5, split=0.5, seed=4))
    for grams in (10.0, 250.5, 999.99, 4000.0) * 5:
        sim.put(grams)
        assert s.stable_weight().value == grams
    assert s.skipped_lines > 0


@needs_socat
def test_the_driver_survives_a_disconnect_and_reconnects(scale):
    sim, line, s = scale(Noise(disconnect_after=3, seed=2))
    readings = []
    for grams in (100.0, 200.0, 300.0, 400.0, 500.0):
        sim.put(grams)
        readings.append(s.stable_weight().value)
    assert readings == [100.0, 200.0, 300.0, 400.0, 500.0]
    assert sim.disconnects == 1 and line.reconnects == 1


@needs_socat
def test_nothing_on_the_line_says_the_device_is_not_answering():
    with PtyPair() as pair, SerialLine(pair.host_port) as line:
        with pytest.raises(DeviceNotAnswering, match="did not answer 'S' after 2 tries.*switched on"):
            Scale(line, timeout_s=0.2, retries=2).stable_weight()


def test_a_missing_port_says_what_to_check(tmp_path):
    with pytest.raises(PortMissing, match="no such port.*wb devices simulate"):
        SerialLine(str(tmp_path / "ttyUSB9"), reconnect_s=0.05).open()
