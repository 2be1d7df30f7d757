"""GOSPUBLIC_PUBLICATION_PDF without a Chromium: ``on`` fails the publication (nothing published),
``auto`` publishes without PDFs and says so in the log (docs/publication.md). Both were silent:
the PDFs were planned only when a Chromium was found, so neither check ran."""

from __future__ import annotations

import logging

import pytest

from gospublic.infra.lake import LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.rating.publication.pdf import PdfError
from tests import test_publication
from tests.publication_region import publish_region, seed_publication_region

local_lake = test_publication.local_lake  # the publication tests' fixture: a local lake, a frozen clock


@pytest.fixture
def no_chromium(local_lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> LocalLake:
    """The publication tests' lake, and no Chromium on the PATH."""
    monkeypatch.setattr("gospublic.rating.publication.pdf.shutil.which", lambda name: None)
    return local_lake


def test_on_without_chromium_fails_and_publishes_nothing(
    warehouse: Warehouse, no_chromium: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "on")
    seed_publication_region(warehouse)
    with pytest.raises(PdfError, match="no Chromium"):
        publish_region()
    assert not [o.key for o in no_chromium.list("") if o.key.endswith("latest.json")]


def test_auto_without_chromium_warns(
    warehouse: Warehouse,
    no_chromium: LocalLake,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "auto")
    seed_publication_region(warehouse)
    with caplog.at_level(logging.WARNING):
        result = publish_region()
    folder = no_chromium.root / result["path"]
    assert not list(folder.rglob("*.pdf"))
    messages = [r.getMessage() for r in caplog.records]
    assert any("no Chromium" in m for m in messages), messages
