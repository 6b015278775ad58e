"""One random generator per (seed, purpose, keys).

Every random draw in the simulator comes from ``rng(seed, "purpose", day)``.
A draw therefore depends only on what it is for and when, never on how many
draws came before it, so writing in bigger or smaller chunks, or adding a new
purpose, leaves every existing table unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np


def purpose_code(purpose: str) -> int:
    """A stable integer for a purpose name (crc32 does not change between runs, unlike ``hash``)."""
    return zlib.crc32(purpose.encode("utf-8"))


def rng(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """A generator for one purpose, e.g. ``rng(42, "demand", day)``."""
    return np.random.default_rng([int(seed), purpose_code(purpose), *(int(k) for k in keys)])
