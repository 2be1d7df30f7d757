"""GOSPUBLIC_ENGINE_MEMORY_LIMIT: parsed and allow-listed, and applied to the in-process DuckDB of
the VK flatten (the incident engine's: tests/incidents/test_incident_files.py)."""

from __future__ import annotations

import os

import pytest

from gospublic.infra import settings
from gospublic.vk import flatten


@pytest.mark.parametrize(
    ("given", "rendered"),
    [(None, "1GB"), ("512MB", "512MB"), (" 2 gb ", "2GB"), ("1.5GiB", "1.5GiB"), ("700mib", "700MiB")],
)
def test_sizes_are_parsed_and_rendered(
    monkeypatch: pytest.MonkeyPatch, given: str | None, rendered: str
) -> None:
    if given is None:
        monkeypatch.delenv(settings.ENV_ENGINE_MEMORY_LIMIT, raising=False)
    else:
        monkeypatch.setenv(settings.ENV_ENGINE_MEMORY_LIMIT, given)
    assert settings.engine_memory_limit() == rendered


@pytest.mark.parametrize(
    ("given", "shares", "each"),
    [("1GB", 2, "488281KiB"), ("1GiB", 2, "524288KiB"), ("512MB", 3, "166666KiB"), ("3MB", 2, "1464KiB")],
)
def test_engines_running_at_once_share_the_limit(
    monkeypatch: pytest.MonkeyPatch, given: str, shares: int, each: str
) -> None:
    """Incident files checked at once each get a share, so that together they stay within it."""
    monkeypatch.setenv(settings.ENV_ENGINE_MEMORY_LIMIT, given)
    assert settings.engine_memory_limit(shares) == each
    with pytest.raises(ValueError, match="shares=0"):
        settings.engine_memory_limit(0)


@pytest.mark.parametrize("given", ["lots", "1e9", "1024", "0MB", "1GB'; SET threads = 1; --", "-1GB", "1 TB"])
def test_anything_else_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv(settings.ENV_ENGINE_MEMORY_LIMIT, given)
    with pytest.raises(
        ValueError, match=r"GOSPUBLIC_ENGINE_MEMORY_LIMIT=.*expected a positive size with a unit"
    ):
        settings.engine_memory_limit()


def test_the_vk_flatten_connection_takes_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = flatten._memory.pop(os.getpid(), None)  # the process's connection is opened once
    monkeypatch.setenv(settings.ENV_ENGINE_MEMORY_LIMIT, "256MB")
    try:
        with flatten._memory_connection() as connection:
            (limit,) = connection.execute("SELECT current_setting('memory_limit')").fetchone() or ("",)
        assert limit == "244.1 MiB"  # 256 MB (10^6 bytes) as DuckDB shows it
    finally:
        opened = flatten._memory.pop(os.getpid(), None)
        if opened is not None:
            opened.close()
        if previous is not None:
            flatten._memory[os.getpid()] = previous
