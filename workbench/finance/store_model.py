"""Store opening and closing (开店 / 关店评估): what a store should sell and earn, and which to close.

Three questions, one monthly panel per store (:func:`store_month_panel`, read through the door):

- **What should a mature store of this kind sell and earn?** :func:`fit_store_model` fits two ridge
  regressions (regularised linear models, so every effect can be read off) on the store's attributes
  (store_type, grade, city_tier, region: categories; area_m2, staff_count, monthly_rent: numbers):
  one of log monthly net sales (an effect reads "+x % per m²"), one of monthly contribution (CNY). The
  target is the store's mature level: months at least ``mature_after_months`` after opening, net sales
  divided by the chain's seasonal index (month-of-year index of the mature stores, mean 1), so stores
  seen over different months compare. Validated by leave-one-store-out against the chain average.
- **How did a new store ramp up?** :func:`actual_vs_predicted`: for each store opened inside the panel,
  month by month since opening, actual against the level a model fitted without that store predicts
  (× seasonal index × share of the month open).
- **Which stores should close?** :mod:`workbench.finance.store_closing`: contribution negative in each of
  the last ``negative_months`` months, and a damped linear trend that does not bring it back to zero
  within ``forecast_months``.

Contribution (贡献) = net sales − cost of goods − rent − staff − other costs (``core.store_costs``) − the
host department store's commission on a counter's sales (``commission_rate`` × net sales).

Settings: ``finance.store_model`` of ``workbench/conf/workbench.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import ibis
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from workbench.finance.conf import check_fields, finance_section
from workbench.finance.period import first_of_month

__all__ = ["StoreModelSettings", "load_settings", "settings_from", "store_month_panel", "store_attributes",
           "StoreModel", "fit_store_model", "actual_vs_predicted", "checked_panel",
           "CATEGORIES", "NUMBERS", "PANEL_COLUMNS"]

CATEGORIES = ("store_type", "grade", "city_tier", "region")
NUMBERS = ("area_m2", "staff_count", "monthly_rent")
PANEL_COLUMNS = ("store_id", "store_type", "month", "net_sales", "cogs", "commission", "rent", "staff_cost",
                 "other_cost", "contribution")
ATTRIBUTES = ("store_id", "store_code", *CATEGORIES, *NUMBERS, "open_date", "close_date")


@dataclass(frozen=True)
class StoreModelSettings:
    store_types: tuple[str, ...] = ("own", "outlet", "consignment")  # physical stores with attributes
    mature_after_months: int = 12    # months after opening before a store counts as mature
    ridge_alpha: float = 1.0         # ridge penalty on standardised attributes
    negative_months: int = 6         # contribution negative in each of the last N months …
    trend_months: int = 12           # … and a damped trend fitted on the last M months …
    forecast_months: int = 6         # … stays negative over the next H months: suggest closing
    damping: float = 0.8             # φ of the damped trend, 0 < φ ≤ 1

    def __post_init__(self):
        where = "finance.store_model"
        for name in ("negative_months", "trend_months", "forecast_months"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{where}.{name} must be a whole number of months, at least 1: {getattr(self, name)}")
        if self.trend_months < 2:
            raise ValueError(f"{where}.trend_months must be at least 2 to fit a trend: {self.trend_months}")
        if self.mature_after_months < 0:
            raise ValueError(f"{where}.mature_after_months must be 0 or more: {self.mature_after_months}")
        if not 0 < self.damping <= 1:
            raise ValueError(f"{where}.damping is the trend's monthly fade φ, above 0 and at most 1: {self.damping}")
        if self.ridge_alpha < 0:
            raise ValueError(f"{where}.ridge_alpha must be 0 or more: {self.ridge_alpha}")
        if not self.store_types:
            raise ValueError(f"{where}.store_types: name at least one store type, e.g. [own, outlet, consignment]")


def settings_from(raw: Mapping[str, Any]) -> StoreModelSettings:
    """The settings from ``finance.store_model``; a ValueError names the field to fix."""
    check_fields(raw, tuple(f.name for f in fields(StoreModelSettings)), "finance.store_model")
    values = dict(raw)
    if "store_types" in values:
        values["store_types"] = tuple(values["store_types"] or ())
    for name in ("mature_after_months", "negative_months", "trend_months", "forecast_months"):
        if name in values and (isinstance(values[name], bool) or not float(values[name]).is_integer()):
            raise ValueError(f"finance.store_model.{name} must be a whole number of months: {values[name]!r}")
        if name in values:
            values[name] = int(values[name])
    return StoreModelSettings(**values)


def load_settings(config_file: Path | None = None) -> StoreModelSettings:
    """``finance.store_model`` of the settings file (``WB_CONFIG``); defaults where it is absent."""
    return settings_from(finance_section("store_model", config_file, required=False))


# --- reading: the monthly panel and the attributes, through the governed session ----------------------------

def store_month_panel(session, start=None, end=None) -> pd.DataFrame:
    """Per store and month (first day) in ``start`` .. ``end``: net sales, cost of goods, commission, costs
    and contribution (:data:`PANEL_COLUMNS`). Summed in the engine; raises when the period has no data."""
    sales = session.table("core.sales")
    if "cost_amount" not in sales.columns:
        raise PermissionError(f"user {session.user.name!r} may not see core.sales.cost_amount: contribution "
                              "needs the cost of goods; run the store model as finance")
    sold = sales.mutate(month=sales.sale_date.truncate("M").cast("date")).group_by(["store_id", "month"]).aggregate(
        net_sales=sales.net_amount.sum(), cogs=sales.cost_amount.sum())
    costs = session.table("core.store_costs")
    costs = costs.select("store_id", month=costs.month.cast("date"), rent=costs.rent,
                         staff_cost=costs.staff_cost, other_cost=costs.other_cost)
    both = sold.outer_join(costs, ["store_id", "month"])
    both = both.select(store_id=ibis.coalesce(both.store_id, both.store_id_right),
                       month=ibis.coalesce(both.month, both.month_right),
                       **{c: both[c].fill_null(0.0) for c in ("net_sales", "cogs", "rent", "staff_cost", "other_cost")})
    both = both.view()  # a fresh relation: the join below must not see the outer join's two sides
    stores = session.table("core.stores").select("store_id", "store_type", "commission_rate")
    panel = both.join(stores, "store_id")
    rate = (panel.store_type == "consignment").ifelse(panel.commission_rate.fill_null(0.0), 0.0)
    panel = panel.mutate(commission=panel.net_sales * rate)
    if start is not None:
        panel = panel.filter(panel.month >= first_of_month(start))
    if end is not None:
        panel = panel.filter(panel.month <= first_of_month(end))
    frame = panel.order_by(["store_id", "month"]).to_pandas()
    if frame.empty:
        raise ValueError(f"no sales or store costs you may see for {start or 'the start'} .. {end or 'the end'}: "
                         "pick a period inside the data")
    frame["month"] = pd.to_datetime(frame["month"])
    frame["contribution"] = frame["net_sales"] - frame["cogs"] - frame["commission"] - frame["rent"] \
        - frame["staff_cost"] - frame["other_cost"]
    return frame[list(PANEL_COLUMNS)].reset_index(drop=True)


def store_attributes(session) -> pd.DataFrame:
    """The stores' attributes the model uses, with opening and closing dates (:data:`ATTRIBUTES`)."""
    return session.table("core.stores").select(*ATTRIBUTES).order_by("store_id").to_pandas()


# --- the model ---------------------------------------------------------------------------------------------

@dataclass
class StoreModel:
    """Fitted models of a mature store's monthly net sales (log) and contribution from its attributes."""
    sales_model: Pipeline
    contribution_model: Pipeline
    seasonal_index: pd.Series     # month of year (1-12) → the chain's sales index, mean 1
    levels: pd.DataFrame          # the mature stores fitted: attributes, sales_level, contribution_level
    coefficients: pd.DataFrame    # target, feature, value, effect (log sales or CNY per unit or vs the base)
    validation: pd.DataFrame      # leave-one-store-out: per store, actual and predicted; attrs["summary"]
    settings: StoreModelSettings

    def predict(self, stores: pd.DataFrame) -> pd.DataFrame:
        """``predicted_sales`` (a mature month, seasonally average) and ``predicted_contribution`` per store."""
        x = _features(stores)
        return stores[["store_id"]].assign(predicted_sales=np.exp(self.sales_model.predict(x)),
                                           predicted_contribution=self.contribution_model.predict(x))


def fit_store_model(panel: pd.DataFrame, stores: pd.DataFrame,
                    settings: StoreModelSettings | None = None) -> StoreModel:
    """Fit the mature-store models on ``panel`` (:func:`store_month_panel`) and ``stores``
    (:func:`store_attributes`), validated by leave-one-store-out."""
    settings = settings or StoreModelSettings()
    months = _full_months(checked_panel(panel), _checked_stores(stores), settings)
    mature = months[months["months_open"] >= settings.mature_after_months]
    index = _seasonal_index(mature)
    levels = _levels(mature, index, stores)
    if len(levels) < 3:
        raise ValueError(f"only {len(levels)} mature store(s) of types {list(settings.store_types)} with sales "
                         f"in the panel (mature: {settings.mature_after_months}+ months open): need at least 3")
    sales_model, contribution_model = _fit(levels, settings)
    return StoreModel(sales_model, contribution_model, index, levels,
                      _coefficients(sales_model, contribution_model), _leave_one_store_out(levels, settings), settings)


def actual_vs_predicted(model: StoreModel, panel: pd.DataFrame, stores: pd.DataFrame) -> pd.DataFrame:
    """Month by month since opening, for each store of the model's types opened inside the panel: actual net
    sales and contribution against the mature level predicted by a model fitted without that store.

    ``ramp_up`` = actual / predicted sales (1 = a mature store's level). The prediction is the level ×
    the month's seasonal index × the share of the month the store was open.
    """
    panel, stores = checked_panel(panel), _checked_stores(stores)
    first, last = panel["month"].min(), panel["month"].max() + pd.offsets.MonthEnd(0)
    opened = pd.to_datetime(stores["open_date"])
    new = stores[opened.between(first, last) & stores["store_type"].isin(model.settings.store_types)]
    rows = []
    for store in new.itertuples(index=False):
        others = model.levels[model.levels["store_id"] != store.store_id]
        sales_model, contribution_model = _fit(others, model.settings)
        x = _features(pd.DataFrame([store._asdict()]))
        level, contribution = float(np.exp(sales_model.predict(x))[0]), float(contribution_model.predict(x)[0])
        own = panel[panel["store_id"] == store.store_id].copy()
        open_day = pd.Timestamp(store.open_date)
        own = own[own["month"] >= open_day.replace(day=1)]
        share = _open_share(own["month"], open_day, store.close_date)
        own["months_since_opening"] = _months_between(open_day.replace(day=1), own["month"])
        own["share_of_month_open"] = share
        own["predicted_sales"] = level * own["month"].dt.month.map(model.seasonal_index).fillna(1.0) * share
        own["predicted_contribution"] = contribution * share
        own["ramp_up"] = own["net_sales"] / own["predicted_sales"].where(own["predicted_sales"] > 0)
        rows.append(own.assign(store_code=store.store_code, open_date=open_day.date()))
    columns = ["store_id", "store_code", "open_date", "month", "months_since_opening", "share_of_month_open",
               "net_sales", "predicted_sales", "ramp_up", "contribution", "predicted_contribution"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


# --- helpers ------------------------------------------------------------------------------------------------

def checked_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with its month as a timestamp; a ValueError names the columns it lacks."""
    missing = [c for c in ("store_id", "month", "net_sales", "contribution") if c not in panel.columns]
    if missing:
        raise ValueError(f"the store panel lacks the columns {missing}: make it with store_month_panel")
    if panel.empty:
        raise ValueError("the store panel is empty: no data for the period")
    if panel.duplicated(["store_id", "month"]).any():
        raise ValueError("the store panel repeats a store × month: give one row each")
    return panel.assign(month=pd.to_datetime(panel["month"]))


def _checked_stores(stores: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ATTRIBUTES if c not in stores.columns]
    if missing:
        raise ValueError(f"the store attributes lack the columns {missing}: make them with store_attributes")
    return stores


def _months_between(first: pd.Timestamp, months: pd.Series) -> pd.Series:
    return (months.dt.year - first.year) * 12 + (months.dt.month - first.month)


def _open_share(months: pd.Series, open_day: pd.Timestamp, close_day) -> pd.Series:
    """Share of each month's days the store was open (the opening and closing months are partial)."""
    ends = months + pd.offsets.MonthEnd(0)
    start = months.where(months > open_day, open_day)
    stop = ends if pd.isna(close_day) else ends.where(ends < pd.Timestamp(close_day), pd.Timestamp(close_day))
    days = (stop - start).dt.days + 1
    return (days.clip(lower=0) / months.dt.days_in_month).astype(float)


def _full_months(panel: pd.DataFrame, stores: pd.DataFrame, settings: StoreModelSettings) -> pd.DataFrame:
    """The panel's months in which a store of the model's types was open all month, with months open."""
    s = stores[stores["store_type"].isin(settings.store_types)]
    rows = panel.merge(s[["store_id", "open_date", "close_date"]], on="store_id")
    opened = pd.to_datetime(rows["open_date"])
    closed = pd.to_datetime(rows["close_date"])
    whole = (rows["month"] >= opened) & (closed.isna() | (closed > rows["month"] + pd.offsets.MonthEnd(0)))
    rows["months_open"] = (rows["month"].dt.year - opened.dt.year) * 12 + (rows["month"].dt.month - opened.dt.month)
    return rows[whole & (rows["net_sales"] > 0)].copy()


def _seasonal_index(mature: pd.DataFrame) -> pd.Series:
    """Month of year → mean of the mature stores' sales relative to their own mean; rescaled to mean 1."""
    if mature.empty:
        return pd.Series(1.0, index=range(1, 13))
    relative = mature["net_sales"] / mature.groupby("store_id")["net_sales"].transform("mean")
    index = relative.groupby(mature["month"].dt.month).mean()
    return (index / index.mean()).reindex(range(1, 13)).fillna(1.0)


def _levels(mature: pd.DataFrame, index: pd.Series, stores: pd.DataFrame) -> pd.DataFrame:
    deseasoned = mature.assign(level=mature["net_sales"] / mature["month"].dt.month.map(index))
    levels = deseasoned.groupby("store_id").agg(sales_level=("level", "mean"),
                                                contribution_level=("contribution", "mean"),
                                                months=("month", "size")).reset_index()
    return stores[list(ATTRIBUTES)].merge(levels, on="store_id")


def _features(stores: pd.DataFrame) -> pd.DataFrame:
    x = stores[list(CATEGORIES) + list(NUMBERS)].copy()
    for c in CATEGORIES:  # a missing grade (counters, outlets) is a level of its own
        x[c] = x[c].astype(object).where(x[c].notna(), "none").astype(str)
    for c in NUMBERS:
        x[c] = pd.to_numeric(x[c], errors="coerce").astype(float)
    if x[list(NUMBERS)].isna().any().any():
        bad = stores.loc[x[list(NUMBERS)].isna().any(axis=1), "store_id"].tolist()
        raise ValueError(f"stores {bad[:10]} lack {', '.join(NUMBERS)}: the model needs them")
    return x


def _pipeline(alpha: float) -> Pipeline:
    encode = ColumnTransformer([("category", OneHotEncoder(handle_unknown="ignore"), list(CATEGORIES)),
                                ("number", StandardScaler(), list(NUMBERS))])
    return Pipeline([("encode", encode), ("ridge", Ridge(alpha=alpha))])


def _fit(levels: pd.DataFrame, settings: StoreModelSettings) -> tuple[Pipeline, Pipeline]:
    x = _features(levels)
    sales = _pipeline(settings.ridge_alpha).fit(x, np.log(levels["sales_level"]))
    contribution = _pipeline(settings.ridge_alpha).fit(x, levels["contribution_level"])
    return sales, contribution


def _coefficients(sales: Pipeline, contribution: Pipeline) -> pd.DataFrame:
    """Each effect in the attribute's own unit: per m², per head, per CNY of rent; per category level."""
    rows = []
    for target, model in (("log_sales", sales), ("contribution", contribution)):
        encode, ridge = model.named_steps["encode"], model.named_steps["ridge"]
        names = encode.get_feature_names_out()
        scale = encode.named_transformers_["number"].scale_
        for name, coef in zip(names, ridge.coef_):
            kind, feature = name.split("__", 1)
            if kind == "number":
                coef = coef / scale[list(NUMBERS).index(feature)]
                rows.append((target, feature, None, float(coef)))
            else:
                column = next(c for c in CATEGORIES if feature.startswith(c + "_"))
                rows.append((target, column, feature[len(column) + 1:], float(coef)))
        rows.append((target, "intercept", None, float(ridge.intercept_)))
    out = pd.DataFrame(rows, columns=["target", "feature", "value", "effect"])
    logs = out["target"] == "log_sales"
    effects = out["effect"].where(logs & (out["feature"] != "intercept"))
    out["sales_pct"] = np.expm1(effects) * 100  # % more sales per unit or vs the average level, for reading
    return out


def _leave_one_store_out(levels: pd.DataFrame, settings: StoreModelSettings) -> pd.DataFrame:
    """Each mature store predicted by a ridge fitted without it, beside the other stores' average.

    The attributes are encoded once (categories and scaling learnt from every store's attributes, never
    from sales), so each fold refits only the ridge: 95 demo stores in well under a second.
    """
    x = _pipeline(settings.ridge_alpha).named_steps["encode"].fit_transform(_features(levels))
    log_sales, contribution = np.log(levels["sales_level"].to_numpy()), levels["contribution_level"].to_numpy()
    rows = []
    for i in range(len(levels)):
        rest = np.arange(len(levels)) != i
        fold = {name: Ridge(alpha=settings.ridge_alpha).fit(x[rest], y[rest]).predict(x[[i]])[0]
                for name, y in (("sales", log_sales), ("contribution", contribution))}
        rows.append({"store_id": levels["store_id"].iloc[i], "sales_level": np.exp(log_sales[i]),
                     "predicted_sales": float(np.exp(fold["sales"])),
                     "chain_average_sales": float(np.exp(log_sales[rest].mean())),
                     "contribution_level": contribution[i], "predicted_contribution": float(fold["contribution"]),
                     "chain_average_contribution": float(contribution[rest].mean())})
    out = pd.DataFrame(rows)
    ape = lambda p: (out[p] / out["sales_level"] - 1).abs().mean()  # noqa: E731
    mae = lambda p: (out[p] - out["contribution_level"]).abs().mean()  # noqa: E731
    out.attrs["summary"] = {"stores": len(out), "sales_mape": ape("predicted_sales"),
                            "sales_mape_chain_average": ape("chain_average_sales"),
                            "contribution_mae": mae("predicted_contribution"),
                            "contribution_mae_chain_average": mae("chain_average_contribution")}
    return out
