"""Retail Workbench: governed data access, metrics and model helpers for a fashion retail chain.

    import workbench as wb
    s = wb.session("u_store_017")          # a governed session for one user
    s.table("sales")                       # an ibis table with that user's policies applied
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["session", "load_settings"]


def __getattr__(name: str):
    # Lazy, so that `wb --help` and light imports do not pay for ibis.
    if name == "session":
        from workbench.governance.session import session

        return session
    if name == "load_settings":
        from workbench.config import load_settings

        return load_settings
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
