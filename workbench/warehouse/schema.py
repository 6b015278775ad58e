"""The warehouse's tables: names, columns and types, in the business's words.

This module is the contract between the simulator (which writes these
tables), the governed session (which hands them out), the policies (which
name their columns) and ``wb tables`` (which describes them).

Layers (DuckDB schemas / Spark databases):

- ``core``  business tables: the chain as its systems record it.
- ``raw``   files loaded by ``wb ingest``, exactly as they arrived (plus
            ``quarantine`` and ``ingest_log``). Raw data is never edited.
- ``marts`` derived tables rebuilt by pipelines.
- ``truth`` the simulator's ground truth (true demand, planted cases, hidden
            parameters). No business role may read it.
- ``ops``   how the workbench itself ran: pipeline run history. Not business data.

Keys are integers (``store_id``, ``sku_id``) because facts run to hundreds of
millions of rows; readable codes (``store_code`` ``S017``, ``sku_code``) live
in the dimension tables. Locations share one key space: the central
warehouse (DC) is a row of ``stores`` with ``store_type = 'dc'``, so stock and
movements need a single location key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.schema as sch

LAYERS = ("core", "raw", "marts", "truth", "ops")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    doc: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    layer: str
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default=())

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    def ibis_schema(self) -> sch.Schema:
        return ibis.schema({c.name: ibis.dtype(c.dtype).copy(nullable=c.nullable) for c in self.columns})

    def arrow_schema(self):
        return self.ibis_schema().to_pyarrow()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _t(layer: str, name: str, doc: str, cols: list[tuple], key: tuple[str, ...] = ()) -> TableSpec:
    return TableSpec(layer, name, doc, tuple(Column(*c) for c in cols), key)


CORE = [
    _t("core", "stores", "Locations: own stores (graded A/B/C), outlets, consignment counters (代销专柜), the online shop and the central warehouse (DC).", [
        ("store_id", "int32", "location key", False),
        ("store_code", "string", "readable code, e.g. S017; the DC is DC01", False),
        ("store_name", "string", "display name"),
        ("store_type", "string", "own | outlet | consignment | online | dc", False),
        ("grade", "string", "A | B | C for own stores, else null"),
        ("region", "string", "sales region (大区), e.g. East"),
        ("province", "string", "province"),
        ("city", "string", "city"),
        ("city_tier", "int8", "1 (Shanghai, Beijing ...) to 4"),
        ("host_department_store", "string", "department store hosting a consignment counter"),
        ("commission_rate", "float64", "share of sales kept by the host department store"),
        ("open_date", "date", "opening date"),
        ("close_date", "date", "closing date, null while open"),
        ("area_m2", "float64", "selling area in square metres"),
        ("staff_count", "int16", "headcount"),
        ("monthly_rent", "float64", "rent per month (CNY)"),
        ("monthly_staff_cost", "float64", "staff cost per month (CNY)"),
        ("capacity_units", "int32", "units the back room and floor can hold"),
        ("latitude", "float64", "latitude"),
        ("longitude", "float64", "longitude"),
    ], key=("store_id",)),
    _t("core", "suppliers", "Suppliers of finished goods.", [
        ("supplier_id", "int32", "supplier key", False),
        ("supplier_name", "string", "name"),
        ("country", "string", "country of production"),
        ("lead_time_days", "int16", "order to delivery at the DC"),
        ("return_allowance", "float64", "share of a season's order the supplier takes back"),
    ], key=("supplier_id",)),
    _t("core", "products", "The range at SKU grain: brand → category → style → colour (SKC, 款色) → size (SKU).", [
        ("sku_id", "int32", "size-level key", False),
        ("sku_code", "string", "e.g. 24SS-TS0012-BLK-M", False),
        ("skc_id", "int32", "style-colour key (款色)", False),
        ("skc_code", "string", "e.g. 24SS-TS0012-BLK"),
        ("style_id", "int32", "style key (款)", False),
        ("style_code", "string", "e.g. 24SS-TS0012"),
        ("style_name", "string", "display name"),
        ("brand", "string", "brand"),
        ("category", "string", "category, e.g. tops"),
        ("subcategory", "string", "subcategory, e.g. t-shirt"),
        ("gender", "string", "women | men | unisex"),
        ("season", "string", "e.g. 2024SS, 2024AW, or BASIC for year-round"),
        ("season_year", "int16", "year of the season"),
        ("launch_date", "date", "first day on sale"),
        ("season_end_date", "date", "planned end of full-price selling"),
        ("colour", "string", "colour name"),
        ("colour_family", "string", "dark | light | bright | neutral"),
        ("size", "string", "XS ... XXL or numeric"),
        ("size_rank", "int8", "order of the size within its run"),
        ("is_core_size", "boolean", "a core size: missing it breaks the size run (断码)"),
        ("fabric", "string", "main fabric"),
        ("thickness", "string", "thin | medium | thick"),
        ("versatility", "int8", "how many outfits it pairs with (1-5)"),
        ("occasion", "string", "casual | office | sport | party"),
        ("price_band", "string", "entry | core | premium"),
        ("full_price", "float64", "tag price (CNY)"),
        ("unit_cost", "float64", "landed unit cost (CNY)"),
        ("supplier_id", "int32", "supplier"),
        ("target_sell_through", "float64", "sell-through target at season end (售罄率目标)"),
        ("is_limited", "boolean", "limited release, subject to purchase limits"),
    ], key=("sku_id",)),
    _t("core", "assortment", "Which style-colours each location ranges, and when (the range plan).", [
        ("store_id", "int32", "location", False),
        ("skc_id", "int32", "style-colour", False),
        ("start_date", "date", "first day ranged", False),
        ("end_date", "date", "last day ranged (recall), null if open"),
    ], key=("store_id", "skc_id", "start_date")),
    _t("core", "promotions", "Promotions and retail events (618, Double 11 ...).", [
        ("promo_id", "int32", "promotion key", False),
        ("promo_name", "string", "name"),
        ("start_date", "date", "first day"),
        ("end_date", "date", "last day"),
        ("discount_pct", "float64", "extra discount off the current price"),
        ("scope", "string", "all | brand | category"),
        ("scope_value", "string", "the brand or category in scope"),
        ("channels", "string", "store | online | all"),
        ("max_discount_pct", "float64", "deepest total discount the policy allows"),
    ], key=("promo_id",)),
    _t("core", "price_changes", "Ticket-price history per style-colour: launch, markdowns, outlet prices.", [
        ("skc_id", "int32", "style-colour", False),
        ("effective_date", "date", "first day of the price", False),
        ("channel", "string", "full_price | outlet", False),
        ("price", "float64", "current selling price before promotions"),
        ("reason", "string", "launch | markdown | clearance | outlet"),
    ], key=("skc_id", "effective_date", "channel")),
    _t("core", "sales", "POS ticket lines (小票明细): sales, returns and exchanges. Returns have negative qty.", [
        ("ticket_id", "int64", "ticket (basket) key", False),
        ("line_no", "int16", "line within the ticket", False),
        ("sale_date", "date", "business day", False),
        ("sale_ts", "timestamp", "time of the ticket"),
        ("store_id", "int32", "selling location", False),
        ("sku_id", "int32", "item sold", False),
        ("skc_id", "int32", "style-colour (denormalised for speed)", False),
        ("member_id", "int64", "member, null for walk-in customers"),
        ("cashier_id", "int32", "cashier"),
        ("line_type", "string", "sale | return | exchange_out | exchange_in", False),
        ("qty", "int16", "units; negative for returns and exchange_out", False),
        ("full_price", "float64", "tag price per unit"),
        ("unit_price", "float64", "price paid per unit"),
        ("discount_amount", "float64", "(full_price - unit_price) * qty"),
        ("net_amount", "float64", "unit_price * qty"),
        ("cost_amount", "float64", "unit_cost * qty"),
        ("promo_id", "int32", "promotion applied, if any"),
        ("orig_ticket_id", "int64", "for returns and exchanges: the original ticket"),
    ], key=("ticket_id", "line_no")),
    _t("core", "payments", "Payments settled into the company's accounts, per ticket.", [
        ("ticket_id", "int64", "ticket", False),
        ("store_id", "int32", "location", False),
        ("pay_date", "date", "business day", False),
        ("method", "string", "cash | card | wechat | alipay | dept_store | points"),
        ("amount", "float64", "amount settled (negative for refunds)"),
    ], key=("ticket_id", "method")),
    _t("core", "traffic", "Daily footfall per location (online: sessions).", [
        ("traffic_date", "date", "day", False),
        ("store_id", "int32", "location", False),
        ("visitors", "int32", "people counted entering (客流)"),
    ], key=("traffic_date", "store_id")),
    _t("core", "inventory", "Stock snapshots per SKU and location at each week end (Sunday) and the last day; quality A or B (B-goods, 次品).", [
        ("snapshot_date", "date", "day of the snapshot (end of day)", False),
        ("store_id", "int32", "location", False),
        ("sku_id", "int32", "item", False),
        ("quality", "string", "A | B", False),
        ("on_hand", "int32", "units on hand"),
        ("in_transit", "int32", "units shipped to this location, not yet received"),
    ], key=("snapshot_date", "store_id", "sku_id", "quality")),
    _t("core", "out_of_stock", "Spells when a ranged SKU had no stock at a location (缺货); sales there are censored.", [
        ("store_id", "int32", "location", False),
        ("sku_id", "int32", "item", False),
        ("start_date", "date", "first day with no stock at opening", False),
        ("end_date", "date", "last day with no stock, null if still out"),
    ], key=("store_id", "sku_id", "start_date")),
    _t("core", "purchase_orders", "Orders to suppliers (the buy, 订货).", [
        ("po_id", "int64", "order line key", False),
        ("sku_id", "int32", "item", False),
        ("supplier_id", "int32", "supplier"),
        ("order_date", "date", "ordered on"),
        ("due_date", "date", "due at the DC"),
        ("qty_ordered", "int32", "units ordered"),
        ("unit_cost", "float64", "agreed unit cost"),
    ], key=("po_id",)),
    _t("core", "transfers", "Every physical movement of goods except sales: supplier receipts, allocations, replenishments, store-to-store transfers (调拨), recalls and supplier returns.", [
        ("transfer_id", "int64", "movement key", False),
        ("movement_type", "string", "supplier_receipt | initial_allocation | replenishment | store_transfer | recall | supplier_return | outlet_allocation", False),
        ("sku_id", "int32", "item", False),
        ("from_store_id", "int32", "origin location, null when from a supplier"),
        ("to_store_id", "int32", "destination location, null when to a supplier"),
        ("qty", "int32", "units", False),
        ("ship_date", "date", "left the origin", False),
        ("receive_date", "date", "arrived, null while in transit"),
        ("supplier_id", "int32", "supplier for receipts and returns"),
        ("po_id", "int64", "purchase order for supplier receipts"),
    ], key=("transfer_id",)),
    _t("core", "b_goods", "Units found defective (B-goods, 次品): at DC receipt inspection or in customer returns.", [
        ("b_goods_id", "int64", "event key", False),
        ("sku_id", "int32", "item", False),
        ("store_id", "int32", "location holding them", False),
        ("flagged_date", "date", "day flagged", False),
        ("qty", "int32", "units"),
        ("defect_type", "string", "stain | hole | missing_accessory | seam"),
        ("source", "string", "receipt_inspection | customer_return"),
    ], key=("b_goods_id",)),
    _t("core", "stock_counts", "Physical stocktakes (manual or RFID) against system stock.", [
        ("count_id", "int64", "count line key", False),
        ("count_date", "date", "day counted", False),
        ("store_id", "int32", "location", False),
        ("sku_id", "int32", "item", False),
        ("system_qty", "int32", "units the system expected"),
        ("counted_qty", "int32", "units found"),
        ("method", "string", "manual | rfid"),
    ], key=("count_id",)),
    _t("core", "members", "Loyalty members (会员). Name and phone are personal data, masked for all but admin.", [
        ("member_id", "int64", "member key", False),
        ("member_name", "string", "name (personal data)"),
        ("phone", "string", "mobile number (personal data)"),
        ("gender", "string", "F | M"),
        ("birth_year", "int16", "year of birth"),
        ("join_date", "date", "joined the programme"),
        ("home_store_id", "int32", "store where the member joined"),
        ("city", "string", "city of the home store"),
        ("tier", "string", "silver | gold | platinum"),
    ], key=("member_id",)),
    _t("core", "points_ledger", "Loyalty points earned and redeemed (积分).", [
        ("entry_id", "int64", "ledger key", False),
        ("member_id", "int64", "member", False),
        ("ticket_id", "int64", "ticket, if any"),
        ("store_id", "int32", "location"),
        ("entry_date", "date", "day"),
        ("points", "int32", "points (negative when redeemed)"),
        ("reason", "string", "earn | redeem | adjust"),
    ], key=("entry_id",)),
    _t("core", "store_costs", "Monthly operating costs per location.", [
        ("store_id", "int32", "location", False),
        ("month", "date", "first day of the month", False),
        ("rent", "float64", "rent (CNY)"),
        ("staff_cost", "float64", "staff cost (CNY)"),
        ("other_cost", "float64", "utilities and other costs (CNY)"),
    ], key=("store_id", "month")),
    _t("core", "sales_plan", "Monthly sales plan per location and brand (销售计划).", [
        ("month", "date", "first day of the month", False),
        ("store_id", "int32", "location", False),
        ("brand", "string", "brand", False),
        ("plan_net_sales", "float64", "planned net sales (CNY)"),
        ("plan_units", "int32", "planned units"),
    ], key=("month", "store_id", "brand")),
    _t("core", "consignment_settlements", "Monthly settlements from host department stores for consignment counters.", [
        ("store_id", "int32", "consignment counter", False),
        ("month", "date", "first day of the month", False),
        ("reported_sales", "float64", "sales the department store reports"),
        ("commission", "float64", "commission kept by the department store"),
        ("settled_amount", "float64", "amount paid to the company"),
    ], key=("store_id", "month")),
]

TRUTH = [
    _t("truth", "demand", "True demand per SKU, location and day before stock-outs (rows where demand or sales > 0).", [
        ("sale_date", "date", "day", False),
        ("store_id", "int32", "location", False),
        ("sku_id", "int32", "item", False),
        ("expected", "float64", "mean demand the simulator drew from"),
        ("demand", "int32", "units customers wanted"),
        ("sold", "int32", "units sold (demand censored by stock)"),
    ], key=("sale_date", "store_id", "sku_id")),
    _t("truth", "irregularities", "Planted irregularities with their labels, for scoring risk checks.", [
        ("case_id", "int64", "case key", False),
        ("kind", "string", "discount_beyond_policy | points_abuse | exchange_other_style | return_without_sale | unpaid_sale | consignment_shortfall | scalping", False),
        ("event_date", "date", "day"),
        ("store_id", "int32", "location"),
        ("ticket_id", "int64", "ticket involved, if any"),
        ("member_id", "int64", "member involved, if any"),
        ("sku_id", "int32", "item involved, if any"),
        ("amount", "float64", "money at stake (CNY)"),
        ("detail", "string", "what was planted"),
    ], key=("case_id",)),
    _t("truth", "members", "Hidden member behaviour: purchase rate, churn, true size.", [
        ("member_id", "int64", "member", False),
        ("purchase_rate", "float64", "expected purchases per week while alive"),
        ("dropout_date", "date", "day the member churned, null if still alive"),
        ("preferred_size_rank", "int8", "the member's size"),
        ("spend_level", "float64", "relative spend per ticket"),
    ], key=("member_id",)),
    _t("truth", "products", "Hidden product parameters: base demand, hot / cold, price elasticity.", [
        ("skc_id", "int32", "style-colour", False),
        ("base_rate", "float64", "base daily demand per store at full price"),
        ("hotness", "string", "hot | normal | cold"),
        ("elasticity", "float64", "price elasticity of demand"),
        ("peak_week", "float64", "week of life at peak demand"),
        ("decay", "float64", "weekly decay after the peak"),
    ], key=("skc_id",)),
    _t("truth", "looks", "Looks the merchandisers designed (搭配): pieces shown together and often bought on one "
       "ticket (simulation/outfits.py).", [
        ("look_id", "int32", "look", False),
        ("skc_id", "int32", "style-colour in the look", False),
        ("is_lead", "boolean", "the piece the look was styled around (a top, dress or outer layer)", False),
    ], key=("look_id", "skc_id")),
    _t("truth", "stores", "Hidden store parameters.", [
        ("store_id", "int32", "location", False),
        ("store_effect", "float64", "demand multiplier"),
        ("size_shift", "float64", "shift of the size curve toward larger sizes"),
        ("conversion", "float64", "share of visitors who buy"),
        ("attach", "float64", "mean units per ticket"),
    ], key=("store_id",)),
    _t("truth", "run", "How this warehouse was generated.", [
        ("key", "string", "parameter", False),
        ("value", "string", "value (JSON)"),
    ], key=("key",)),
]

# Outputs of notebooks and pipelines. Not in TABLES: the simulator does not build them; the first
# governed write creates each (from data cast to this contract), and a re-run for the same as-of
# date replaces its rows (``session.write(..., mode="replace_where", where={"as_of": day})``).
# The door appends ``run_id`` as the last column of a table it creates.
MARTS = [
    _t("marts", "forecast", "Daily demand forecast per SKU and location, P10 / P50 / P90, one set per as-of date "
       "(workbench.forecasting.output; replaced per as_of).", [
        ("as_of", "date", "last day of data the forecast was made with", False),
        ("model_version", "int32", "registered version of demand_forecast that made it"),
        ("sku_id", "int32", "item", False),
        ("store_id", "int32", "location", False),
        ("date", "date", "forecast day (as_of + 1 .. as_of + horizon)", False),
        ("p10", "float64", "10 % quantile of units demanded"),
        ("p50", "float64", "median units demanded"),
        ("p90", "float64", "90 % quantile of units demanded"),
        ("mean", "float64", "expected units demanded (as if in stock)", False),
        ("nb_size", "float64", "negative-binomial shape k (Var = mean + mean^2 / k; inf: Poisson)"),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("as_of", "sku_id", "store_id", "date")),
    *[_t("marts", name, doc + " One set per as-of date (workbench.allocation.output; replaced per as_of).", [
        ("as_of", "date", "day the plan was made after the close of", False),
        ("from_store_id", "int32", "location the units leave (the DC for replenishment)", False),
        ("to_store_id", "int32", "store the units go to", False),
        ("sku_id", "int32", "item", False),
        ("units", "int32", "units to move", False),
        ("relation", "string", "dc | same_city | same_region | cross_region (route costs)"),
        ("ship_date", "date", "day the units leave"),
        ("arrive_date", "date", "day they reach the shelf (ship date + lead time)"),
        ("expected_units_gained", "float64", "extra units expected to sell at the destination over the horizon"),
        ("expected_units_lost", "float64", "units the origin is expected to sell fewer of"),
        ("expected_margin", "float64", "expected margin gained (CNY)"),
        ("freight", "float64", "unit freight plus its share of the shipment's fixed cost (CNY)"),
        ("net_benefit", "float64", "expected margin less freight (CNY)"),
        ("strategy", "string", "what made the plan: workbench (the optimiser) or a business rule"),
        ("reason", "string", "why this move, in words a manager can approve"),
        ("status", "string", "proposed | approved | rejected (the allocation review app decides)", False),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("as_of", "from_store_id", "to_store_id", "sku_id"))
      for name, doc in (("transfer_plan", "Store-to-store transfers (调拨) proposed for the next cycle."),
                        ("replenishment_plan", "DC-to-store replenishment (补货) proposed for the next cycle."),
                        ("initial_allocation", "A new season's buy spread over the stores (铺货)."))],
    _t("marts", "consignment_write_down", "The month's consignment write-down (代销货存跌): one line per counter × "
       "SKU of quality A stock at the month end (workbench.finance.write_down; replaced per month).", [
        ("month", "date", "first day of the month written down", False),
        ("store_id", "int32", "consignment counter", False),
        ("sku_id", "int32", "item", False),
        ("units", "int32", "units on hand and on the way at the month-end snapshot", False),
        ("unit_cost", "float64", "landed unit cost (CNY)"),
        ("age_months", "int16", "season age: whole months since launch (0 for year-round seasons)"),
        ("expected_price", "float64", "ticket price in force at the month end (CNY)"),
        ("value_before", "float64", "units x unit cost (CNY)"),
        ("value_after", "float64", "the lower of the value by age and net realisable value (CNY)"),
        ("write_down", "float64", "value before - value after (CNY)"),
        ("rule", "string", "the rule that set the value: a season-age band or net realisable value"),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("month", "store_id", "sku_id")),
    _t("marts", "risk_cases", "Risk control cases (风控) per check, ranked by amount at risk, one set per period "
       "(workbench.finance.risk; replaced per period_start + period_end).", [
        ("period_start", "date", "first day the checks looked at", False),
        ("period_end", "date", "last day the checks looked at", False),
        ("check_name", "string", "the check that found the case (finance.risk in workbench.yaml)", False),
        ("rank", "int32", "1 = the largest amount at risk within the check", False),
        ("case_key", "string", "the case within its check: ticket/line, ticket, date/store/sku ...", False),
        ("event_date", "date", "day of the event"),
        ("store_id", "int32", "location"),
        ("ticket_id", "int64", "ticket involved, if any"),
        ("member_id", "int64", "member card involved, if any"),
        ("cashier_id", "int32", "cashier involved, if any"),
        ("sku_id", "int32", "item involved, if any"),
        ("amount_at_risk", "float64", "money at stake (CNY)"),
        ("evidence", "string", "what the records show, in words"),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("period_start", "period_end", "check_name", "case_key")),
    _t("marts", "b_goods_markdown", "B-goods forced markdown suggestions (次品强制降价): price, channel and "
       "expected recovery for B-goods flagged long enough ago, by the rules in finance.b_goods "
       "(workbench.finance.b_goods; replaced per as_of). No cost column, so every role that reads marts may see it.", [
        ("as_of", "date", "stock snapshot the suggestions were made on", False),
        ("store_id", "int32", "location holding the B-goods", False),
        ("sku_id", "int32", "item", False),
        ("units", "int64", "B-goods units on hand in this age band", False),
        ("flagged_from", "date", "oldest flag date of these units (FIFO over core.b_goods)"),
        ("age_months", "float64", "months since that flag"),
        ("full_price", "float64", "tag price (CNY)"),
        ("depth", "float64", "markdown off the tag price"),
        ("suggested_price", "float64", "tag price x (1 - depth), whole CNY"),
        ("channel", "string", "outlet | online"),
        ("expected_sell_through", "float64", "share of the units expected to sell at that price"),
        ("expected_recovery", "float64", "units x suggested price x expected sell-through (CNY)"),
        ("rule", "string", "the age band that set the depth"),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("as_of", "store_id", "sku_id", "flagged_from")),
]

# The members' outputs (会员营销, workbench.members.output): one set per as-of date (the scalper cases per
# period), written by the members notebook through the door. Names and phones are stored as the writer's
# session saw them (masked for every role but admin) and masked again on read for all but admin; the tables
# keyed by member carry home_store_id, so a store manager reads the members of their stores only.
_MEMBER_AS_OF = ("as_of", "date", "day the members' analyses were made at", False)
_HOME = ("home_store_id", "int32", "the member's home store (core.members): the row policy's location")
_RUN = ("run_id", "string", "run that wrote the rows (filled by the session)")
MEMBER_OUTPUTS = [
    _t("marts", "member_segments", "RFM scores and segments (RFM 客户分群) per member at an as-of date "
       "(workbench.members.rfm; replaced per as_of).", [
        _MEMBER_AS_OF, ("member_id", "int64", "member", False), _HOME,
        ("last_purchase", "date", "last purchase day in the window"),
        ("recency_days", "int64", "days since the last purchase"),
        ("frequency", "int64", "purchase days in the window"),
        ("monetary", "float64", "net spend in the window (CNY)"),
        ("r_score", "int64", "recency score 1-5 (5: most recent)"),
        ("f_score", "int64", "frequency score 1-5"),
        ("m_score", "int64", "monetary score 1-5"),
        ("fm_score", "int64", "mean of F and M, rounded half up"),
        ("rfm", "string", "the three scores, e.g. 545"),
        ("segment", "string", "named segment, e.g. Champions"),
        ("segment_zh", "string", "the segment in Chinese, e.g. 重要价值客户"),
        ("value_class", "string", "eight-way value class (重要价值客户 ... 一般挽留客户)"), _RUN,
    ], key=("as_of", "member_id")),
    _t("marts", "member_values", "Lifetime value (客户终身价值) per member at an as-of date: BG/NBD and "
       "Gamma-Gamma (workbench.members.value; replaced per as_of).", [
        _MEMBER_AS_OF, ("member_id", "int64", "member", False), _HOME,
        ("frequency", "float64", "repeat purchase days"),
        ("recency", "float64", "weeks from the first to the last purchase"),
        ("T", "float64", "weeks from the first purchase to the as-of date"),
        ("monetary", "float64", "mean spend of the repeat purchase days (CNY)"),
        ("p_alive", "float64", "probability the member is still a customer (BG/NBD)"),
        ("expected_purchases", "float64", "expected purchase days over the horizon"),
        ("expected_spend", "float64", "expected spend per purchase (Gamma-Gamma, CNY)"),
        ("clv", "float64", "discounted value over the horizon (CNY)"),
        ("months", "int32", "the horizon in months"), _RUN,
    ], key=("as_of", "member_id")),
    _t("marts", "member_calls", "Reactivation call lists (老客激活) per home store at an as-of date: what the "
       "store's staff may see (workbench.members.reactivation; replaced per as_of).", [
        _MEMBER_AS_OF, ("home_store_id", "int32", "the store that calls (the member's home store)", False),
        ("store_code", "string", "that store's code"),
        ("rank", "int32", "1 = the most value at stake on the store's list", False),
        ("member_id", "int64", "member", False),
        ("member_name", "string", "name (personal data: masked for all but admin)"),
        ("phone", "string", "mobile number (personal data: masked for all but admin)"),
        ("segment", "string", "RFM segment"), ("segment_zh", "string", "the segment in Chinese"),
        ("recency_days", "int64", "days since the last purchase"),
        ("p_alive", "float64", "probability the member is still a customer"),
        ("new_alert", "boolean", "sleeping now, not a week ago (沉睡会员预警)"),
        ("reason", "string", "why the member is on the list"),
        ("categories", "string", "favourite categories"), ("sizes", "string", "their sizes, e.g. M / 27"),
        ("price_band", "string", "their price band"),
        ("value", "float64", "spend in the tag window x P(alive) (CNY)"),
        ("opening_zh", "string", "opening line (Chinese)"), ("opening_en", "string", "opening line (English)"),
        ("products", "string", "in-stock suggestions in their size: code name (size, price); ..."), _RUN,
    ], key=("as_of", "home_store_id", "member_id")),
    _t("marts", "pairing_suggestions", "Outfit pairing suggestions (搭配推荐) per style-colour at an as-of date "
       "(workbench.members.pairing; replaced per as_of).", [
        _MEMBER_AS_OF, ("skc_id", "int32", "the style-colour asked about", False),
        ("skc_code", "string", "its code"),
        ("rank", "int32", "1 = the best suggestion", False),
        ("suggested_skc_id", "int32", "the style-colour suggested with it", False),
        ("suggested_code", "string", "its code"),
        ("source", "string", "co-purchase | tags + best sellers (the filler)"),
        ("score", "float64", "confidence x tag factor (filler: ticket share x tag factor)"),
        ("together", "int64", "tickets with both in the window"),
        ("support", "float64", "tickets with both / all tickets"),
        ("confidence", "float64", "tickets with both / tickets with the asked SKC"),
        ("lift", "float64", "confidence / the suggested SKC's share of tickets"),
        ("window_start", "date", "first day of the tickets counted"), _RUN,
    ], key=("as_of", "skc_id", "rank")),
    _t("marts", "scalper_cases", "Scalper and abuse cases on limited releases (黄牛识别) with their evidence, one "
       "set per period (workbench.members.scalpers; replaced per period_start + period_end).", [
        ("period_start", "date", "first day the rules looked at", False),
        ("period_end", "date", "last day the rules looked at", False),
        ("rule", "string", "multi_store | repeat | ineligible (members.scalpers in workbench.yaml)", False),
        ("case_key", "string", "the case within its rule: rule/members/first day/SKC", False),
        ("member_ids", "string", "the member card(s) involved"),
        ("event_date", "date", "first day of the case"), ("last_date", "date", "last day of the case"),
        ("city", "string", "city, when the case lies in one"),
        ("skc_code", "string", "the limited style-colour(s)"),
        ("stores", "int64", "stores involved"), ("tickets", "int64", "tickets involved"),
        ("units", "int64", "units bought"), ("amount", "float64", "amount paid (CNY)"),
        ("ticket_ids", "string", "the tickets, comma-separated"),
        ("evidence", "string", "what the tickets show: time, store, ticket, units, SKC, amount"), _RUN,
    ], key=("period_start", "period_end", "rule", "case_key")),
]
MARTS += MEMBER_OUTPUTS

# Decisions on the allocation plans (调拨审批), one log per plan table: `raw.<plan>_decisions` holds the
# review app's approve / reject / edit of the rows of `marts.<plan>` (workbench.allocation.approvals).
# Raw data is never edited: every decision is appended, a change of mind is a new row, and the latest
# row per move (as_of, from, to, sku) wins. Two logs, not one, so that the write grants in access.yaml
# alone say who decides which plan (the warehouse decides DC replenishment, not store transfers).
DECISION_LOGS = [
    _t("raw", f"{plan}_decisions", f"Decisions on marts.{plan}: {what}, append-only; the latest row per move "
       "wins (workbench.allocation.approvals).", [
        ("as_of", "date", "the plan's as-of date (the move's key in the plan)", False),
        ("from_store_id", "int32", "location the units leave (the move's key)", False),
        ("to_store_id", "int32", "store the units go to (the move's key)", False),
        ("sku_id", "int32", "item (the move's key)", False),
        ("plan_run_id", "string", "run_id of the plan row decided on (a re-made plan has another)"),
        ("decision", "string", "approved | rejected | edited (approved with another quantity)", False),
        ("proposed_units", "int32", "units the plan proposed", False),
        ("approved_units", "int32", "units to ship: the proposal, the edited quantity, or 0 when rejected", False),
        ("comment", "string", "why (required to reject or edit)"),
        ("decided_by", "string", "user who decided (access.yaml users)", False),
        ("decided_role", "string", "that user's role when deciding", False),
        ("decided_at", "timestamp", "when (UTC)", False),
        ("run_id", "string", "session that wrote the row (filled by the session)"),
    ], key=("as_of", "from_store_id", "to_store_id", "sku_id", "decided_at"))
    for plan, what in (("transfer_plan", "store-to-store transfers (调拨)"),
                       ("replenishment_plan", "DC replenishment (补货)"))]

# Shop-floor devices (workbench.devices): written by a store's `device` user through the door, one set per
# stocktake or weighing session (the `session_id` column, the session's run id), replaced whole when a session
# is written again, so a retried write never double-counts. Location columns keep the row policies working.
DEVICE_LOGS = [
    _t("raw", "rfid_reads", "RFID tags read in a stocktake (RFID盘点读数): one row per EPC per stocktake, its reads "
       "over the rounds deduplicated (workbench.devices.stocktake; replaced per session_id).", [
        ("session_id", "string", "the stocktake (the device session's run id)", False),
        ("count_date", "date", "day counted", False),
        ("store_id", "int32", "location counted", False),
        ("epc", "string", "the tag's EPC, 24 hex digits for an SGTIN-96", False),
        ("gtin", "string", "GTIN-14 decoded from an SGTIN-96; null for another kind of EPC"),
        ("serial", "int64", "the unit's serial number in the SGTIN"),
        ("sku_id", "int32", "item the GTIN stands for (workbench.devices.epc); null when not the chain's"),
        ("reads", "int32", "times the tag was read over the rounds", False),
        ("first_round", "int16", "round it was first read in"),
        ("last_round", "int16", "round it was last read in"),
        ("antenna", "int8", "antenna of its strongest read (1-4)"),
        ("rssi_dbm", "int16", "its strongest signal (dBm)"),
        ("reader_port", "string", "serial port of the reader"),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("session_id", "epc")),
    _t("raw", "rfid_stocktake", "An RFID stocktake's result (盘点差异): counted units per SKU against the book stock "
       "of the latest inventory snapshot: found, missing, unexpected (workbench.devices.stocktake; replaced per "
       "session_id).", [
        ("session_id", "string", "the stocktake (the device session's run id)", False),
        ("count_date", "date", "day counted", False),
        ("store_id", "int32", "location counted", False),
        ("sku_id", "int32", "item", False),
        ("book_date", "date", "inventory snapshot the book stock comes from"),
        ("book_qty", "int32", "units on hand in the books (quality A and B)", False),
        ("counted_qty", "int32", "distinct tags of the SKU read", False),
        ("found", "int32", "units both in the books and counted: min(book, counted)", False),
        ("missing", "int32", "units in the books not found (book - counted when positive)", False),
        ("unexpected", "int32", "units found the books do not hold (counted - book when positive)", False),
        ("status", "string", "match | missing | unexpected", False),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("session_id", "sku_id")),
    _t("raw", "rfid_tag_reads", "Tag reads the gateway (wb devices run) took from a reader's buffer (RFID网关读数): one "
       "row per EPC per inventory round, journaled locally first (workbench.devices.gateway; a round written again "
       "replaces itself, so read_id is unique).", [
        ("read_id", "string", "the read's stable id: device/session/round/EPC", False),
        ("session_id", "string", "the stocktake or receiving session of the store or zone", False),
        ("device", "string", "the reader's name in the devices: settings", False),
        ("zone", "string", "zone of the store the reader covers, if any"),
        ("store_id", "int32", "location read", False),
        ("round_no", "int32", "inventory round of the session, from 1", False),
        ("epc", "string", "the tag's EPC", False),
        ("gtin", "string", "GTIN-14 of an SGTIN-96; null for another kind of EPC"),
        ("serial", "int64", "the unit's serial number in the SGTIN"),
        ("sku_id", "int32", "item the GTIN stands for; null when not the chain's"),
        ("antenna", "int8", "antenna of the strongest read (1-4)"),
        ("rssi_dbm", "int16", "strongest signal (dBm)"),
        ("times_read", "int16", "times the reader read it in the round"),
        ("read_at", "timestamp", "when the gateway fetched it from the reader (UTC)", False),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("read_id",)),
    _t("raw", "rfid_shipping_checks", "Shipping / receiving checks (智能出库 / 收货核对): a carton's RFID tags against "
       "a transfer or a picking list, per SKU (workbench.devices.shipping; replaced per session_id).", [
        ("session_id", "string", "the check (the device session's run id)", False),
        ("check_date", "date", "day checked", False),
        ("store_id", "int32", "location where the carton was checked", False),
        ("direction", "string", "shipping | receiving", False),
        ("reference", "string", "what it is checked against: transfer:ID or picking_list:FILE", False),
        ("sku_id", "int32", "item; null for tags that are not the chain's"),
        ("expected_qty", "int32", "units the transfer or list holds", False),
        ("counted_qty", "int32", "distinct tags of the SKU read", False),
        ("short_qty", "int32", "units expected, not found", False),
        ("over_qty", "int32", "units found beyond those expected", False),
        ("status", "string", "matched | short | over | wrong_item", False),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("session_id", "sku_id")),
    _t("raw", "scale_readings", "Scale readings (电子秤称重): a parcel's weight check or weighed goods, with the "
       "expected weight and tolerance when there is one (workbench.devices.weighing; replaced per session_id).", [
        ("session_id", "string", "the weighing session (the device session's run id)", False),
        ("reading_no", "int32", "reading within the session, from 1", False),
        ("read_at", "timestamp", "when (UTC)", False),
        ("store_id", "int32", "location of the scale", False),
        ("purpose", "string", "parcel_check | weighed_goods | other", False),
        ("reference", "string", "what was weighed: a parcel, transfer or SKU code"),
        ("weight", "float64", "net weight read (stable)", False),
        ("unit", "string", "unit the scale reported, e.g. g", False),
        ("expected_weight", "float64", "weight it should have, if known"),
        ("tolerance", "float64", "allowed difference, same unit"),
        ("within_tolerance", "boolean", "null when there is no expected weight"),
        ("scale_serial", "string", "the scale's serial number (MT-SICS I4)"),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("session_id", "reading_no")),
]

# AI model photos (AI模特, workbench.studio): every generated image with its provenance, and the review's
# decisions on them. Both append-only (raw data is never edited): a photo is written once (its id is a hash
# of everything that made it, so generating it again adds nothing); a change of mind is a new decision row and
# the latest per photo wins. Only approved photos are for use (workbench.studio.review.photos_for_use).
STUDIO_LOGS = [
    _t("raw", "model_photos", "Generated model photos (AI模特图) with their provenance: prompt, parameters, model, "
       "seed, source product; written once per photo_id (workbench.studio.review).", [
        ("photo_id", "string", "hash of the source photo, model, prompt, parameters and seed", False),
        ("skc_code", "string", "the product (style-colour, 款色) the photo shows", False),
        ("style", "string", "model style key (studio.styles)", False),
        ("scene", "string", "scene key (studio.scenes)", False),
        ("pairing", "string", "pairing key (studio.pairings)", False),
        ("prompt", "string", "the prompt as sent to the model", False),
        ("negative_prompt", "string", "the negative prompt"),
        ("mode", "string", "inpaint (garment kept) | img2img", False),
        ("steps", "int16", "denoising steps", False),
        ("strength", "float64", "share of the source repainted", False),
        ("guidance_scale", "float64", "classifier-free guidance (0 for SD-Turbo)", False),
        ("width", "int32", "pixels", False),
        ("height", "int32", "pixels", False),
        ("seed", "int64", "the variant's seed: the same request and seed make the same image", False),
        ("variant", "int16", "variant number in its request, from 0", False),
        ("garment_share", "float64", "share of the picture kept as garment (inpaint), else null"),
        ("model_id", "string", "which weights (studio.model_id)", False),
        ("weights_dir", "string", "the weights folder used"),
        ("device", "string", "cpu | cuda:N", False),
        ("dtype", "string", "float32 | float16", False),
        ("source_image", "string", "the product photo's file name, if from a file"),
        ("source_sha256", "string", "SHA-256 of the product photo's bytes", False),
        ("image_path", "string", "the generated PNG, relative to studio.output_dir", False),
        ("image_sha256", "string", "SHA-256 of the PNG's bytes", False),
        ("created_by", "string", "user who generated it", False),
        ("created_at", "timestamp", "when (UTC)", False),
        ("run_id", "string", "session that wrote the row (filled by the session)"),
    ], key=("photo_id",)),
    _t("raw", "model_photo_decisions", "Review of generated model photos (AI模特图审核): approve or reject with a "
       "reason, append-only; the latest row per photo wins (workbench.studio.review).", [
        ("photo_id", "string", "the photo (raw.model_photos)", False),
        ("decision", "string", "approved | rejected", False),
        ("reason", "string", "why (required to reject)"),
        ("decided_by", "string", "reviewer (not the user who generated the photo)", False),
        ("decided_role", "string", "the reviewer's role when deciding", False),
        ("decided_at", "timestamp", "when (UTC)", False),
        ("run_id", "string", "session that wrote the row (filled by the session)"),
    ], key=("photo_id", "decided_at")),
]

# Returns inspection (workbench.vision): one row per returned unit inspected by machine vision (智能返货检查),
# written by the DC (warehouse role) or an inspection station (device role) through the door, replaced per
# batch_id (the session's run id) so a retried write never double-counts. defect_type uses core.b_goods's
# words, so the B-goods flow (workbench.finance.b_goods) can take the b_goods rows as flag events.
INSPECTION_LOGS = [
    _t("raw", "return_inspections", "Returned items inspected by machine vision (智能返货检查): the decision "
       "(accept | b_goods | reject), the defects found, a score per defect type and the reason "
       "(workbench.vision.output; replaced per batch_id).", [
        ("batch_id", "string", "the inspection batch (the session's run id)", False),
        ("inspection_no", "int32", "item within the batch, from 1", False),
        ("inspected_at", "timestamp", "when (UTC)", False),
        ("store_id", "int32", "location that inspected the return (the DC or a store)", False),
        ("sku_id", "int32", "item returned", False),
        ("decision", "string", "accept | b_goods (次品) | reject (not resellable)", False),
        ("defect_type", "string", "the main defect, in core.b_goods's words: stain | hole | missing_accessory; "
         "null when accepted"),
        ("defects", "string", "every defect found, comma-separated"),
        ("stain_score", "float64", "largest stain region, share of the garment's area"),
        ("hole_score", "float64", "largest hole region, share of the garment's area"),
        ("missing_accessory_score", "float64", "worst share of a declared accessory's region that differs"),
        ("reason", "string", "the decision in words"),
        ("photo_ref", "string", "where the photo is kept (a path or an object key)"),
        ("alignment", "string", "orb | silhouette: how the photo was aligned to the reference"),
        ("run_id", "string", "the session that wrote the rows (filled by the session)"),
    ], key=("batch_id", "inspection_no")),
]

# Rollups (pre-aggregations, 预聚合) the metrics layer answers dashboards from
# (workbench.metrics.preagg declares them; the daily pipeline rebuilds them, replacing each whole).
# Every rollup keeps the location (store_id), so row policies filter it like the facts; the sales
# rollups keep the cost of goods as cost_amount, which the product_cost policy hides by name.
_ROLLUP_TIME = {
    "date": ("date", "date", "business day (stock and availability: the inventory snapshot day)"),
    "week": ("week", "date", "ISO week, as the date of its Monday"),
    "month": ("month", "date", "month, as the date of its first day"),
}
_ROLLUP_PRODUCT = {"brand": "brand", "category": "category, e.g. tops", "season": "season, e.g. 2024SS"}
_ROLLUP_MEASURES = {
    "sales": [
        ("net_sales", "float64", "sum of net_amount (sales minus returns)"),
        ("units", "int64", "net units (sold minus returned)"),
        ("tickets", "int64", "distinct tickets with a sale line; in a rollup with product attributes: tickets "
                             "containing that combination (they do not add up across products)"),
        ("tag_value", "float64", "sum of full_price x qty"),
        ("discount", "float64", "sum of discount_amount"),
        ("cost_amount", "float64", "cost of goods sold net of returns (hidden like core.sales.cost_amount)"),
        ("gross_sales", "float64", "net_amount of sale lines"),
        ("return_value", "float64", "refunds of return lines, positive"),
    ],
    "stock": [("stock_units", "int64", "on hand + in transit at the snapshot (never summed over days)")],
    "receipts": [("net_receipts", "int64", "units shipped in minus shipped out, by ship date")],
    "core_sizes": [("core_size_checks", "int64", "ranged core-size SKU checks"),
                   ("core_size_stockouts", "int64", "of which with no sellable stock")],
    "display": [("skcs_on_display", "int64", "ranged style-colours with sellable stock"),
                ("skcs_size_broken", "int64", "of which with a core size out (断码)")],
}
_ROLLUP_FACT = {"sales": "core.sales", "stock": "core.inventory", "receipts": "core.transfers",
                "core_sizes": "core-size availability checks", "display": "size-run checks"}


def _rollup(name: str, fact: str, time: str, product: tuple[str, ...] = ()) -> TableSpec:
    grain = [_ROLLUP_TIME[time] + (False,), ("store_id", "int32", "location", False)]
    grain += [(p, "string", _ROLLUP_PRODUCT[p]) for p in product]
    cols = grain + _ROLLUP_MEASURES[fact] + [
        ("as_of", "date", "last day of data the rollup holds (later days are read from the facts)", False),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ]
    doc = (f"Rollup of {_ROLLUP_FACT[fact]} by {' x '.join(c[0] for c in grain)} (workbench.metrics.preagg; "
           "the whole table is replaced at each build).")
    return _t("marts", f"rollup_{name}", doc, cols, key=tuple(c[0] for c in grain))


_PRODUCT = ("brand", "category", "season")
ROLLUP_TABLES = [
    _rollup("sales_day", "sales", "date"),
    _rollup("sales_week", "sales", "week"),
    _rollup("sales_month", "sales", "month"),
    _rollup("sales_day_brand", "sales", "date", ("brand",)),
    _rollup("sales_day_category", "sales", "date", ("category",)),
    _rollup("sales_day_product", "sales", "date", _PRODUCT),
    _rollup("sales_week_product", "sales", "week", _PRODUCT),
    _rollup("sales_month_product", "sales", "month", _PRODUCT),
    _rollup("stock_snapshot", "stock", "date"),
    _rollup("stock_snapshot_product", "stock", "date", _PRODUCT),
    _rollup("receipts_day", "receipts", "date"),
    _rollup("receipts_month_product", "receipts", "month", _PRODUCT),
    _rollup("core_sizes_snapshot", "core_sizes", "date"),
    _rollup("core_sizes_snapshot_product", "core_sizes", "date", _PRODUCT),
    _rollup("display_snapshot", "display", "date"),
    _rollup("display_snapshot_product", "display", "date", _PRODUCT),
    _t("marts", "rollups", "The rollups' catalog: one line per rollup with the last day of data it holds and its "
       "size (workbench.metrics.preagg; the metrics layer reads it to choose a rollup).", [
        ("name", "string", "rollup name: the table is marts.rollup_<name>", False),
        ("fact", "string", "the fact it sums (workbench.metrics.facts)", False),
        ("grain", "string", "its columns of grain, e.g. date x store_id x brand"),
        ("as_of", "date", "last day of data it holds", False),
        ("rows", "int64", "rows written"),
        ("build_s", "float64", "seconds to compute it"),
        ("built_at", "timestamp", "when it was built (UTC)"),
        ("run_id", "string", "run that wrote the rows (filled by the session)"),
    ], key=("name",)),
]
MARTS += ROLLUP_TABLES

# Operations: written by the workbench about itself (``wb run``), one row per step attempt.
OPS = [
    _t("ops", "pipeline_runs", "Pipeline run history: one row per step attempt of `wb run` "
       "(workbench.pipelines.history; `wb runs` reads it).", [
        ("pipeline", "string", "pipeline name (pipelines/NAME.yaml)", False),
        ("step", "string", "step name", False),
        ("attempt", "int16", "1 for the first try, 2 for the first retry ...; 0 for a step skipped", False),
        ("as_of", "date", "the run's as-of date", False),
        ("status", "string", "running | succeeded | failed | killed | skipped", False),
        ("acting_user", "string", "the user the run acts as (the notebooks' sessions)", False),
        ("parameters", "string", "the notebook's resolved parameters (JSON)"),
        ("notebook", "string", "source notebook, relative to the project root"),
        ("started_at", "timestamp", "attempt start (UTC)"),
        ("ended_at", "timestamp", "attempt end (UTC), null while running"),
        ("duration_s", "float64", "seconds the attempt took"),
        ("git_commit", "string", "commit of the code that ran (git rev-parse HEAD), if known"),
        ("outputs", "string", "tables the attempt wrote, comma-separated (from the audit log)"),
        ("archive_ipynb", "string", "the executed notebook (.ipynb), also for a failed attempt"),
        ("archive_html", "string", "the executed notebook as HTML"),
        ("error", "string", "what went wrong, in one line"),
        ("pid", "int64", "process id of the runner"),
        ("run_id", "string", "the run (filled by the session)"),
    ], key=("run_id", "step", "attempt")),
]

TABLES: dict[str, TableSpec] = {t.qualified: t for t in CORE + TRUTH}
OUTPUTS: dict[str, TableSpec] = {t.qualified: t for t in MARTS}
OPERATIONS: dict[str, TableSpec] = {t.qualified: t for t in OPS}
LOGS: dict[str, TableSpec] = {t.qualified: t for t in DECISION_LOGS + DEVICE_LOGS + STUDIO_LOGS + INSPECTION_LOGS}  # raw logs the workbench writes


def spec(name: str) -> TableSpec:
    """Look a table up by ``layer.name``, or by bare name in ``core``."""
    qualified = name if "." in name else f"core.{name}"
    try:
        return {**TABLES, **OUTPUTS, **OPERATIONS, **LOGS}[qualified]
    except KeyError:
        raise KeyError(f"no table {name!r} in the warehouse schema (workbench/warehouse/schema.py)") from None
