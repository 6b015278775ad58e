"""The gateway's settings (网关配置): the ``devices:`` section of ``workbench/conf/workbench.yaml``.

Which devices hang on which ports, for which store (and zone), written by which ``device`` user, and
where the journal lives. :func:`parse_gateway` is pure and refuses unknown keys, naming the one to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from workbench.config import project_root, settings_section

__all__ = ["DevicePort", "GatewaySettings", "parse_gateway", "load_gateway", "KINDS"]

KINDS = ("rfid", "scale")
DEFAULT_BAUD = {"rfid": 115200, "scale": 9600}
GATEWAY_KEYS = ("journal", "flush_s", "warehouse_wait_s", "port_wait_s", "ports")
PORT_KEYS = ("kind", "port", "baud", "store", "user", "zone")


@dataclass(frozen=True)
class DevicePort:
    """One device on one port: an RFID reader (RFID读写器) or a scale (电子秤) of a store (and zone)."""

    name: str
    kind: str
    port: str
    baud: int
    store: str
    user: str
    zone: str | None = None


@dataclass(frozen=True)
class GatewaySettings:
    journal: Path
    flush_s: float
    warehouse_wait_s: float
    port_wait_s: float
    devices: tuple[DevicePort, ...]


def _unknown(raw: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} in {where}; the keys are {', '.join(allowed)}")


def _device(name: str, raw: Mapping[str, Any]) -> DevicePort:
    where = f"devices.ports.{name}"
    _unknown(raw, PORT_KEYS, where)
    missing = [k for k in ("kind", "port", "store", "user") if not raw.get(k)]
    if missing:
        raise ValueError(f"{where} needs {', '.join(missing)}")
    if raw["kind"] not in KINDS:
        raise ValueError(f"{where}.kind must be one of {', '.join(KINDS)}, not {raw['kind']!r}")
    return DevicePort(name, raw["kind"], str(raw["port"]), int(raw.get("baud") or DEFAULT_BAUD[raw["kind"]]),
                      str(raw["store"]), str(raw["user"]), raw.get("zone"))


def parse_gateway(raw: Mapping[str, Any] | None, root: Path) -> GatewaySettings:
    """The ``devices:`` mapping as settings; paths relative to ``root``."""
    raw = raw or {}
    _unknown(raw, GATEWAY_KEYS, "devices")
    journal = Path(raw.get("journal") or "data/devices/journal")
    return GatewaySettings(journal=journal if journal.is_absolute() else root / journal,
                           flush_s=float(raw.get("flush_s", 1.0)),
                           warehouse_wait_s=float(raw.get("warehouse_wait_s", 60.0)),
                           port_wait_s=float(raw.get("port_wait_s", 30.0)),
                           devices=tuple(_device(n, d or {}) for n, d in (raw.get("ports") or {}).items()))


def load_gateway(config_file: Path | None = None) -> GatewaySettings:
    """``devices:`` of ``config_file``, else of the settings file (``WB_CONFIG``, else workbench.yaml)."""
    return parse_gateway(settings_section("devices", config_file), project_root())
