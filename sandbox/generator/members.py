"""Daily subscriber counts of VK pages: growth, plateaus and occasional drops."""

from __future__ import annotations

import numpy as np

from sandbox.generator.timeutil import DAY
from sandbox.generator.vkpages import VkPages


def simulate(pages: VkPages, day_starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Matrix pages × days of members_count (``-1`` where the page does not exist that day)."""
    n_pages, n_days = len(pages.group_id), len(day_starts)
    median = np.where(pages.rated, 6_000.0, 900.0)
    base = median * rng.lognormal(0.0, 1.1, n_pages)
    base = np.where(pages.created_in_window, rng.integers(20, 200, n_pages), base)
    trend = rng.normal(0.0012, 0.0015, n_pages)
    trend = np.where(pages.created_in_window, 0.04, trend)
    # Regimes: each day a page may switch between growing, standing still and slowly losing readers.
    regime_factor = np.array([1.0, 0.0, -0.4])
    switches = rng.random((n_pages, n_days)) < 0.08
    regime = np.where(switches, rng.choice(3, size=(n_pages, n_days), p=[0.6, 0.3, 0.1]), -1)
    regime[:, 0] = np.where(regime[:, 0] < 0, 0, regime[:, 0])
    # forward-fill the regime over the days without a switch
    index = np.where(regime >= 0, np.arange(n_days), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    regime = np.take_along_axis(regime, index, axis=1)
    step = trend[:, None] * regime_factor[regime]
    step += rng.normal(0.0, 0.0006, (n_pages, n_days)) * (regime != 1)
    drops = rng.random((n_pages, n_days)) < 0.012
    step -= drops * rng.uniform(0.01, 0.04, (n_pages, n_days))
    step[:, 0] = 0.0
    counts = np.rint(base[:, None] * np.exp(np.cumsum(step, axis=1))).astype(np.int64)
    counts = np.maximum(counts, 0)
    day_ends = day_starts + DAY
    alive = (day_ends[None, :] > pages.alive_from[:, None]) & (day_starts[None, :] < pages.alive_to[:, None])
    return np.where(alive, counts, -1)
