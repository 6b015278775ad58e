"""The operations dashboard (多维运营看板) and role home pages: the logic, without Panel.

    import workbench as wb
    from workbench.dashboard import DashboardState, kpi_cards, breakdown, trend, filter_options

    s = wb.session("u_region_east", entry_point="app")
    state = DashboardState.make(["net_sales", "conversion"], "2025-12-01", "2025-12-31",
                                dimension="store_code", grain="week", filters={"channel": ["store"]})
    check_filter_values(state, filter_options(s))   # values the user may pick, else close matches
    kpi_cards(s, state)        # value, previous period, change %
    breakdown(s, state)        # the result table, by store
    trend(s, state)            # by store and week

Why it is built this way
------------------------
- **Tables in, tables out.** Each function takes the user's governed session
  and a checked :class:`DashboardState` and returns pandas frames; the Panel
  pages (``workbench/apps/operations.py``, ``home.py``) only lay them out,
  so the logic is tested without a browser.
- **All numbers from the metrics layer.** KPI cards, the table, the trend,
  top / slow sellers and availability come from ``workbench.metrics.compute``
  (and its row-level ``size_break`` / ``core_size_stockouts``); nothing here
  redefines a metric, and nothing caches raw data: the metrics layer decides
  how to answer (rollups).
- **Widget values are values.** Filters reach the engine as ibis ``isin``
  literals through ``compute``'s ``where``; no SQL is ever built from text,
  and values outside the user's options are refused first with the closest
  ones they can pick.
- **Clear errors.** :class:`DashboardError` (and its subclasses for
  dimensions and exports) carry a message meant for the user; the pages show
  it in an alert.
- **Traceable.** Every query runs through :mod:`.trace`, so the benchmark
  (:mod:`.bench`) can time each interaction's queries and plan them.
- **Fast clicks.** Metric requests are prepared once per shape
  (:mod:`workbench.metrics.prepared`), and the page compiles the shapes one
  click away while its user reads (:mod:`.warmup`), so a click mostly only
  binds values and runs DuckDB on the rollups.

Modules: :mod:`.state` (the selection, dimensions, errors), :mod:`.periods`
(presets), :mod:`.options` (what a user may pick), :mod:`.figures` (KPI cards,
table, trend), :mod:`.sellers` (top and slow), :mod:`.coverage` (out-of-stock and size breaks),
:mod:`.heroes` (主推款), :mod:`.exports`, :mod:`.homes` (role home pages),
:mod:`.settings` (``dashboard:``), :mod:`.trace`, :mod:`.warmup` (compiling what is one click away
while the user reads), :mod:`.bench`.
"""

from __future__ import annotations

__all__ = [
    "DashboardState", "DashboardError", "DashboardDimensionError", "ExportTooLarge", "DIMENSIONS", "GRAINS",
    "kpi_cards", "breakdown", "trend", "top_values", "top_and_slow", "availability", "hero_items",
    "filter_options", "check_filter_values", "measure_availability", "data_span", "export", "home_for",
    "HomeSpec", "dashboard_settings", "DashboardSettings", "preset_period", "PRESETS",
]

_WHERE = {
    "DashboardState": "state", "DashboardError": "state", "DashboardDimensionError": "state",
    "ExportTooLarge": "state", "DIMENSIONS": "state", "GRAINS": "state",
    "kpi_cards": "figures", "breakdown": "figures", "trend": "figures", "top_values": "figures",
    "top_and_slow": "sellers", "availability": "coverage", "hero_items": "heroes",
    "filter_options": "options", "check_filter_values": "options", "measure_availability": "options",
    "data_span": "options", "export": "exports", "home_for": "homes", "HomeSpec": "homes",
    "dashboard_settings": "settings", "DashboardSettings": "settings", "preset_period": "periods", "PRESETS": "periods",
}


def __getattr__(name: str):
    # Lazy, so that `wb --help` does not import ibis.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"workbench.dashboard.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'workbench.dashboard' has no attribute {name!r}")
