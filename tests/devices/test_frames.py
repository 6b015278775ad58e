"""The R2000-family framing: checksums of frames the family's manuals show, and a parser that keeps every good
frame through split reads, garbage and corrupted check bytes."""

from __future__ import annotations

import random

from workbench.devices.epc import epc_of_unit
from workbench.devices.frames import (FrameParser, ReaderError, RoundEnd, TagRead, checksum, decode_inventory, frame,
                                      is_inventory_reply, round_end_frame, tag_frame)

TAGS = [tag_frame(bytes.fromhex(epc_of_unit(sku, serial)), antenna=serial % 4 + 1, rssi_dbm=-40 - serial)
        for serial, sku in enumerate([3, 3, 8, 120, 4711])]


def test_checksums_are_twos_complement_of_the_byte_sum():
    assert frame(0x70).hex().upper() == "A0030170EC"  # reset
    assert frame(0x89, b"\x01").hex().upper() == "A004018901D1"  # real-time inventory, repeat 1
    assert checksum(bytes.fromhex("A0030170")) == 0xEC


def test_a_tag_frame_decodes_to_antenna_rssi_pc_and_epc():
    epc = epc_of_unit(42, 7)
    [f] = FrameParser().feed(tag_frame(bytes.fromhex(epc), antenna=3, rssi_dbm=-52, frequency=9))
    read = decode_inventory(f)
    assert read == TagRead(antenna=3, rssi_dbm=-52, pc=0x3000, epc=epc, frequency=9)  # PC: 6 words of EPC


def test_the_round_end_and_an_error_are_told_apart_by_length():
    [end, err] = FrameParser().feed(round_end_frame(2, read_rate=310, total_reads=1234) + frame(0x89, b"\x22"))
    assert decode_inventory(end) == RoundEnd(antenna=2, read_rate=310, total_reads=1234)
    assert decode_inventory(err) == ReaderError(0x22) and decode_inventory(err).text == "antenna missing"


def test_reply_frames_as_a_reader_sends_them():
    # a round end (antenna 1, 20 reads/s, 13 reads) and a tag read on antenna 1, frequency point 3, RSSI byte 0x52
    end = bytes.fromhex("A0 0A 01 89 00 0014 0000000D AB")
    tag = bytes.fromhex("A0 13 01 89 0C 3000 E20000152402021915207F39 52 10")
    assert round_end_frame(1, read_rate=20, total_reads=13) == end
    [e, t] = FrameParser(accept=is_inventory_reply).feed(end + tag)
    assert decode_inventory(e) == RoundEnd(antenna=1, read_rate=20, total_reads=13)
    assert decode_inventory(t) == TagRead(antenna=1, rssi_dbm=0x52 - 129, pc=0x3000, epc="E20000152402021915207F39",
                                          frequency=3)


def test_split_anywhere_every_frame_comes_out_once():
    stream = b"".join(TAGS)
    for cut in range(1, len(stream)):
        parser = FrameParser()
        frames = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert [frame(f.cmd, f.data, f.addr) for f in frames] == TAGS, cut
    parser = FrameParser()
    assert len([f for b in stream for f in parser.feed(bytes([b]))]) == len(TAGS)  # one byte at a time


def test_garbage_between_frames_is_skipped_and_counted():
    rng = random.Random(5)
    garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20))) + b"\xa0" for _ in TAGS]
    parser = FrameParser(accept=is_inventory_reply)
    frames = parser.feed(b"".join(g + t for g, t in zip(garbage, TAGS)))
    assert [frame(f.cmd, f.data, f.addr) for f in frames] == TAGS
    assert parser.skipped_bytes >= sum(map(len, garbage))


def test_a_bad_check_byte_drops_that_frame_only_and_the_parser_resynchronises():
    bad = TAGS[1][:-1] + bytes([TAGS[1][-1] ^ 0xFF])
    parser = FrameParser()
    frames = parser.feed(TAGS[0] + bad + TAGS[2])
    assert [frame(f.cmd, f.data, f.addr) for f in frames] == [TAGS[0], TAGS[2]]
    assert parser.bad_checksums >= 1


def test_a_false_head_whose_length_runs_into_the_next_frame_does_not_eat_it():
    parser = FrameParser(accept=is_inventory_reply)
    frames = parser.feed(b"\xa0\x10\x01" + TAGS[0])  # claims 16 more bytes, taking half of the real frame
    assert [frame(f.cmd, f.data, f.addr) for f in frames] == [TAGS[0]]
