"""The ``apps:`` section of ``workbench/conf/workbench.yaml``: where the apps listen, who may open what.

Environment overrides (``wb serve --port`` sets the first two for the servers it starts, so the
login, the links and Voila's redirect agree): ``WB_APPS_PORT``, ``WB_APPS_VOILA_PORT``,
``WB_APPS_DIR``, ``WB_LOGINS``, ``WB_APPS_COOKIE_SECRET``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.config import CONF_DIR, Settings, load_settings, project_root

FIELDS = ("host", "port", "voila_port", "logins", "dir", "session_timeout_min", "idle_session_min", "pages")


@dataclass(frozen=True)
class AppSettings:
    host: str
    port: int
    voila_port: int
    logins_file: Path
    dir: Path  # logs, PIDs, the cookie secret

    @property
    def cookie_secret_file(self) -> Path:
        return self.dir / "cookie_secret"
    session_timeout_min: float
    idle_session_min: float
    pages: Mapping[str, tuple[str, ...] | str]  # page -> roles, or "all"

    def may_open(self, role: str, page: str) -> bool:
        """Whether ``role`` may open ``page``; an unknown page is refused (deny by default)."""
        roles = self.pages.get(page)
        return roles == "all" or (roles is not None and role in roles)

    def pages_for(self, role: str) -> list[str]:
        return [page for page in self.pages if self.may_open(role, page)]


def _config_file() -> Path:
    return Path(os.environ.get("WB_CONFIG", CONF_DIR / "workbench.yaml"))


def _pages(raw: Mapping[str, Any], where: str) -> dict[str, tuple[str, ...] | str]:
    pages: dict[str, tuple[str, ...] | str] = {}
    for page, roles in (raw or {}).items():
        if roles == "all":
            pages[page] = "all"
        elif isinstance(roles, list) and all(isinstance(r, str) for r in roles):
            pages[page] = tuple(roles)
        else:
            raise ValueError(f"{where}: apps.pages.{page} must be `all` or a list of role names, not {roles!r}")
    return pages


def app_settings(settings: Settings | None = None, config_file: Path | None = None) -> AppSettings:
    """Read ``apps:``; an unknown field, or a page naming an unknown role, is refused by name."""
    settings = settings or load_settings()
    path = config_file or _config_file()
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("apps") or {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {unknown} in apps: of {path}; the fields are {', '.join(FIELDS)}")
    pages = _pages(raw.get("pages") or {"home": "all"}, str(path))
    _check_roles(pages, settings, path)
    root = project_root()
    logins = Path(os.environ.get("WB_LOGINS") or CONF_DIR / raw.get("logins", "logins.yaml"))
    folder = Path(os.environ.get("WB_APPS_DIR") or raw.get("dir", "data/apps"))
    return AppSettings(
        host=str(raw.get("host", "127.0.0.1")),
        port=int(os.environ.get("WB_APPS_PORT") or raw.get("port", 5006)),
        voila_port=int(os.environ.get("WB_APPS_VOILA_PORT") or raw.get("voila_port", 8866)),
        logins_file=logins if logins.is_absolute() else root / logins,
        dir=folder if folder.is_absolute() else root / folder,
        session_timeout_min=float(raw.get("session_timeout_min", 60)),
        idle_session_min=float(raw.get("idle_session_min", 15)),
        pages=pages,
    )


def _check_roles(pages: Mapping[str, Any], settings: Settings, path: Path) -> None:
    from workbench.governance.policies import load_access

    known = set(load_access(settings.access_file).roles)
    for page, roles in pages.items():
        bad = [] if roles == "all" else sorted(set(roles) - known)
        if bad:
            raise ValueError(f"{path}: apps.pages.{page} names unknown role(s) {bad}; the roles are in "
                             f"{settings.access_file} ({', '.join(sorted(known))})")
