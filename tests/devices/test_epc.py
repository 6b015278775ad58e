"""SGTIN-96 decoding on the GS1 EPC Tag Data Standard's worked example, and the chain's GTIN ↔ SKU mapping."""

from __future__ import annotations

import pytest

from workbench.devices.epc import (COMPANY_PREFIX, NotSgtin, decode_sgtin96, encode_sgtin96, epc_of_unit,
                                   gs1_check_digit, gtin_of_sku, sku_of)


def test_the_tag_data_standard_example():
    # TDS: urn:epc:tag:sgtin-96:3.0614141.812345.6789 is 3074257BF7194E4000001A85
    sgtin = decode_sgtin96("3074257BF7194E4000001A85")
    assert (sgtin.filter, sgtin.company_prefix, sgtin.item_reference, sgtin.serial) == (3, "0614141", "812345", 6789)
    # indicator 8 moves to the front; the check digit of 8061414112345 by the GS1 weights 3,1,3... is 8
    assert sgtin.gtin == "80614141123458"
    assert encode_sgtin96("0614141", "812345", 6789, filter_value=3) == "3074257BF7194E4000001A85"


def test_the_fields_sit_where_the_partition_says():
    value = int("3074257BF7194E4000001A85", 16)
    assert value >> 88 == 0x30 and (value >> 85) & 7 == 3 and (value >> 82) & 7 == 5  # header, filter, partition
    assert (value >> 58) & (2**24 - 1) == 614141 and (value >> 38) & (2**20 - 1) == 812345


@pytest.mark.parametrize("prefix", ["614141", "0614141", "06141410", "061414100", "0614141000", "06141410000",
                                    "061414100000"])
def test_every_partition_round_trips(prefix):
    item = "1234567890123"[: 13 - len(prefix)]
    sgtin = decode_sgtin96(encode_sgtin96(prefix, item, 2**38 - 1))
    assert (sgtin.company_prefix, sgtin.item_reference, sgtin.serial) == (prefix, item, 2**38 - 1)


def test_gs1_check_digits():
    assert gs1_check_digit("629104150021") == 3   # GTIN-13 6291041500213 (GS1's check digit example)
    assert gs1_check_digit("8061414112345") == 8


@pytest.mark.parametrize("epc, why", [("E2801160600002054E1C3B4F", "header 0xE2"),
                                      ("3074257BF7194E40000", "24 hex digits"),
                                      ("307C257BF7194E4000001A85", "partition 7")])
def test_other_epcs_are_refused_saying_why(epc, why):
    with pytest.raises(NotSgtin, match=why):
        decode_sgtin96(epc)


def test_the_chain_maps_its_gtins_to_skus_and_ignores_others():
    gtin = gtin_of_sku(4711)
    assert gtin == "0" + COMPANY_PREFIX + "04711" + gtin[-1] and len(gtin) == 14
    assert int(gtin[-1]) == gs1_check_digit(gtin[:-1])
    assert sku_of(gtin) == 4711
    assert sku_of("80614141123458") is None  # another company's GTIN
    assert decode_sgtin96(epc_of_unit(4711, 99)).gtin == gtin
