"""Vectorised helpers shared by the simulation: rationing, range expansion, grouping by day."""

from __future__ import annotations

import numpy as np


def ration(request: np.ndarray, source: np.ndarray, available: np.ndarray, presorted: bool = False) -> np.ndarray:
    """Grant requests against shared stock, in the given order within each source (first come, first served).

    ``presorted``: requests already come grouped by source, in serving order.
    """
    order = np.arange(len(source)) if presorted else np.argsort(source, kind="stable")
    req, src = request[order], source[order]
    csum = np.cumsum(req)
    first = np.r_[True, src[1:] != src[:-1]]
    before_group = np.maximum.accumulate(np.where(first, csum - req, 0))
    already = csum - req - before_group
    grant = np.empty_like(request)
    grant[order] = np.clip(available[src] - already, 0, req)
    return grant


def expand(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenate ``range(first[i], first[i] + count[i])`` without a Python loop."""
    total = int(count.sum())
    starts = np.repeat(first - np.r_[0, np.cumsum(count)[:-1]], count)
    return starts + np.arange(total)


def by_day(days: np.ndarray) -> dict[int, np.ndarray]:
    """Index positions by day number: ``{day: positions}``."""
    order = np.argsort(days, kind="stable")
    values, starts = np.unique(days[order], return_index=True)
    return {int(v): part for v, part in zip(values, np.split(order, starts[1:]))}


def largest_remainder(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Split integer totals by weights so that the parts add up exactly."""
    exact = total[:, None] * weight[None, :]
    part = np.floor(exact).astype(np.int64)
    left = total - part.sum(axis=1)
    rank = np.argsort(np.argsort(-(exact - part), axis=1), axis=1)
    return part + (rank < left[:, None])
