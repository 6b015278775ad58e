"""The metric registry: one definition per metric (DESIGN invariant 3).

A :class:`Metric` names the measures it needs and a formula over them. The
formula runs *after* the measures are aggregated to the requested grain, so a
ratio at region level is total over total (never an average of store ratios).
Its valid dimensions are those all of its facts support.

The basket metrics use net figures so that the sales tree holds exactly at
every grain: ``net_sales = traffic x conversion x average_ticket`` and
``average_ticket = units_per_ticket x average_selling_price``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from workbench.metrics.dimensions import DIMENSIONS
from workbench.metrics.facts import MEASURE_FACT, Fact
from workbench.metrics.stock import TRAILING_WEEKS


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num / den`` as a float; null when the denominator is 0 or null."""
    return num.cast("float64") / den.cast("float64").nullif(0)


@dataclass(frozen=True)
class Metric:
    name: str
    label_en: str
    label_zh: str
    unit: str
    definition: str
    measures: tuple[str, ...]
    formula: Callable[..., ir.Value] | None = None  # over the measures, in order; None: the one measure

    @property
    def facts(self) -> tuple[Fact, ...]:
        return tuple(dict.fromkeys(MEASURE_FACT[m] for m in self.measures))

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions this metric can be cut or filtered by."""
        return tuple(d for d, dim in DIMENSIONS.items() if all(f.supports(dim) for f in self.facts))

    def unsupported(self, names: Iterable[str]) -> list[tuple[str, Fact]]:
        """(dimension, the fact that lacks it) for each of ``names`` this metric cannot use."""
        out = []
        for name in names:
            lacking = [f for f in self.facts if not f.supports(DIMENSIONS[name])]
            if lacking:
                out.append((name, lacking[0]))
        return out

    def expr(self, table: ir.Table) -> ir.Value:
        """The metric's value over a table holding its measures at the grain."""
        cols = [table[m] for m in self.measures]
        return self.formula(*cols) if self.formula else cols[0]


def _cover(stock_units: ir.IntegerValue, units_trailing: ir.IntegerValue) -> ir.FloatingValue:
    weekly = units_trailing.cast("float64") / TRAILING_WEEKS
    # No (or net negative) recent sales: cover is unbounded, not a number.
    return (weekly > 0).ifelse(stock_units.cast("float64") / weekly, ibis.null("float64"))


def _margin(net_sales: ir.FloatingValue, cost: ir.FloatingValue) -> ir.FloatingValue:
    return net_sales - cost


_STOCK = ("Stock = on hand + in transit, qualities A and B, at the last inventory snapshot of the period "
          "(of the date range when no time dimension is asked for): stock is not summed over weeks.")

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("net_sales", "Net sales", "净销售额", "CNY",
               "Money taken on every ticket line dated in the period: sales minus returns, exchanges netted to "
               "their price difference (sum of net_amount = price paid x qty, qty negative for returns).",
               ("net_sales",)),
        Metric("gross_sales", "Gross sales", "销售额（未扣退货）", "CNY",
               "Money taken on sale lines only, before returns and exchanges (sum of net_amount where "
               "line_type = 'sale').", ("gross_sales",)),
        Metric("return_value", "Returns", "退货额", "CNY",
               "Money refunded on return lines dated in the period, as a positive amount (-sum of net_amount "
               "where line_type = 'return'). Exchanges are not returns.", ("return_value",)),
        Metric("return_rate", "Return rate", "退货率", "share of gross sales",
               "Returns / gross sales, by value, both dated in the period (a return counts when it happens, "
               "not against the month of the original sale). Exchanges are left out: the customer keeps a "
               "product and the sale stands.", ("return_value", "gross_sales"), ratio),
        Metric("units", "Units sold (net)", "净销量", "units",
               "Units on every ticket line dated in the period: sold minus returned; an exchange nets to 0.",
               ("units",)),
        Metric("tickets", "Tickets", "成交单数", "tickets",
               "Distinct tickets with at least one sale line (return-only and exchange-only tickets are not "
               "baskets). At a product grain: tickets containing that product, so they do not add up across "
               "products.", ("tickets",)),
        Metric("average_ticket", "Average ticket", "客单价", "CNY per ticket",
               "Net sales / tickets: what a basket brings in, net of the period's returns. Net figures keep the "
               "sales tree exact: net sales = traffic x conversion x average ticket.", ("net_sales", "tickets"), ratio),
        Metric("units_per_ticket", "Units per ticket (attach rate)", "连带率", "units per ticket",
               "Net units / tickets: how many pieces a basket holds (above 1: customers buy more than one). Net "
               "units, so that average ticket = units per ticket x average selling price.", ("units", "tickets"), ratio),
        Metric("average_selling_price", "Average selling price", "件单价", "CNY per unit",
               "Net sales / net units: the price actually paid per unit after discounts and returns (the tag "
               "price side is the markdown rate).", ("net_sales", "units"), ratio),
        Metric("markdown_rate", "Markdown rate", "折让率", "share of tag value",
               "Discount off the tag price / tag value: sum of discount_amount / sum of full_price x qty over "
               "every line (a returned line gives its discount back). The discount level 折扣 is 1 - markdown "
               "rate (0.8 = 8折).", ("discount", "tag_value"), ratio),
        Metric("gross_margin", "Gross margin", "毛利额", "CNY",
               "Net sales - cost of the units sold net of returns (sum of cost_amount = landed unit cost x qty).",
               ("net_sales", "cost"), _margin),
        Metric("margin_rate", "Gross margin rate", "毛利率", "share of net sales",
               "Gross margin / net sales: the share of net sales kept after the landed cost of the goods sold.",
               ("net_sales", "cost"), lambda s, c: ratio(_margin(s, c), s)),
        Metric("traffic", "Traffic", "客流", "visitors",
               "Visitors counted entering the location (sessions for the online shop), summed over the days.",
               ("traffic",)),
        Metric("conversion", "Conversion", "转化率", "share of visitors",
               "Tickets / traffic. Traffic is counted per location and day, so conversion has no product "
               "dimension.", ("tickets", "traffic"), ratio),
        Metric("net_receipts", "Net receipts (incl. in transit)", "净到货（含在途）", "units",
               "Units shipped to the locations minus units shipped out of them, by ship date (supplier "
               "receipts in, supplier returns out). Moves between locations of the same group cancel, and "
               "closing stock = opening stock + net receipts - net units sold, up to stocktake adjustments.",
               ("net_receipts",)),
        Metric("stock_units", "Closing stock", "期末库存", "units", _STOCK, ("stock_units",)),
        Metric("stock_cost", "Closing stock at cost", "期末库存成本", "CNY",
               "Closing stock x products.unit_cost (landed unit cost). " + _STOCK, ("stock_cost",)),
        Metric("average_stock_cost", "Average stock at cost", "平均库存成本", "CNY",
               "Mean over the period's inventory snapshots of stock (on hand + in transit) x unit cost; a "
               "snapshot where a location held none of the product counts as 0.", ("average_stock_cost",)),
        Metric("sell_through", "Sell-through, life to date", "累计售罄率", "share",
               "Units sold to date / (units sold to date + stock), both at the period's last inventory "
               "snapshot: net units sold from the first sale (start= does not cut them) up to that snapshot, "
               "and the stock then. The denominator is everything the group has sold or still holds, so moves "
               "between its locations cancel and no movement log or opening stock is needed at any grain; at "
               "company level it equals net receipts from suppliers less shrinkage. Units returned to the "
               "supplier leave the denominator: read it before the season's supplier return.",
               ("units_to_date", "stock_units"), lambda sold, stock: ratio(sold, sold + stock)),
        Metric("sell_through_period", "Sell-through, in the period", "期间售罄率", "share",
               "Net units sold in the period / (those units + stock at the period's last snapshot). By stock "
               "conservation the denominator equals opening stock + net receipts of the period (what was "
               "available to sell), taken from the closing snapshot so that it needs no opening snapshot "
               "aligned with the period start. Exact for weeks (snapshots are on Sundays); for a month the "
               "sales after its last Sunday are also still in the closing stock.",
               ("units", "stock_units"), lambda sold, stock: ratio(sold, sold + stock)),
        Metric("weeks_of_cover", "Weeks of cover", "可销周数", "weeks",
               f"Stock at the period's last snapshot / average weekly net units sold over the {TRAILING_WEEKS} "
               f"weeks up to that snapshot (the trailing window may start before start=). Null when those "
               f"weeks sold nothing (net).", ("stock_units", "units_trailing"), _cover),
        Metric("core_size_stockout_rate", "Core-size stock-out rate", "核心尺码缺货率", "share of checks",
               "Share of checks (location x core-size SKU of a style-colour ranged there x inventory snapshot "
               "in the period) with no sellable stock (quality A on hand <= 0).",
               ("core_size_stockouts", "core_size_checks"), ratio),
        Metric("size_break_rate", "Size-break rate", "断码率", "share of style-colours on display",
               "Share of checks (location x style-colour ranged there and on display, i.e. with sellable "
               "stock in some size, x inventory snapshot in the period) where a core size has no sellable "
               "stock. Kept per style-colour: it cannot be cut by size or SKU.",
               ("skcs_size_broken", "skcs_on_display"), ratio),
        Metric("gmroi", "GMROI", "存货毛利回报率", "CNY of margin per CNY of stock at cost",
               "Gross margin of the period / average stock at cost over the period's snapshots. For the "
               "period, not annualised: compare like periods.",
               ("net_sales", "cost", "average_stock_cost"), lambda s, c, inv: ratio(_margin(s, c), inv)),
    ]
}
