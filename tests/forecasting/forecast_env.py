"""Shared pieces of the forecast output, registry, command and notebook tests.

Each test gets its own copy of the tiny warehouse (the session fixture
``tiny_settings`` stays untouched for the other forecasting tests), and the
MLflow tests register under their own model name (``WB_FORECAST_MODEL``) so
that they do not depend on one another's champions.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

import workbench as wb
from workbench.config import Settings
from workbench.forecasting.forecast import TrainingPlan

AS_OF = dt.date(2025, 11, 30)
# Cheap recipes for the tiny chain: a real fit in a second or two, one clearly better than the other.
PLAN = TrainingPlan(n_origins=4, refit=False)
GOOD = {"num_boost_round": 80}
CRIPPLED = {"num_boost_round": 1}


def warehouse_copy(tiny_settings: Settings, folder: Path) -> Settings:
    """Settings of a private copy of the tiny warehouse, with its own audit folder."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "tiny.duckdb"
    shutil.copyfile(tiny_settings.warehouse, target)
    return tiny_settings.with_(warehouse=target, audit_dir=folder / "audit")


def use_env(monkeypatch, settings: Settings, model: str | None = None) -> str:
    """Point the ``WB_*`` environment (this process, its `wb` runs and kernels) at ``settings``; the model name."""
    monkeypatch.setenv("WB_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("WB_AUDIT_DIR", str(settings.audit_dir))
    model = model or f"forecast_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("WB_FORECAST_MODEL", model)
    return model


def table_state(settings: Settings) -> tuple[int, frozenset, frozenset] | None:
    """(rows, run ids, as-of dates) of ``marts.forecast``, or None when it does not exist."""
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        if not s.table_exists("marts.forecast"):
            return None
        frame = s.table("marts.forecast").select("run_id", "as_of").to_pandas()
    return len(frame), frozenset(frame["run_id"]), frozenset(pd.to_datetime(frame["as_of"]).dt.date)


def synthetic_forecast(settings: Settings, as_of: dt.date = AS_OF, stores=("S001", "S002", "S003"),
                       skus: int = 4, days: int = 3, seed: int = 1) -> pd.DataFrame:
    """A small forecast frame over real SKUs and stores (no model): what ``forecast_at`` returns."""
    with wb.session("u_admin", settings=settings, read_only=True) as s:
        st = s.table("core.stores")
        store_ids = st.filter(st.store_code.isin(list(stores))).store_id.to_pandas().tolist()
        products = s.table("core.products").select("sku_id", "skc_id").order_by("sku_id").limit(skus).to_pandas()
    grid = products.merge(pd.DataFrame({"store_id": store_ids}), how="cross").merge(
        pd.DataFrame({"date": pd.date_range(as_of + dt.timedelta(days=1), periods=days)}), how="cross")
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.1, 3.0, len(grid))
    return grid.assign(mean=mean, p10=np.floor(mean * 0.3), p50=np.round(mean), p90=np.ceil(mean * 2), nb_size=2.5)[
        ["sku_id", "store_id", "skc_id", "date", "mean", "p10", "p50", "p90", "nb_size"]]
