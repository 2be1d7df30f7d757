"""The registry of bodies and pages: its load (``load``) and what other pipelines read from it
(``region_timezones``, ``executor_resolvers``), imported on first use so that importing
``gospublic.registry.results`` in a DAG file stays light."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gospublic.registry.lookups import executor_resolvers, region_timezones

__all__ = ["executor_resolvers", "region_timezones"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gospublic.registry import lookups

        return getattr(lookups, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
