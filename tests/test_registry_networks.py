"""The registry carries every network's official pages: network codes vk, ok, tg and max."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE, rows, write


@pytest.fixture(scope="module")
def max_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The MAX pages the sample region's MAX world would put in the registry (network ``max``)."""
    from sandbox.generator import params
    from sandbox.generator.max_pages import generate_max
    from sandbox.generator.pipeline import write_registry

    root = tmp_path_factory.mktemp("max-registry")
    p = params.build("region", "2025-11", 42)
    (root / "registry").mkdir()
    write_registry(p, str(root / "registry"))
    generate_max(p, str(root))
    return rows(root / "max" / "registry" / "pages.csv")


def test_max_pages_load_with_chat_id_and_link(migrated: Warehouse, tmp_path: Path, max_rows) -> None:
    """A registry listing MAX channels (chat id in screen_name, https://max.ru/… in url) loads whole."""
    folder = tmp_path / "registry"
    shutil.copytree(SAMPLE, folder)
    pages = rows(folder / "pages.csv")
    assert max_rows and {r["network"] for r in max_rows} == {"max"}
    write(folder / "pages.csv", pages + max_rows)

    result = load_registry(migrated, folder)

    assert result["quarantined"] == 0
    loaded = migrated.query(
        "SELECT page_id, screen_name, url, vk_group_id FROM core.dim_page"
        " WHERE network = 'max' ORDER BY page_id"
    )
    assert [(r["page_id"], r["screen_name"], r["url"]) for r in loaded] == sorted(
        (r["page_id"], r["screen_name"], r["url"]) for r in max_rows
    )
    assert all(r["vk_group_id"] is None and r["url"].startswith("https://max.ru/") for r in loaded)
    assert migrated.scalar("SELECT COUNT(*) FROM core.dim_page") == len(pages) + len(max_rows)


def test_an_unknown_network_is_still_quarantined(migrated: Warehouse, tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    shutil.copytree(SAMPLE, folder)
    pages = rows(folder / "pages.csv")
    pages[1]["network"] = "myspace"
    write(folder / "pages.csv", pages)

    result = load_registry(migrated, folder)

    assert result["quarantined"] >= 1
    page = {"p": pages[1]["page_id"]}
    kept = migrated.scalar("SELECT COUNT(*) FROM core.dim_page WHERE page_id = :p", page)
    assert kept == 0
