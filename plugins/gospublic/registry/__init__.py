"""The registry of bodies and pages: its load (``load``) and what other pipelines read from it."""

from gospublic.registry.lookups import executor_resolvers, region_timezones

__all__ = ["executor_resolvers", "region_timezones"]
