"""Parameters of the risk checks, from ``finance.risk`` of ``workbench/conf/workbench.yaml``.

One sub-key per check, each with ``enabled`` and the check's own knobs; a
check left out of the file runs with its defaults. A name the checks do not
know, or a value that makes no sense, is refused with the path to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from workbench.finance.conf import finance_section

__all__ = ["DEFAULTS", "RiskSettings", "load_risk_settings", "risk_settings_from"]

# check -> parameter -> default. The defaults are the settings measured by `wb bench risk` (BENCHMARKS.md).
DEFAULTS: dict[str, dict[str, Any]] = {
    "discount_beyond_policy": {"tolerance_cny": 0.005},
    "cashier_discount_outliers": {"min_lines": 200, "min_peers": 3, "max_robust_z": 3.5, "min_excess_depth": 0.02},
    "points_abuse": {"point_value_cny": 0.01},
    "points_kept_on_returns": {"point_value_cny": 0.01},
    "points_above_tier": {"tier_points_per_cny": {"silver": 1.0, "gold": 1.2, "platinum": 1.5},
                          "tolerance_points": 1, "point_value_cny": 0.01},
    "exchange_other_style": {},
    "return_without_sale": {},
    "return_outside_window": {"window_days": 30},
    "unpaid_sale": {"tolerance_cny": 0.01},
    "consignment_shortfall": {"min_units": 1, "store_types": ["consignment"]},
}
WHERE = "finance.risk"


@dataclass(frozen=True)
class RiskSettings:
    """Which checks run and with what parameters."""

    enabled: tuple[str, ...]
    params: Mapping[str, Mapping[str, Any]]

    def of(self, check: str) -> dict[str, Any]:
        return dict(self.params[check])


def load_risk_settings(config_file: Path | None = None) -> RiskSettings:
    """``finance.risk`` of the settings file (``WB_CONFIG``); every check at its defaults if absent."""
    return risk_settings_from(finance_section("risk", config_file, required=False))


def risk_settings_from(raw: Mapping[str, Any], where: str = WHERE) -> RiskSettings:
    """The settings from their configuration; a ValueError names the key to fix."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must map check names to their parameters, not {raw!r}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown check(s) {unknown} in {where}; the checks are {', '.join(DEFAULTS)}")
    enabled, params = [], {}
    for check, defaults in DEFAULTS.items():
        given = dict(raw.get(check) or {})
        on = given.pop("enabled", True)
        if not isinstance(on, bool):
            raise ValueError(f"{where}.{check}.enabled is true or false, not {on!r}")
        bad = sorted(set(given) - set(defaults))
        if bad:
            raise ValueError(f"unknown parameter(s) {bad} in {where}.{check}; its parameters are "
                             f"{', '.join(['enabled', *defaults])}")
        params[check] = {k: _checked(f"{where}.{check}.{k}", given.get(k, v), v) for k, v in defaults.items()}
        if on:
            enabled.append(check)
    return RiskSettings(tuple(enabled), params)


def _checked(path: str, value: Any, default: Any) -> Any:
    if isinstance(default, list):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{path} is a non-empty list of names, not {value!r}")
        return list(value)
    if isinstance(default, dict):
        if not isinstance(value, Mapping) or set(value) != set(default):
            raise ValueError(f"{path} needs exactly the keys {', '.join(default)}, not {value!r}")
        return {k: _number(f"{path}.{k}", v) for k, v in value.items()}
    number = _number(path, value)
    if isinstance(default, int):
        if number != int(number):
            raise ValueError(f"{path} is a whole number, not {value!r}")
        return int(number)
    return float(number)


def _number(path: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{path} is a number of 0 or more, not {value!r}")
    return value
