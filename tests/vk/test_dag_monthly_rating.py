"""monthly_rating end to end (DuckDB and PostgreSQL): the small region's month rated under two
methodologies, published to the lake, checked against the tables; immutability and revisions; the
published page rendered in headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gospublic.infra.lake import Lake
from gospublic.rating.snapshot import methodologies
from tests.vk.conftest import VkWorld
from tests.vk.test_dag_warehouse_build import load_world
from transforms.rating import OUTSIDE_GROUPS

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

MONTH = "2025-11"
RATED = ["penza-2025", "samara-2022"]
WHEN = datetime(2025, 12, 3, 3, tzinfo=UTC)


# Two VK days of the month are loaded (load_world): the publication gate stops the month until
# the incomplete inputs are accepted with a reason, as an operator would.
ACCEPTED = {
    "accept_incomplete_inputs": True,
    "incomplete_inputs_reason": "test: two VK days of the sample month, accepted to test publication",
}


def run_rating(dagbag, **conf):
    """Every param is given: ``dag.test`` in one process keeps an earlier run's conf in the params."""
    run_conf = {"month": MONTH, "methodologies": RATED, "republish": False, **ACCEPTED, **conf}
    return dagbag.get_dag("monthly_rating").test(logical_date=WHEN, run_conf=run_conf)


def rated_world(world: VkWorld, dagbag, tmp_path: Path, *, gate_first: bool = False) -> Lake:
    load_world(world, dagbag, tmp_path)
    built = dagbag.get_dag("warehouse_build").test(logical_date=WHEN, run_conf={"month": MONTH})
    assert built.state == "success"
    if gate_first:
        stopped = run_rating(dagbag, accept_incomplete_inputs=False, incomplete_inputs_reason=None)
        assert stopped.state == "failed"
        assert [ti.state for ti in stopped.get_task_instances() if ti.task_id == "rate"] == ["failed"]
        assert world.warehouse.scalar("SELECT COUNT(*) FROM mart.rating_snapshot") == 0
        (refusal,) = world.warehouse.query("SELECT * FROM audit.rating_gate")
        assert refusal["verdict"] == "failed" and refusal["dag_id"] == "monthly_rating"
        assert "VK: не загружено дней — 28 из 30" in refusal["message"]
        assert "VK: 28 of 30 days not loaded" in refusal["message"]
        assert not list(Lake.from_connection().list("publish/"))
    run = run_rating(dagbag)
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    return Lake.from_connection()


def check_scores_ranks_and_zones(world: VkWorld, methodology_id: str) -> str:
    wh = world.warehouse
    (snapshot,) = wh.query(
        "SELECT * FROM mart.rating_snapshot WHERE methodology_id = :m", {"m": methodology_id}
    )
    assert snapshot["status"] == "published" and snapshot["revision"] == 1
    sid = snapshot["snapshot_id"]
    bodies = wh.query_df("SELECT * FROM mart.rating_monthly WHERE snapshot_id = :s", {"s": sid})
    points = wh.query_df("SELECT * FROM mart.rating_indicator WHERE snapshot_id = :s", {"s": sid})
    rated = bodies[bodies["is_rated"]]
    assert len(rated) > 10
    sums = points.groupby("org_id")["weighted_points"].sum()
    weights = points.groupby("org_id")["weight"].sum()
    green, yellow = methodologies()[methodology_id].zones
    for row in rated.itertuples():
        assert row.score == pytest.approx(round(sums[row.org_id], 1), abs=1e-9)
        assert weights[row.org_id] == pytest.approx(100.0, abs=1e-3)
        assert row.zone == ("green" if row.score >= green else "yellow" if row.score >= yellow else "red")
    for _, group in rated.groupby("rating_group"):
        ordered = group.sort_values("score", ascending=False)
        ranks = ordered["rank"].astype(int).tolist()
        assert ranks[0] == 1 and all(b - a in (0, 1) for a, b in pairwise(ranks))
        for score, same in ordered.groupby("score"):
            assert same["rank"].nunique() == 1, score  # ties share a place
        assert (group["ranked_in_group"] == len(group)).all()
    assert bodies.loc[~bodies["is_rated"], "score"].isna().all()
    return sid


def check_published_files(world: VkWorld, lake: Lake, methodology_id: str, sid: str) -> str:
    root = f"publish/rating/{MONTH}/{methodology_id}/rev-1"
    table = world.warehouse.query_df("SELECT * FROM mart.rating_monthly WHERE snapshot_id = :s", {"s": sid})
    rows = list(csv.DictReader(io.StringIO(lake.get_bytes(f"{root}/rating.csv").decode("utf-8"))))
    assert {(r["org_id"], r["score"], r["rank"]) for r in rows} == {
        (r.org_id, "" if r.score != r.score else f"{r.score}", "" if r.rank != r.rank else str(int(r.rank)))
        for r in table.itertuples()
    }
    payload = json.loads(lake.get_bytes(f"{root}/rating.json"))
    assert payload["snapshot_id"] == sid and len(payload["rows"]) == len(table)
    # groups: those of the methodology holding a body of the table; bodies outside every group
    # are listed as not rated, never as a group (docs/publication.md)
    groups = [g for g in table["rating_group"].unique() if g != OUTSIDE_GROUPS]
    rated, unrated = int(table["is_rated"].sum()), int((~table["is_rated"]).sum())
    workbook = load_workbook(io.BytesIO(lake.get_bytes(f"{root}/rating.xlsx")))
    assert workbook.sheetnames[len(groups) :] == ["Не оценены", "Показатели", "Методика"]
    group_sheets = workbook.worksheets[: len(groups)]
    assert sum(ws.max_row - 2 for ws in group_sheets) == rated
    assert workbook["Не оценены"].max_row - 1 == unrated
    assert group_sheets[0]["A2"].value == "Место" and group_sheets[0].freeze_panes == "C3"
    zoned = 0
    for sheet in group_sheets:
        for cells in sheet.iter_rows(min_row=3, max_col=7):
            colours = {cell.fill.fgColor.rgb for cell in cells}
            assert len(colours) == 1  # a row's columns are filled by its zone's colour, or none is
            zoned += colours != {"00000000"}
    assert zoned == table["zone"].notna().sum() > 0
    page = lake.get_bytes(f"{root}/rating.html").decode("utf-8")
    assert page.count('<table class="rating">') == len(groups) and "Методика" in page
    for name in ("rating.html", "index.html", "methodology.html"):
        text = lake.get_bytes(f"{root}/{name}").decode("utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    group_pages = [obj.key for obj in lake.list(f"{root}/groups/")]
    assert len(group_pages) == len(groups)
    cards = {obj.key.rsplit("/", 1)[-1] for obj in lake.list(f"{root}/cards/")}
    rated_ids = set(table.loc[table["is_rated"], "org_id"])
    # a card per rated body, named by its name's slug and its id, and the id-only name redirecting
    assert {c.rsplit("--", 1)[1] for c in cards if "--" in c} == {f"{org}.html" for org in rated_ids}
    assert {c for c in cards if "--" not in c} == {f"{org}.html" for org in rated_ids}
    latest = json.loads(lake.get_bytes(f"publish/rating/{MONTH}/{methodology_id}/latest.json"))
    assert latest["path"] == root
    return root


def test_month_rated_published_and_immutable(vk_world: VkWorld, dagbag, tmp_path: Path) -> None:
    world, wh = vk_world, vk_world.warehouse
    lake = rated_world(world, dagbag, tmp_path, gate_first=True)
    # the inputs' check (the rating's own check of the small world's groups is its own row)
    accepted = wh.query("SELECT * FROM audit.rating_gate WHERE verdict = 'accepted' AND stage = 'inputs'")
    assert [row["reason"] for row in accepted] == [ACCEPTED["incomplete_inputs_reason"]]
    assert set(accepted[0]["snapshot_ids"].split(", ")) == {f"{m}:{MONTH}:r1" for m in RATED}
    roots = {}
    for methodology_id in RATED:
        sid = check_scores_ranks_and_zones(world, methodology_id)
        roots[methodology_id] = check_published_files(world, lake, methodology_id, sid)
    card_key = next(o.key for o in lake.list(f"{roots['penza-2025']}/cards/") if "--" in o.key)
    card = lake.get_bytes(card_key).decode("utf-8")
    assert "Больше всего баллов потеряно" in card and "Медиана группы" in card

    # Same inputs: nothing new. Changed inputs: refused until republished as revision 2.
    before = wh.query_df("SELECT * FROM mart.rating_monthly ORDER BY snapshot_id, org_id")
    csv_before = lake.get_bytes(f"{roots['penza-2025']}/rating.csv")
    assert run_rating(dagbag).state == "success"
    assert wh.scalar("SELECT COUNT(*) FROM mart.rating_snapshot") == 2
    assert lake.get_bytes(f"{roots['penza-2025']}/rating.csv") == csv_before
    wh.execute(
        "UPDATE mart.rating_base SET im_satisfied_share = 0.05 "  # penza-2025 reads IM satisfaction
        "WHERE org_id = (SELECT MIN(org_id) FROM mart.rating_base)"
    )
    refused = run_rating(dagbag, methodologies=["penza-2025"])
    assert refused.state == "failed"
    assert wh.scalar("SELECT COUNT(*) FROM mart.rating_snapshot") == 2
    republished = run_rating(dagbag, methodologies=["penza-2025"], republish=True)
    assert republished.state == "success"
    revisions = wh.query(
        "SELECT revision, status FROM mart.rating_snapshot "
        "WHERE methodology_id = 'penza-2025' ORDER BY revision"
    )
    assert revisions == [{"revision": 1, "status": "published"}, {"revision": 2, "status": "published"}]
    first = wh.query_df(
        "SELECT * FROM mart.rating_monthly WHERE snapshot_id LIKE 'penza-2025%r1' "
        "ORDER BY snapshot_id, org_id"
    )
    assert first.equals(before[before["snapshot_id"].str.startswith("penza-2025")].reset_index(drop=True))
    assert lake.get_bytes(f"{roots['penza-2025']}/rating.csv") == csv_before
    latest = json.loads(lake.get_bytes(f"publish/rating/{MONTH}/penza-2025/latest.json"))
    assert latest["path"].endswith("/rev-2") and latest["revision"] == 2


# -- the page in a browser ---------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no chromium: `make browser` installs Debian's chromium package (make test does it)")


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG, without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, width, height = 8, b"", 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    return width, height, zlib.decompress(idat)


def test_published_page_renders_in_headless_chromium(vk_world: VkWorld, dagbag, tmp_path: Path) -> None:
    if vk_world.warehouse.dialect != "duckdb":
        pytest.skip("the page is the same on both engines; rendered once")
    lake = rated_world(vk_world, dagbag, tmp_path)
    page = tmp_path / "rating.html"
    page.write_bytes(lake.get_bytes(f"publish/rating/{MONTH}/penza-2025/rev-1/rating.html"))
    shot = tmp_path / "rating.png"
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    assert len(set(pixels[: len(pixels) // 2])) > 20, "the screenshot is blank"
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count('class="rating"') >= 1 and "<svg" in dom and "Методика" in dom
