"""The VK pages of a region as arrays: ids, lifetimes, audiences and access errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sandbox.generator.registry import Page
from sandbox.generator.timeutil import DAY, epoch

# VK error a page answers to wall.get / wall.getComments (documented in docs/sandbox-data.md).
ERROR_BY_STATUS = {"closed": 15, "private": 30, "deleted": 18}


@dataclass
class VkPages:
    """Per-page arrays for the VK pages of one region, in registry order."""

    pages: list[Page]
    group_id: np.ndarray  # int64
    alive_from: np.ndarray  # unix seconds (local midnight of valid_from, clipped to the window start)
    alive_to: np.ndarray  # unix seconds (local midnight of valid_to, or the world end)
    error: np.ndarray  # int: VK error code for wall methods, 0 when readable
    rated: np.ndarray  # bool: a rated body's page (posts more, bigger audience)
    created_in_window: np.ndarray  # bool


def vk_pages(pages: list[Page], window_start: int, world_end: int, utc_offset: int) -> VkPages:
    """Arrays of the VK pages among ``pages``; times are unix seconds (UTC)."""
    vk = [page for page in pages if page.network == "vk"]

    def local_midnight(day: str) -> int:
        return epoch(dt.date.fromisoformat(day)) - utc_offset

    starts = np.array([local_midnight(p.valid_from) for p in vk], dtype=np.int64)
    ends = np.array([local_midnight(p.valid_to) if p.valid_to else world_end for p in vk], dtype=np.int64)
    return VkPages(
        pages=vk,
        group_id=np.array([p.vk_group_id for p in vk], dtype=np.int64),
        alive_from=np.maximum(starts, window_start),
        alive_to=np.minimum(ends, world_end),
        error=np.array([ERROR_BY_STATUS.get(p.status, 0) for p in vk], dtype=np.int64),
        rated=np.array([p.rating_group not in ("", "РСО-УК") for p in vk], dtype=bool),
        created_in_window=starts > window_start - DAY,
    )
