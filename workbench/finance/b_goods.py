"""B-goods forced markdown (次品强制降价): a price, a channel and the expected recovery for old B-goods.

Defective units (quality B in ``core.inventory``) lose value while they wait. Those flagged
(``core.b_goods.flagged_date``) at least ``min_age_months`` ago get a suggestion, by the rules in
``finance.b_goods`` of ``workbench/conf/workbench.yaml``:

- ``depth_by_age``: from which age (months since flagged) which markdown off the tag price; the
  suggested price is ``full_price × (1 − depth)``, rounded to the whole CNY;
- ``online_from_price``: a suggested price at least this sells online (worth the photos and the
  parcel), a lower one goes to the outlets;
- ``sell_through``: per channel, the share of the units expected to sell at that price.

``expected_recovery`` = units × suggested price × expected sell-through. The age of the units on hand
is FIFO over the flag events at the location (``core.b_goods``, and the returns machine vision made
B-goods: ``raw.return_inspections``), like the stock age (:func:`workbench.finance.stock_age.fifo_ages`):
the units on hand are the latest flagged; units no flag event there covers (moved after flagging) are
dated on the first snapshot, a lower bound. One row per location × SKU × depth band; pure, so the same
stock gives the same suggestions on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import ibis
import ibis.expr.types as ir

from workbench.dates import parse_day
from workbench.finance.conf import check_fields, finance_section
from workbench.finance.stock_age import fifo_ages, snapshot_on

__all__ = ["BGoodsRules", "load_rules", "rules_from", "markdown_suggestions", "b_goods_report", "flag_events",
           "write_b_goods_markdown", "MART", "CHANNELS"]

FIELDS = ("min_age_months", "depth_by_age", "online_from_price", "sell_through")
CHANNELS = ("outlet", "online")
MART = "marts.b_goods_markdown"
INSPECTIONS = "raw.return_inspections"  # the machine-vision verdicts on returns (workbench.vision.output)
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class BGoodsRules:
    min_age_months: float
    depth_by_age: tuple[tuple[float, float], ...]  # (from_months, depth), ascending
    online_from_price: float
    sell_through: tuple[tuple[str, float], ...]  # (channel, share)

    def share(self, channel: str) -> float:
        return dict(self.sell_through)[channel]


def load_rules(config_file: Path | None = None) -> BGoodsRules:
    """``finance.b_goods`` of the settings file."""
    return rules_from(finance_section("b_goods", config_file))


def rules_from(raw: Mapping[str, Any], where: str = "finance.b_goods") -> BGoodsRules:
    """The rules from their configuration; a ValueError names the field to fix."""
    check_fields(raw, FIELDS, where)
    min_age = _number(raw.get("min_age_months", 3), f"{where}.min_age_months")
    steps = raw.get("depth_by_age") or []
    try:
        depths = tuple((float(s["from_months"]), float(s["depth"])) for s in steps)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}.depth_by_age: give a list of {{from_months: M, depth: D}}, not {steps!r}") from None
    if not depths or any(b[0] <= a[0] for a, b in zip(depths, depths[1:])) or depths[0][0] > min_age:
        raise ValueError(f"{where}.depth_by_age must rise and its first from_months be at most min_age_months "
                         f"({min_age:g}), so every suggestion has a depth: {steps!r}")
    if any(not 0 <= d < 1 for _, d in depths):
        raise ValueError(f"{where}.depth_by_age: a depth is a share of the tag price from 0 to below 1: {steps!r}")
    shares = raw.get("sell_through") or {}
    if sorted(shares) != sorted(CHANNELS) or any(not 0 <= float(v) <= 1 for v in shares.values()):
        raise ValueError(f"{where}.sell_through: give a share from 0 to 1 for each of {', '.join(CHANNELS)}: {shares!r}")
    online_from = _number(raw.get("online_from_price", 0), f"{where}.online_from_price")
    return BGoodsRules(min_age, depths, online_from, tuple((c, float(shares[c])) for c in CHANNELS))


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} is a number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{where} cannot be negative: {value!r}")
    return number


def markdown_suggestions(aged: ir.Table, products: ir.Table, rules: BGoodsRules) -> ir.Table:
    """One row per ``store_id`` × ``sku_id`` × depth band of the B-goods at least ``min_age_months`` old:
    ``as_of``, ``units``, ``flagged_from`` (the oldest flag), ``age_months`` (its age), ``full_price``,
    ``depth``, ``suggested_price``, ``channel``, ``expected_sell_through``, ``expected_recovery``,
    ``rule``; ``cost_value`` too when ``products`` has ``unit_cost``.

    ``aged``: FIFO slices of quality-B stock (:func:`fifo_ages`, ``received`` = the flag date).
    """
    months = aged.age_days.cast("float64") / DAYS_PER_MONTH
    old = aged.filter(months >= rules.min_age_months).mutate(age_months=months)
    band = ibis.cases(*[(old.age_months >= m, i) for i, (m, _) in reversed(list(enumerate(rules.depth_by_age)))],
                      else_=0)
    grouped = old.mutate(band=band).group_by(as_of=old.snapshot_date, store_id=old.store_id, sku_id=old.sku_id,
                                             band=band)
    lines = grouped.aggregate(units=old.units.sum(), flagged_from=old.received.min(), age_months=old.age_months.max())
    has_cost = "unit_cost" in products.columns
    j = lines.join(products.select("sku_id", "full_price", *(["unit_cost"] if has_cost else [])), "sku_id")
    depth = ibis.cases(*[(j.band == i, d) for i, (_, d) in enumerate(rules.depth_by_age)], else_=0.0)
    price = (j.full_price * (1 - depth)).round(0).cast("float64")
    channel = (price >= rules.online_from_price).ifelse("online", "outlet")
    share = (channel == "online").ifelse(rules.share("online"), rules.share("outlet"))
    label = ibis.cases(*[(j.band == i, _band_label(rules, i)) for i in range(len(rules.depth_by_age))], else_="")
    out = j.mutate(depth=depth, suggested_price=price, channel=channel, expected_sell_through=share,
                   expected_recovery=j.units * price * share, rule=label)
    cols = ["as_of", "store_id", "sku_id", "units", "flagged_from", "age_months", "full_price", "depth",
            "suggested_price", "channel", "expected_sell_through", "expected_recovery", "rule"]
    if has_cost:
        out = out.mutate(cost_value=out.units * out.unit_cost)
        cols.append("cost_value")
    return out.select(*cols).order_by("store_id", "sku_id", "flagged_from")


def b_goods_report(session: Any, as_of: Any, rules: BGoodsRules | None = None) -> ir.Table:
    """:func:`markdown_suggestions` for the B-goods on hand at the last snapshot on or before ``as_of``,
    read through ``session`` (its scope picks the locations, its column policies whether cost shows)."""
    inventory = session.table("core.inventory")
    day = snapshot_on(inventory, as_of)
    b_stock = inventory.filter((inventory.snapshot_date == day) & (inventory.quality == "B"))
    aged = fifo_ages(b_stock, flag_events(session, day), inventory.snapshot_date.min().execute())
    return markdown_suggestions(aged, session.table("core.products"), rules or load_rules())


def flag_events(session: Any, day: Any) -> ir.Table:
    """When units were flagged B (``store_id``, ``sku_id``, ``receive_date``, ``qty``): ``core.b_goods``, and the
    returns machine vision made B-goods or rejected up to ``day`` (``raw.return_inspections``, 智能返货检查),
    where that log exists and the session may read it."""
    flags = session.table("core.b_goods")
    events = flags.select("store_id", "sku_id", receive_date=flags.flagged_date, qty=flags.qty)
    if session.config.read_decision(session.role, INSPECTIONS) is not None or not session.table_exists(INSPECTIONS):
        return events
    seen = session.table(INSPECTIONS)
    seen = seen.filter(seen.decision.isin(["b_goods", "reject"]) & (seen.inspected_at.date() <= day))
    found = seen.select("store_id", "sku_id", receive_date=seen.inspected_at.date(), qty=ibis.literal(1))
    return events.union(found.cast(events.schema()))


def write_b_goods_markdown(session: Any, as_of: Any, rules: BGoodsRules | None = None) -> int:
    """Write the suggestions to :data:`MART`, replacing those of the same as-of date; rows written.
    The mart holds no cost, so every role that reads marts may see it."""
    frame = _without_cost(b_goods_report(session, as_of, rules)).to_pandas()
    day = snapshot_on(session.table("core.inventory"), as_of)
    frame["as_of"] = day  # the snapshot the suggestions were made on
    return session.write(MART, frame, mode="replace_where", where={"as_of": day})


def _without_cost(t: ir.Table) -> ir.Table:
    return t.drop("cost_value") if "cost_value" in t.columns else t


def _band_label(rules: BGoodsRules, band: int) -> str:
    start, depth = rules.depth_by_age[band]
    end = f"-{rules.depth_by_age[band + 1][0]:g}" if band + 1 < len(rules.depth_by_age) else "+"
    return f"flagged {start:g}{end} months ago: {depth:.0%} off"
