"""Rows of the fact tables, from the simulation's internal arrays (indices → business keys and dates)."""

from __future__ import annotations

import numpy as np

from workbench.simulation.baskets import LINE_TYPES, METHODS, POINT_REASONS, Lines, Settlement
from workbench.simulation.stock import DEFECT_SOURCES, DEFECT_TYPES, MOVEMENT_TYPES
from workbench.simulation.tables import dates, labels, money, nullable, timestamps

QUALITIES = ("A", "B")


class Keys:
    """Index → key lookups shared by all fact tables."""

    def __init__(self, store_id: np.ndarray, member_id: np.ndarray, sku_skc: np.ndarray, unit_cost: np.ndarray,
                 slot_loc: np.ndarray, slot_sku: np.ndarray, epoch_day: int):
        self.store_id = store_id
        self.member_id = member_id
        self.sku_skc = sku_skc
        self.unit_cost = unit_cost
        self.slot_loc = slot_loc
        self.slot_sku = slot_sku
        self.epoch = epoch_day

    def members(self, index: np.ndarray):
        return nullable(self.member_id[np.maximum(index, 0)] if len(self.member_id) else np.zeros(len(index), np.int64), index < 0)


def sales(day: int, lines: Lines, k: Keys) -> dict:
    x = lines
    n = len(x)
    return {
        "ticket_id": x.ticket.astype(np.int64),
        "line_no": x.line_no.astype(np.int16),
        "sale_date": dates(np.full(n, day), k.epoch),
        "sale_ts": timestamps(np.full(n, day), x.seconds, k.epoch),
        "store_id": k.store_id[x.loc],
        "sku_id": (x.sku + 1).astype(np.int32),
        "skc_id": (k.sku_skc[x.sku] + 1).astype(np.int32),
        "member_id": k.members(x.member),
        "cashier_id": x.cashier.astype(np.int32),
        "line_type": labels(x.kind, LINE_TYPES),
        "qty": x.qty.astype(np.int16),
        "full_price": x.full,
        "unit_price": money(x.price),
        "discount_amount": money((x.full - x.price) * x.qty),
        "net_amount": money(x.price * x.qty),
        "cost_amount": money(k.unit_cost[x.sku] * x.qty),
        "promo_id": nullable(x.promo.astype(np.int32), x.promo == 0),
        "orig_ticket_id": nullable(x.orig.astype(np.int64), x.orig == 0),
    }


def payments(day: int, s: Settlement, k: Keys) -> dict:
    n = len(s.pay_ticket)
    return {
        "ticket_id": s.pay_ticket.astype(np.int64),
        "store_id": k.store_id[s.pay_loc],
        "pay_date": dates(np.full(n, day), k.epoch),
        "method": labels(s.pay_method, METHODS),
        "amount": money(s.pay_amount),
    }


def points(day: int, s: Settlement, k: Keys, first_entry: int) -> dict:
    n = len(s.pt_ticket)
    return {
        "entry_id": first_entry + np.arange(n, dtype=np.int64),
        "member_id": k.member_id[s.pt_member] if n else np.zeros(0, np.int64),
        "ticket_id": s.pt_ticket.astype(np.int64),
        "store_id": k.store_id[s.pt_loc],
        "entry_date": dates(np.full(n, day), k.epoch),
        "points": s.pt_points.astype(np.int32),
        "reason": labels(s.pt_reason, POINT_REASONS),
    }


def traffic(day: int, loc: np.ndarray, visitors: np.ndarray, k: Keys) -> dict:
    return {
        "traffic_date": dates(np.full(len(loc), day), k.epoch),
        "store_id": k.store_id[loc],
        "visitors": visitors.astype(np.int32),
    }


def demand(day: int, slots: np.ndarray, expected: np.ndarray, wanted: np.ndarray, sold: np.ndarray, k: Keys) -> dict:
    keep = (wanted > 0) | (sold > 0)
    slots = slots[keep]
    return {
        "sale_date": dates(np.full(len(slots), day), k.epoch),
        "store_id": k.store_id[k.slot_loc[slots]],
        "sku_id": (k.slot_sku[slots] + 1).astype(np.int32),
        "expected": np.round(expected[keep], 4),
        "demand": wanted[keep].astype(np.int32),
        "sold": sold[keep].astype(np.int32),
    }


def inventory(day: int, snap: dict, k: Keys) -> dict:
    slots = snap["slot"]
    return {
        "snapshot_date": dates(np.full(len(slots), day), k.epoch),
        "store_id": k.store_id[k.slot_loc[slots]],
        "sku_id": (k.slot_sku[slots] + 1).astype(np.int32),
        "quality": labels(snap["quality_b"].astype(np.int8), QUALITIES),
        "on_hand": snap["on_hand"].astype(np.int32),
        "in_transit": snap["in_transit"].astype(np.int32),
    }


def transfers(moves: dict, first_id: int, last_day: int, k: Keys) -> dict:
    n = len(moves["qty"])
    no_from, no_to = moves["from_loc"] < 0, moves["to_loc"] < 0
    return {
        "transfer_id": first_id + np.arange(n, dtype=np.int64),
        "movement_type": labels(moves["type"], MOVEMENT_TYPES),
        "sku_id": (moves["sku"] + 1).astype(np.int32),
        "from_store_id": nullable(k.store_id[np.maximum(moves["from_loc"], 0)], no_from),
        "to_store_id": nullable(k.store_id[np.maximum(moves["to_loc"], 0)], no_to),
        "qty": moves["qty"].astype(np.int32),
        "ship_date": dates(moves["ship_day"], k.epoch),
        "receive_date": dates(moves["receive_day"], k.epoch, null=moves["receive_day"] > last_day),
        "supplier_id": nullable(moves["supplier"].astype(np.int32), moves["supplier"] < 0),
        "po_id": nullable(moves["po"].astype(np.int64), moves["po"] < 0),
    }


def b_goods(log: dict, first_id: int, k: Keys) -> dict:
    n = len(log["qty"])
    return {
        "b_goods_id": first_id + np.arange(n, dtype=np.int64),
        "sku_id": (log["sku"] + 1).astype(np.int32),
        "store_id": k.store_id[log["loc"]],
        "flagged_date": dates(log["day"], k.epoch),
        "qty": log["qty"].astype(np.int32),
        "defect_type": labels(log["defect"], DEFECT_TYPES),
        "source": labels(log["source"], DEFECT_SOURCES),
    }


def out_of_stock(spells: dict, first_day: int, k: Keys) -> dict:
    slots = spells["slot"]
    still_out = spells["end_day"] < 0
    return {
        "store_id": k.store_id[k.slot_loc[slots]],
        "sku_id": (k.slot_sku[slots] + 1).astype(np.int32),
        "start_date": dates(np.maximum(spells["start_day"], first_day), k.epoch),
        "end_date": dates(np.maximum(spells["end_day"], 0), k.epoch, null=still_out),
    }


def stock_counts(day: int, slots: np.ndarray, system: np.ndarray, counted: np.ndarray, method: np.ndarray,
                 first_id: int, k: Keys) -> dict:
    n = len(slots)
    return {
        "count_id": first_id + np.arange(n, dtype=np.int64),
        "count_date": dates(np.full(n, day), k.epoch),
        "store_id": k.store_id[k.slot_loc[slots]],
        "sku_id": (k.slot_sku[slots] + 1).astype(np.int32),
        "system_qty": system.astype(np.int32),
        "counted_qty": counted.astype(np.int32),
        "method": labels(method, ("manual", "rfid")),
    }
