"""The staging retention rule of ``config/retention.yaml``: which staged days stay, which tables the
cleanup may delete from (issue 29; the cleanup itself is ``gospublic.infra.retention``).

The rule keeps the staged days of the current month and the ``keep.months - 1`` months before it
(Moscow days), and with ``keep.reread_window`` the VK re-read window's days before those months
(``GOSPUBLIC_VK_WINDOW_DAYS``). Older days go, and with ``after_publication`` only once a rating of
their month is published. The file is parsed and checked here: unknown keys, values of the wrong
type and tables the cleanup does not know are refused, naming the file and the key; nothing of
it reaches SQL as text (tables are matched against ``RETAINABLE``, dates are bound parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from gospublic.infra import settings
from transforms.months import month_start, previous_month

# The staging tables the cleanup knows how to clean (gospublic.infra.retention says how: the VK posts
# and comments and the networks' posts are folded into their staging.*_retired table first, since
# core rebuilds a post or comment from every observation of it). Not here: the incident and registry
# staging tables (their loads empty them: nothing accumulates).
RETAINABLE = (
    "staging.vk_page_observations",
    "staging.vk_post_observations",
    "staging.vk_comment_observations",
    "staging.network_page_observations",
    "staging.network_post_observations",
)
_KEYS = {"version", "keep", "after_publication", "tables"}
_KEEP_KEYS = {"months", "reread_window"}


class RetentionRuleError(ValueError):
    """The retention file is not a valid rule; the message names the file and the key."""


@dataclass(frozen=True)
class RetentionRule:
    """What stays staged: ``months`` months (the current one included), the re-read window's days
    before them when ``reread_window``, and with ``after_publication`` any day whose month has no
    published rating yet. ``tables`` are the staging tables the cleanup deletes from."""

    months: int
    reread_window: bool
    after_publication: bool
    tables: tuple[str, ...]

    def horizon(self, today: date, window_days: int) -> date:
        """The first staged day kept on ``today``: days before it may go."""
        start = month_start(today)
        for _ in range(self.months - 1):
            start = previous_month(start)
        return start - timedelta(days=window_days if self.reread_window else 0)


def default_path() -> Path:
    return settings.project_home() / "config" / "retention.yaml"


def load_rule(path: Path | None = None) -> RetentionRule:
    """The rule of ``path`` (default ``config/retention.yaml``), checked."""
    path = path or default_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RetentionRuleError(f"{path}: cannot read the retention rule: {exc}") from exc
    return parse_rule(raw, str(path))


def parse_rule(raw: object, source: str = "retention rule") -> RetentionRule:
    """Check a parsed retention file and return its rule."""
    top = _mapping(raw, source, "the file")
    _no_unknown(top, _KEYS, source, "")
    if top.get("version") != 1:
        raise RetentionRuleError(f"{source}: version must be 1, got {top.get('version')!r}")
    keep = _mapping(top.get("keep"), source, "keep")
    _no_unknown(keep, _KEEP_KEYS, source, "keep.")
    months = keep.get("months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise RetentionRuleError(
            f"{source}: keep.months must be a whole number of months >= 1, got {months!r}"
        )
    reread_window = _boolean(keep.get("reread_window"), source, "keep.reread_window")
    after_publication = _boolean(top.get("after_publication"), source, "after_publication")
    tables = top.get("tables")
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise RetentionRuleError(f"{source}: tables must be a list of staging table names")
    unknown = [t for t in tables if t not in RETAINABLE]
    if unknown:
        raise RetentionRuleError(
            f"{source}: tables {unknown} cannot be cleaned (the cleanup knows {', '.join(RETAINABLE)})"
        )
    if len(set(tables)) != len(tables):
        raise RetentionRuleError(f"{source}: tables lists a table twice")
    return RetentionRule(
        months=months,
        reread_window=reread_window,
        after_publication=after_publication,
        tables=tuple(t for t in RETAINABLE if t in tables),  # the cleanup's own order
    )


def _mapping(value: object, source: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise RetentionRuleError(f"{source}: {key} must be a mapping")
    return value


def _no_unknown(values: Mapping[str, Any], known: set[str], source: str, prefix: str) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        raise RetentionRuleError(f"{source}: unknown keys {', '.join(prefix + k for k in unknown)}")


def _boolean(value: object, source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise RetentionRuleError(f"{source}: {key} must be true or false, got {value!r}")
    return value
