"""EPCs on the chain's tags (电子标签): SGTIN-96 to GTIN-14 and serial, and GTIN to SKU.

SGTIN-96 (GS1 EPC Tag Data Standard) packs into 96 bits: header ``0x30`` (8 bits), filter (3),
partition (3), GS1 company prefix and item reference (44 bits shared as the partition says) and the
serial (38). The item reference field starts with the GTIN's indicator digit; the GTIN-14 is
indicator + company prefix + the rest of the item reference + the GS1 check digit.

The warehouse has no GTIN column, so the chain's GTINs are defined here: indicator 0, the chain's
GS1 company prefix (:data:`COMPANY_PREFIX`, 7 digits, partition 5), the ``sku_id`` in the 5-digit item
reference. So an SKU's GTIN-13 (its barcode) is the last 13 digits, and up to 99,999 SKUs fit. The
simulator writes tags this way; a chain with real GTINs would replace :func:`sku_of` with a lookup.
All functions are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SGTIN96_HEADER", "COMPANY_PREFIX", "Sgtin", "decode_sgtin96", "encode_sgtin96", "gs1_check_digit",
           "gtin_of_sku", "sku_of", "epc_of_unit", "NotSgtin"]

SGTIN96_HEADER = 0x30
COMPANY_PREFIX = "6958888"  # fictitious: the simulated chain's GS1 company prefix (a real chain puts its own here)
FILTER_POS_ITEM = 1  # filter value 1: a point-of-sale trade item
# partition → (company prefix bits, digits, item reference bits, digits) (TDS, SGTIN partition table)
PARTITIONS = {0: (40, 12, 4, 1), 1: (37, 11, 7, 2), 2: (34, 10, 10, 3), 3: (30, 9, 14, 4),
              4: (27, 8, 17, 5), 5: (24, 7, 20, 6), 6: (20, 6, 24, 7)}


class NotSgtin(ValueError):
    """The EPC is not an SGTIN-96 (another header, a bad partition, or digits that overflow)."""


@dataclass(frozen=True)
class Sgtin:
    """A decoded SGTIN-96: filter, company prefix and item reference as digits, serial, GTIN-14."""

    filter: int
    company_prefix: str
    item_reference: str
    serial: int

    @property
    def gtin(self) -> str:
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + str(gs1_check_digit(body))


def gs1_check_digit(digits: str) -> int:
    """GS1 check digit: weights 3, 1, 3 ... from the right of the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def decode_sgtin96(epc_hex: str) -> Sgtin:
    """``3074257BF7194E4000001A85`` → Sgtin(3, "0614141", "812345", 6789) (GTIN 80614141123458)."""
    if len(epc_hex) != 24:
        raise NotSgtin(f"an SGTIN-96 is 24 hex digits, {epc_hex!r} has {len(epc_hex)}")
    try:
        value = int(epc_hex, 16)
    except ValueError:
        raise NotSgtin(f"{epc_hex!r} is not hexadecimal") from None
    if value >> 88 != SGTIN96_HEADER:
        raise NotSgtin(f"header 0x{value >> 88:02X} is not SGTIN-96 (0x30)")
    partition = (value >> 82) & 0x7
    if partition not in PARTITIONS:
        raise NotSgtin(f"partition {partition} is not defined for SGTIN-96")
    cp_bits, cp_digits, ir_bits, ir_digits = PARTITIONS[partition]
    company = (value >> (38 + ir_bits)) & ((1 << cp_bits) - 1)
    item = (value >> 38) & ((1 << ir_bits) - 1)
    if company >= 10 ** cp_digits or item >= 10 ** ir_digits:
        raise NotSgtin(f"{epc_hex}: company prefix or item reference has more digits than partition {partition} allows")
    return Sgtin((value >> 85) & 0x7, f"{company:0{cp_digits}d}", f"{item:0{ir_digits}d}", value & ((1 << 38) - 1))


def encode_sgtin96(company_prefix: str, item_reference: str, serial: int, filter_value: int = FILTER_POS_ITEM) -> str:
    """The 24 hex digits of an SGTIN-96 (the inverse of :func:`decode_sgtin96`)."""
    partition = next((p for p, v in PARTITIONS.items() if v[1] == len(company_prefix)), None)
    if partition is None or len(company_prefix) + len(item_reference) != 13 or not 0 <= serial < 1 << 38:
        raise ValueError("SGTIN-96 needs a 6-12 digit company prefix, 13 digits with the item reference, "
                         "and a serial below 2^38")
    cp_bits, _, ir_bits, _ = PARTITIONS[partition]
    value = (SGTIN96_HEADER << 88) | (filter_value << 85) | (partition << 82)
    value |= int(company_prefix) << (38 + ir_bits) | int(item_reference) << 38 | serial
    return f"{value:024X}"


def gtin_of_sku(sku_id: int, company_prefix: str = COMPANY_PREFIX) -> str:
    """The chain's GTIN-14 of an SKU (indicator 0)."""
    body = "0" + company_prefix + f"{sku_id:0{12 - len(company_prefix)}d}"
    return body + str(gs1_check_digit(body))


def sku_of(gtin: str, company_prefix: str = COMPANY_PREFIX) -> int | None:
    """The ``sku_id`` a chain GTIN-14 stands for; None for another company's or another indicator's."""
    if len(gtin) != 14 or gtin[0] != "0" or gtin[1:1 + len(company_prefix)] != company_prefix:
        return None
    return int(gtin[1 + len(company_prefix):13])


def epc_of_unit(sku_id: int, serial: int, company_prefix: str = COMPANY_PREFIX) -> str:
    """The SGTIN-96 on one unit of an SKU (what the chain's tag printer encodes)."""
    return encode_sgtin96(company_prefix, "0" + f"{sku_id:0{12 - len(company_prefix)}d}", serial)
