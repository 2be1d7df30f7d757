"""The writer lock of each network beyond VK is named once (``gospublic.infra.network_day.NETWORK_WRITERS``):
its extraction's error recording, its load and the staging cleanup take the same lock, and a network
declared in one place only fails here."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date

import gospublic
from gospublic.infra import network_day, retention
from gospublic.infra.network_day import NetworkSpec


def _network_packages() -> dict[str, str]:
    """Registry code → package, for every pipeline whose ``daily`` declares a ``NetworkSpec``."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(gospublic.__path__):
        if not info.ispkg or info.name in {"infra", "orchestration"}:
            continue
        try:
            daily = importlib.import_module(f"gospublic.{info.name}.daily")
        except ModuleNotFoundError:
            continue
        spec = getattr(daily, "SPEC", None)
        if isinstance(spec, NetworkSpec):
            found[spec.code] = info.name
    return found


def _lock_of(function: object) -> str:
    """The name a ``@writer(name)`` loader locks (the decorator's closure)."""
    name = inspect.getclosurevars(function).nonlocals.get("name")  # type: ignore[arg-type]
    assert isinstance(name, str), f"{function!r} carries no @writer"
    return name


def test_every_network_has_one_writer_lock() -> None:
    packages = _network_packages()
    assert set(packages) == {"ok", "max", "tg"}
    assert set(packages) == set(network_day.NETWORK_WRITERS), (
        "a network declared in one place only: specs "
        f"{sorted(packages)}, NETWORK_WRITERS {sorted(network_day.NETWORK_WRITERS)}"
    )
    for code, package in packages.items():
        lock = network_day.NETWORK_WRITERS[code]
        spec = importlib.import_module(f"gospublic.{package}.daily").SPEC
        assert spec.writer == lock
        load = importlib.import_module(f"gospublic.{package}.load")
        assert load.SOURCE.network == code
        assert _lock_of(load.load_day) == lock
        table = retention.RETAINED["staging.network_page_observations"]
        assert table.writer(retention.Partition(date(2026, 1, 1), code)) == lock


def test_a_network_without_a_writer_lock_is_refused() -> None:
    spec = importlib.import_module("gospublic.ok.daily").SPEC
    fields = {f: getattr(spec, f) for f in spec.__dataclass_fields__}
    try:
        NetworkSpec(**{**fields, "code": "xx"})
    except ValueError as error:
        assert "xx" in str(error)
    else:
        raise AssertionError("a NetworkSpec of a network with no writer lock was accepted")
