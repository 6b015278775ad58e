"""Closing suggestions (关店建议): stores whose contribution stays negative and whose trend does not recover.

Contribution comes from :func:`workbench.finance.store_model.store_month_panel`. A store is judged when its
contribution was negative in each of the panel's last ``negative_months`` months; it is suggested for
closing when a damped linear trend through its last ``trend_months`` months stays below zero for the next
``forecast_months`` (settings: ``finance.store_model``).

Damped trend: an ordinary least-squares line through the months; from the line's value at the last month
``L`` and its slope ``b``, month ``h`` ahead is ``L + b · (φ + φ² + … + φʰ)`` with ``φ = damping`` (Gardner &
McKenzie): a trend that fades rather than runs on for ever, so a short slide or climb does not decide alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.finance.store_model import StoreModelSettings, checked_panel

__all__ = ["damped_trend", "closing_suggestions"]


def damped_trend(values: np.ndarray, months: int, damping: float) -> np.ndarray:
    """The next ``months`` values of a damped linear trend through ``values`` (module docstring)."""
    y = np.asarray(values, dtype=float)
    t = np.arange(len(y), dtype=float)
    slope, intercept = np.polyfit(t, y, 1) if len(y) > 1 else (0.0, y[0])
    level = intercept + slope * t[-1]
    fade = np.cumsum(damping ** np.arange(1, months + 1))
    return level + slope * fade


def closing_suggestions(panel: pd.DataFrame, settings: StoreModelSettings | None = None,
                        stores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stores whose contribution was negative in each of the panel's last ``negative_months`` months, one
    line each with the evidence: ``months_negative`` (the whole run), ``total_loss`` over it (CNY, > 0),
    ``trend_per_month``, ``forecast`` (the next ``forecast_months``), ``suggest_close`` (the forecast stays
    below zero throughout) and ``reason`` in words. A store without a row in every one of those months (not
    yet open, or closed) is not judged. Only stores of ``settings.store_types`` are judged (by the panel's
    ``store_type``, else by ``stores``); ``stores`` (:func:`store_attributes`) also adds their codes.
    """
    settings = settings or StoreModelSettings()
    panel = checked_panel(panel)
    window = sorted(panel["month"].unique())[-settings.negative_months:]
    if len(window) < settings.negative_months:
        raise ValueError(f"the panel has {len(window)} month(s); negative_months = {settings.negative_months} "
                         "needs at least that many")
    if "store_type" not in panel.columns and stores is not None:
        panel = panel.merge(stores[["store_id", "store_type"]], on="store_id")
    if "store_type" in panel.columns:  # the DC and the online shop carry costs without being stores to close
        panel = panel[panel["store_type"].isin(settings.store_types)]
    lines = []
    for store_id, own in panel.sort_values("month").groupby("store_id"):
        recent = own[own["month"].isin(window)]
        if len(recent) < len(window) or (recent["contribution"] >= 0).any():
            continue
        signs = (own["contribution"] < 0).to_numpy()[::-1]
        run = int(np.argmin(signs)) if not signs.all() else len(signs)
        history = own["contribution"].to_numpy()[-settings.trend_months:]
        forecast = damped_trend(history, settings.forecast_months, settings.damping)
        slope = float(np.polyfit(np.arange(len(history)), history, 1)[0])
        stays = bool((forecast < 0).all())
        lines.append({
            "store_id": store_id, "last_month": own["month"].iloc[-1], "months_negative": run,
            "total_loss": float(-own["contribution"].iloc[-run:].sum()), "trend_per_month": slope,
            "forecast": [round(float(v), 2) for v in forecast], "forecast_total": float(forecast.sum()),
            "suggest_close": stays, "reason": _reason(run, -own["contribution"].iloc[-run:].sum(), forecast,
                                                        settings),
        })
    out = pd.DataFrame(lines, columns=["store_id", "last_month", "months_negative", "total_loss", "trend_per_month",
                                       "forecast", "forecast_total", "suggest_close", "reason"])
    if stores is not None:
        out.insert(1, "store_code", out["store_id"].map(stores.set_index("store_id")["store_code"]))
    return out.sort_values(["suggest_close", "total_loss"], ascending=[False, False]).reset_index(drop=True)


def _reason(run: int, loss: float, forecast: np.ndarray, settings: StoreModelSettings) -> str:
    said = f"contribution negative for {run} month(s) in a row, {loss:,.0f} CNY lost"
    if (forecast < 0).all():
        return (f"{said}; the damped trend stays negative for the next {settings.forecast_months} months "
                f"({forecast[-1]:,.0f} CNY in month {settings.forecast_months}): suggest closing")
    back = int(np.argmax(forecast >= 0)) + 1
    return f"{said}; the damped trend is back to zero or above in month {back}: watch, do not close yet"
