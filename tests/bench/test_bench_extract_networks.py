"""``bench/extract_networks.py`` on the sample region's OK, MAX and Telegram worlds: what it reports
agrees with the sandboxes' own counts and with the world (no speed is asserted)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.extract_networks import main
from gospublic.max.daily import SPEC as MAX_SPEC
from gospublic.ok.daily import SPEC as OK_SPEC
from gospublic.telegram.daily import SPEC as TG_SPEC

pytestmark = pytest.mark.slow

SPECS = {"ok": OK_SPEC, "max": MAX_SPEC, "tg": TG_SPEC}
PAGE_COLUMN = {"ok": "gid", "max": "chat_id", "tg": "username"}
RATE_CODE = {"ok": "8", "max": "429"}  # the sandbox's rate-limit answer, as its stats count it
Bench = tuple[dict[str, dict[str, Any]], Path]  # the report by network, and the worlds' folder


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    """The benchmark run once on the sample region (every page of each network): its report, and
    the generated worlds."""
    folder = tmp_path_factory.mktemp("bench-networks")
    out, data = folder / "extract_networks.json", folder / "data"
    assert main(["--preset", "region", "--data", str(data), "--out", str(out)]) == 0
    return {row["network"]: row for row in json.loads(out.read_text())}, data


def world_pages(data: Path, network: str) -> set[str]:
    with (data / network / "truth" / "pages.csv").open(encoding="utf-8") as handle:
        return {row[PAGE_COLUMN[network]] for row in csv.DictReader(handle)}


def test_every_page_of_every_network_is_read_in_the_dags_batches(bench: Bench) -> None:
    report, data = bench
    assert list(report) == ["ok", "max", "tg"]
    for network, row in report.items():
        pages = len(world_pages(data, network))
        assert pages > 0 and row["pages"] == pages, network
        assert row["batches"] == math.ceil(pages / SPECS[network].batch_pages), network
        assert row["manifest_status"] == "passed", network


def test_requests_counted_by_the_client_and_by_the_sandbox_are_equal(bench: Bench) -> None:
    for network, row in bench[0].items():
        assert row["requests"] > 0, network
        assert row["requests"] == row["sandbox_requests"], network


def test_the_rate_is_requests_over_seconds_and_the_share_is_the_rate_over_the_ceiling(bench: Bench) -> None:
    for network, row in bench[0].items():
        assert row["seconds"] > 0, network
        rate = row["requests"] / row["seconds"]
        assert row["requests_per_second"] == pytest.approx(rate, abs=1e-3)
        assert row["share"] == pytest.approx(rate / row["ceiling"], abs=1e-4)
        assert row["wall_requests_per_second"] == pytest.approx(
            row["requests"] / row["wall_seconds"], abs=0.06
        )


def test_each_ceiling_is_the_one_the_sandbox_or_the_reader_enforces(bench: Bench) -> None:
    report = bench[0]
    assert (report["ok"]["ceiling"], report["ok"]["clock"]) == (10, "wall")  # --app KEY:SECRET:10
    assert (report["max"]["ceiling"], report["max"]["clock"]) == (30, "wall")  # --token TOKEN:30
    assert (report["tg"]["ceiling"], report["tg"]["clock"]) == (1, "sandbox")  # extra.pause 1 s


def test_every_http_request_landed_an_answer_or_was_rate_limited(bench: Bench) -> None:
    """A request is an answer in the lake, or a rate-limit answer retried (no faults planned)."""
    report, data = bench
    for network in ("ok", "max"):
        row = report[network]
        assert row["rate_limit_errors"] == row["sandbox_errors"].get(RATE_CODE[network], 0), network
        assert sum(row["calls"].values()) + row["rate_limit_errors"] == row["requests"], network
    pages = {n: len(world_pages(data, n)) for n in ("ok", "max")}
    assert report["ok"]["calls"]["group.getInfo"] == math.ceil(pages["ok"] / 100)
    assert report["ok"]["calls"]["mediatopic.getTopics"] >= pages["ok"]
    assert report["max"]["calls"]["getChat"] == pages["max"]


def test_telegram_seconds_are_the_readers_pauses_on_the_sandboxs_clock(bench: Bench) -> None:
    """No FLOOD_WAIT planned, none answered; the clock moved only by the pauses: n requests in b
    batches (each batch's first request waits for nothing) take (n - b) pauses."""
    report, data = bench
    row = report["tg"]
    assert row["rate_limit_errors"] == 0 and row["sandbox_errors"] == {"FLOOD_WAIT": 0, "sent_during_wait": 0}
    assert row["seconds"] == pytest.approx((row["requests"] - row["batches"]) / row["ceiling"], abs=1e-3)
    assert row["calls"]["channels.getFullChannel"] == len(world_pages(data, "tg"))
