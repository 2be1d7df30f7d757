"""Fixtures of the reliability suite: a small generated region with its VK answers already in a
lake folder and its export files ready to drop, warehouse states built once per engine and copied
for each trial (``harness.StateStore``), and the tally of kill trials printed at the end."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import StateStore, open_warehouse

MONTH = "2025-11"
SMALL = {"pages": 40, "incidents": 600, "bodies": 12, "start_days_before": 5}
VK_DAYS = (date(2025, 11, 26), date(2025, 11, 27), date(2025, 11, 28))
PSEUDONYM_KEY = b"reliability-pseudonym-key-0123456789"


@dataclass(frozen=True)
class KillData:
    """The generated region, and a lake folder holding its VK answers of ``VK_DAYS`` (landed as
    vk_pages lands them) and its export files under ``incoming/``."""

    data: Path
    lake: Path

    def lake_copy(self, target: Path) -> Path:
        shutil.copytree(self.lake, target)
        return target


@pytest.fixture(scope="session")
def kill_environment() -> Iterator[None]:
    """2 of the region's 36 VK pages are closed or private: over the default failed-page share."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOSPUBLIC_VK_MAX_FAILED_SHARE", "0.1")
        yield


@pytest.fixture(scope="session")
def kill_data(kill_environment: None, tmp_path_factory: pytest.TempPathFactory) -> KillData:
    from bench.vk_raw import land_month
    from gospublic.infra.lake import LocalLake
    from sandbox.generator import params
    from sandbox.generator.pipeline import generate

    data = tmp_path_factory.mktemp("kill-region")
    generate(params.build("region", MONTH, 42, **SMALL), str(data))
    root = tmp_path_factory.mktemp("kill-lake") / "lake"
    lake = LocalLake(root)
    land_month(data, lake, list(VK_DAYS))
    with open(data / "truth" / "exports.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            path = data / row["file"]
            lake.put_file(f"incoming/{path.name.split('_', 1)[0]}/{path.name}", path)
    return KillData(data, root)


@dataclass
class KillStates:
    """Warehouse states of one engine, each a template for the trials' copies.

    * ``migrated`` — empty schemas;
    * ``registry`` — the region's registry and the VK days before the last one loaded;
    * ``loaded`` — also the last VK day and every export file: what the marts are built from."""

    engine: str
    store: StateStore
    data: KillData
    folder: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lake_copy(self, name: str) -> Path:
        return self.data.lake_copy(self.folder / f"lake-{name}")


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def kill_states(
    request: pytest.FixtureRequest, kill_data: KillData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KillStates]:
    from gospublic.incidents.files import ingest_landed
    from gospublic.infra.lake import LocalLake
    from gospublic.infra.migrations import migrate
    from gospublic.registry.load import load_registry
    from gospublic.vk.load import load_day
    from transforms.pseudonymize import make_pseudonymizer

    engine = request.param
    if engine == "postgres":
        request.getfixturevalue("postgres_available")
    folder = tmp_path_factory.mktemp(f"kill-{engine}")
    store = StateStore(engine, folder, request.getfixturevalue("pg_admin_url"))
    states = KillStates(engine, store, kill_data, folder)
    pseudonymize = make_pseudonymizer(PSEUDONYM_KEY)
    try:
        migrated = store.new("migrated")
        with open_warehouse(migrated) as warehouse:
            migrate(warehouse)
        registry = store.copy(migrated, "registry")
        with open_warehouse(registry) as warehouse:
            load_registry(warehouse, kill_data.data / "registry")
            for day in VK_DAYS[:-1]:
                load_day(warehouse, LocalLake(kill_data.lake), day, pseudonymize)
        loaded = store.copy(registry, "loaded")
        with open_warehouse(loaded) as warehouse:
            lake = LocalLake(states.lake_copy("loaded"))
            load_day(warehouse, lake, VK_DAYS[-1], pseudonymize)
            ingest_landed(lake, warehouse, pseudonymize=pseudonymize)
        states.templates.update(migrated=migrated, registry=registry, loaded=loaded)
        yield states
    finally:
        store.close()
