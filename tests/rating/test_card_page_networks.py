"""A body's report card names the network of each page it checked: «(VK id …)» beside a VK
community, the network's name beside an OK, Telegram or MAX page (each scored on its own network's
checks since issue 28), so that «page-0067: закрыты комментарии» says whose page it is."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from gospublic.rating.publication.files import render_files
from gospublic.rating.snapshot import compute_snapshot
from tests.rating.test_networks_indicators import METHODOLOGY, MONTH, _seed, _write
from transforms.methodology import load_methodology

AT = datetime(2025, 12, 3, 7, 1, 47, tzinfo=UTC)
# the other networks' pages of body n-both, with their own checks failed
OTHER_PAGES = {"ok-both": ("ok", "Одноклассники"), "tg-both": ("tg", "Telegram"), "max-both": ("max", "MAX")}


def _page_rows(card: bytes) -> dict[str, str]:
    """The first cell of each row of the card's page checks, by page id."""
    html = card.decode("utf-8")
    table = html[html.index("Проверки госпабликов") :]
    table = table[: table.index("</table>")]
    cells = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
        for c in re.findall(r"<tr><td>(.*?)</td>", table, re.S)
    ]
    return {cell.split(" ")[0]: cell for cell in cells}


def test_the_card_names_each_page_s_network(
    warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_PUBLICATION_PDF", "off")
    _seed(warehouse)
    warehouse.bulk_load(
        "mart.page_compliance_monthly",
        pd.DataFrame(
            [
                {
                    "page_id": page, "org_id": "n-both", "month": MONTH, "observed_on": date(2025, 11, 30),
                    "posts_per_week": 1.0, "posts_per_week_ok": False, "score": 50.0,
                    "failed_checks": "has_description", "network": network,
                }
                for page, (network, _) in OTHER_PAGES.items()
            ]
        ),
    )  # fmt: skip
    methodology = load_methodology(_write(tmp_path, METHODOLOGY))
    files = render_files(warehouse, compute_snapshot(warehouse, methodology, MONTH), methodology, AT)
    (card,) = [
        data for name, data in files.items() if name.startswith("cards/") and name.endswith("--n-both.html")
    ]

    rows = _page_rows(card)
    assert set(rows) == {"vk-both", *OTHER_PAGES}
    assert re.fullmatch(r"vk-both \(VK id \d+\)", rows["vk-both"]), rows["vk-both"]
    for page, (_, name) in OTHER_PAGES.items():
        assert rows[page] == f"{page} ({name})", rows[page]
