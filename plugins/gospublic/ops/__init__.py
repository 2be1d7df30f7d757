"""Operational health: the audit's health views read, judged against thresholds, printed."""
