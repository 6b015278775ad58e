"""Governed sessions on the tiny chain (2025, stores S001-S008), one per user, read-only."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench as wb

PERIOD = (dt.date(2025, 12, 4), dt.date(2025, 12, 31))  # the last four weeks of the tiny chain
PREVIOUS = (dt.date(2025, 11, 6), dt.date(2025, 12, 3))


@pytest.fixture(scope="module")
def sessions(tiny_settings):
    opened = {}

    def get(user: str):
        if user not in opened:
            opened[user] = wb.session(user, settings=tiny_settings, read_only=True, entry_point="app")
        return opened[user]

    yield get
    for s in opened.values():
        s.close()
