"""Shared model of how VK post metrics grow after publication.

The generator stores each post's final metrics and a growth time constant; the VK server
reports the value at its simulated clock; tests use the same function for ground truth.
"""

from __future__ import annotations

import math


def metric_at(final: int, published_ts: int, tau_hours: float, at_ts: int) -> int:
    """Value of a metric at ``at_ts`` (unix seconds) for a post published at ``published_ts``.

    Grows as ``final * (1 - exp(-age / tau))``; 0 before publication.
    """
    if at_ts < published_ts or final <= 0:
        return 0
    age_hours = (at_ts - published_ts) / 3600.0
    return round(final * (1.0 - math.exp(-age_hours / max(tau_hours, 1e-6))))
