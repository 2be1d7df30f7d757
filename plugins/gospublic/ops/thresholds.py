"""The ops_check thresholds, parsed and validated from the environment (infra.settings names them)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gospublic.infra import settings
from gospublic.infra.network_day import NETWORK_WRITERS

DEFAULT_EXPORT_MAX_DAYS = "im=3,pos=7"
DEFAULT_PAGE_FAILING_DAYS = 3
DEFAULT_VK_MISSING_DAYS = 0
VK_WINDOW_DAYS = 7  # the days before today whose VK loads are checked

_ENTRY = re.compile(r"^(?:(?P<region>[0-9]{2}):)?(?P<source>[a-z]+)=(?P<days>[0-9]+)$")
_NETWORK_ENTRY = re.compile(r"^(?P<network>[a-z]+)=(?P<days>[0-9]+)$")
_Key = TypeVar("_Key")


@dataclass(frozen=True)
class Thresholds:
    """Limits beyond which ops_check fails."""

    # days without an export tolerated, by (region or None for every region, source)
    export_max_days: dict[tuple[str | None, str], int] = field(default_factory=dict)
    page_failing_days: int = DEFAULT_PAGE_FAILING_DAYS
    vk_missing_days: int = DEFAULT_VK_MISSING_DAYS
    # failed loaded days in a row of an OK, MAX or Telegram page, by network (default page_failing_days)
    network_failing_days: dict[str, int] = field(default_factory=dict)

    def export_limit(self, source: str, region: str) -> int | None:
        """The tolerated days without an export of ``source`` in ``region`` (None: unchecked)."""
        return self.export_max_days.get((region, source), self.export_max_days.get((None, source)))

    def network_page_limit(self, network: str) -> int:
        """The failed loaded days in a row flagged for a page of ``network`` (ok, max, tg)."""
        return self.network_failing_days.get(network, self.page_failing_days)


def parse_export_max_days(text: str) -> dict[tuple[str | None, str], int]:
    """``"im=3,pos=7,58:pos=10"`` → {(None, "im"): 3, (None, "pos"): 7, ("58", "pos"): 10}."""
    return _day_limits(
        text, settings.ENV_OPS_EXPORT_MAX_DAYS, _ENTRY, "source=days or region:source=days",
        lambda match: (match["region"], match["source"]),
    )  # fmt: skip


def parse_network_failing_days(text: str) -> dict[str, int]:
    """``"ok=3,tg=5"`` → {"ok": 3, "tg": 5}: networks beyond VK (their registry codes)."""
    name = settings.ENV_OPS_NETWORK_PAGE_FAILING_DAYS

    def network(match: re.Match[str]) -> str:
        if match["network"] not in NETWORK_WRITERS:
            raise ValueError(f"{name}: {match['network']!r} is not one of {', '.join(NETWORK_WRITERS)}")
        return match["network"]

    return _day_limits(text, name, _NETWORK_ENTRY, "network=days", network)


def _day_limits(
    text: str, name: str, pattern: re.Pattern[str], shape: str, key: Callable[[re.Match[str]], _Key]
) -> dict[_Key, int]:
    """The comma-separated ``<key>=<days>`` entries of the setting ``name`` (each of ``shape``,
    matched by ``pattern``), by ``key`` of each match; an entry given twice or under 1 day refused."""
    limits: dict[_Key, int] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        match = pattern.match(entry)
        if not match:
            raise ValueError(f"{name}: {entry!r} is not {shape}")
        limit_key = key(match)
        if limit_key in limits:
            raise ValueError(f"{name}: {entry!r} given twice")
        days = int(match["days"])
        if days < 1:
            raise ValueError(f"{name}: {entry!r} needs at least 1 day")
        limits[limit_key] = days
    return limits


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{name}: {raw!r} is negative")
    return value


def from_environment() -> Thresholds:
    """The thresholds of this deployment."""
    return Thresholds(
        export_max_days=parse_export_max_days(
            os.environ.get(settings.ENV_OPS_EXPORT_MAX_DAYS, DEFAULT_EXPORT_MAX_DAYS)
        ),
        page_failing_days=max(1, _count(settings.ENV_OPS_PAGE_FAILING_DAYS, DEFAULT_PAGE_FAILING_DAYS)),
        vk_missing_days=_count(settings.ENV_OPS_VK_MISSING_DAYS, DEFAULT_VK_MISSING_DAYS),
        network_failing_days=parse_network_failing_days(
            os.environ.get(settings.ENV_OPS_NETWORK_PAGE_FAILING_DAYS, "")
        ),
    )
