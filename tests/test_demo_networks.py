"""The demo for every network (issue 28): ``sandbox generate`` writes the OK, MAX and Telegram
worlds beside VK's without changing a byte of the data set; the demo's plan runs each network's
DAG on every day of the month before the month's builds, at the DAG's own time of the day; the
demo's sandboxes answer the real clients through the connections it sets, and its registry
carries the MAX channels; one demo day lands every network's answers in the lake."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sandbox import demo
from sandbox.generator import cli, params
from sandbox.generator.pipeline import NETWORK_WORLDS, generate, generate_worlds
from tests.telegram_reads import tg_participants

MOSCOW = ZoneInfo("Europe/Moscow")
MONTH = "2025-11"
SMALL = {"pages": 60, "incidents": 300, "bodies": 12, "start_days_before": 3}
SMALL_ARGS = ["--pages", "60", "--incidents", "300", "--bodies", "12", "--start-days-before", "3"]
DAY = date(2025, 11, 2)
# each extraction DAG's folder in the lake: raw/<the registry's network code>
RUN_LINE = re.compile(r"^\d+/\d+ (\S+ \S+): (\w+) in ", re.MULTILINE)
TRUTH_LINE = re.compile(r"^demo: truth (\w+ \w+) of [^:]+: (reconciled|NOT reconciled)", re.MULTILINE)
RAW = {"vk_pages": "raw/vk", "ok_pages": "raw/ok", "max_pages": "raw/max", "tg_pages": "raw/tg"}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def generate_cli(out: Path, *extra: str) -> None:
    argv = ["generate", "--month", MONTH, "--seed", "7", "--out", str(out), *SMALL_ARGS, *extra]
    assert cli.main(argv) == 0


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small data set as ``make sample`` writes one: every network's world."""
    out = tmp_path_factory.mktemp("demo-data")
    generate_cli(out)
    return out


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- the generator ----------------------------------------------------------------------------


def test_generate_writes_every_world_and_leaves_the_data_set_s_bytes_alone(
    data: Path, tmp_path: Path
) -> None:
    alone = tmp_path / "alone"
    generate(params.build("region", MONTH, 7, **SMALL), str(alone))
    written = digests(data)
    # the registry, the VK world, the exports, the truth and manifest.json: as generate() alone writes them
    assert {k: v for k, v in written.items() if k.split("/")[0] not in NETWORK_WORLDS} == digests(alone)
    # each world: as its own command (generate-ok, generate-max, generate-tg) writes it beside them
    generate_worlds(params.build("region", MONTH, 7, **SMALL), str(alone))
    assert digests(alone) == written
    for network in NETWORK_WORLDS:
        assert (data / network / "manifest.json").is_file(), network
    assert {"ok/topics.jsonl.gz", "max/messages.jsonl.gz", "tg/messages.jsonl.gz"} <= written.keys()


def test_generate_writes_the_worlds_asked_for(tmp_path: Path) -> None:
    generate_cli(tmp_path / "vk", "--networks", "none")
    assert not any((tmp_path / "vk" / network).exists() for network in NETWORK_WORLDS)
    generate_cli(tmp_path / "max", "--networks", "max")
    assert [n for n in NETWORK_WORLDS if (tmp_path / "max" / n).exists()] == ["max"]
    with pytest.raises(SystemExit):
        generate_cli(tmp_path / "bad", "--networks", "ok,facebook")


# --- the plan ---------------------------------------------------------------------------------


def test_the_plan_runs_every_network_dag_on_every_day_before_the_month_s_builds() -> None:
    days = demo.month_days(MONTH)
    exports = {date(2025, 11, 8): [Path("exports/im/a.csv")], date(2025, 12, 1): [Path("exports/pos/b.csv")]}
    networks = ("ok_pages", "max_pages", "tg_pages")
    steps = demo.plan(MONTH, days, exports, networks)

    assert [s.dag_id for s in steps[:1]] == ["registry"]
    assert [s.dag_id for s in steps[-2:]] == ["warehouse_build", "monthly_rating"]
    for dag_id in ("vk_pages", *networks):
        runs = [s for s in steps if s.dag_id == dag_id]
        assert [s.when.astimezone(MOSCOW).date() for s in runs] == days, dag_id
    position = {(s.dag_id, s.when.astimezone(MOSCOW).date()): n for n, s in enumerate(steps)}
    builds = min(n for n, s in enumerate(steps) if s.dag_id == "warehouse_build")
    for day in days:
        # a day's network runs come after its vk_pages and before the next day's
        assert position[("vk_pages", day)] < min(position[(d, day)] for d in networks)
        assert max(position[(d, day)] for d in networks) < builds
    assert len(steps) == 1 + len(days) * (1 + len(networks)) + 2 + 2  # two export days
    assert len(exports) == 2  # the caller's exports are left as they were
    # a shorter demo: only its days, the month-end exports left out
    short = demo.plan(MONTH, days[:2], exports, networks, whole_month=False)
    assert [s.dag_id for s in short].count("ok_pages") == 2
    assert "incidents_ingest" not in {s.dag_id for s in short}


@pytest.mark.airflow
def test_each_network_dag_runs_at_its_schedule_s_time_of_the_day(dagbag) -> None:
    present = tuple(d for d in demo.NETWORK_DAGS if dagbag.get_dag(d) is not None)
    assert {"ok_pages", "max_pages"} <= set(present)
    steps = demo.plan(
        MONTH, demo.month_days(MONTH), {}, present,
        at=lambda dag_id, day: demo.scheduled(dagbag.get_dag(dag_id), day),
    )  # fmt: skip
    assert demo.scheduled(dagbag.get_dag("vk_pages"), DAY) == datetime.combine(DAY, time(23, 30), MOSCOW)
    for step in steps:
        if step.dag_id in ("vk_pages", *present):
            cron = dagbag.get_dag(step.dag_id).timetable.summary
            assert step.when.astimezone(MOSCOW).strftime("%M %H") == " ".join(cron.split()[:2]), (step, cron)


# --- the sandboxes ----------------------------------------------------------------------------


def test_the_demo_s_sandboxes_answer_the_real_clients(data: Path) -> None:
    from gospublic.max.client import MaxClient, MaxResult
    from gospublic.max.extract import chat_call
    from gospublic.ok.client import OkCall, OkClient, OkResult

    before = dict(os.environ)
    registry_before = digests(data / "registry")
    with demo.sandboxes(data, {"ok_pages", "max_pages", "tg_pages"}) as running:
        assert set(running.by_dag) == {"vk_pages", "ok_pages", "max_pages", "tg_pages"}
        assert not running.left_out
        running.set_clock(datetime.combine(DAY, time(23, 30), MOSCOW))  # the demo's evening run

        ok_truth = {
            r["gid"]: int(r["members_count"])
            for r in csv_rows(data / "ok" / "truth" / "subscribers_daily.csv")
            if r["date"] == DAY.isoformat()
        }
        answers: list[OkResult] = []
        fields = "uid,members_count"
        OkClient.from_connection().run(
            [OkCall("group.getInfo", {"uids": ",".join(ok_truth), "fields": fields})], answers.append
        )
        assert [a.error_code for a in answers] == [None]
        assert {g["uid"]: g["members_count"] for g in answers[0].response} == ok_truth
        assert running.by_dag["ok_pages"].requests() == 1

        readable = {
            r["chat_id"] for r in csv_rows(data / "max" / "truth" / "pages.csv") if r["readable"] == "1"
        }
        max_truth = {
            r["chat_id"]: int(r["participants_count"])
            for r in csv_rows(data / "max" / "truth" / "subscribers_daily.csv")
            if r["date"] == DAY.isoformat() and r["chat_id"] in readable
        }
        chats: list[MaxResult] = []
        MaxClient.from_connection().run([chat_call(chat) for chat in max_truth], chats.append)
        assert all(c.ok for c in chats) and len(chats) == len(max_truth) > 0
        assert {str(c.response["chat_id"]): c.response["participants_count"] for c in chats} == max_truth
        assert running.by_dag["max_pages"].requests() == len(max_truth)

        # Telegram: Telethon's own client, built by the reader from the connection's boundary
        tg_truth = {
            r["username"]: int(r["participants_count"])
            for r in csv_rows(data / "tg" / "truth" / "subscribers_daily.csv")
            if r["date"] == DAY.isoformat()
        }
        readable_tg = [
            r["username"] for r in csv_rows(data / "tg" / "truth" / "pages.csv") if r["readable"] == "1"
        ]
        assert readable_tg
        counts = asyncio.run(tg_participants(readable_tg))
        assert counts == {name: tg_truth[name] for name in readable_tg}
        assert running.by_dag["tg_pages"].requests() >= len(readable_tg)

        # the registry the demo loads: the data set's pages, then the MAX world's channels
        registry = Path(os.environ["GOSPUBLIC_REGISTRY_DIR"])
        pages = csv_rows(registry / "pages.csv")
        own = csv_rows(data / "registry" / "pages.csv")
        assert pages == own + csv_rows(data / "max" / "registry" / "pages.csv")
        assert {p["network"] for p in pages} == {"vk", "ok", "tg", "max"}
        assert (registry / "orgs.csv").read_bytes() == (data / "registry" / "orgs.csv").read_bytes()
    assert dict(os.environ) == before  # the connections and the registry folder were put back
    assert digests(data / "registry") == registry_before and not registry.exists()


def test_a_network_is_left_out_without_its_dag_or_its_world(data: Path, tmp_path: Path) -> None:
    vk_only = tmp_path / "vk-only"
    generate_cli(vk_only, "--networks", "ok")
    with demo.sandboxes(vk_only, {"ok_pages", "max_pages"}) as running:
        assert set(running.by_dag) == {"vk_pages", "ok_pages"}
        assert "generate-max" in running.left_out["max_pages"]
        # without the MAX world, the registry is the data set's own
        assert csv_rows(Path(os.environ["GOSPUBLIC_REGISTRY_DIR"]) / "pages.csv") == csv_rows(
            vk_only / "registry" / "pages.csv"
        )
    with demo.sandboxes(data, {"max_pages"}) as running:
        assert set(running.by_dag) == {"vk_pages", "max_pages"}
        assert running.left_out["ok_pages"] == "no DAG ok_pages in the DAG folder"


def test_the_demo_s_registry_loads_whole_with_its_max_channels(migrated, data: Path, tmp_path: Path) -> None:
    from gospublic.registry.load import load_registry

    folder = demo.registry_folder(data, tmp_path / "registry")
    counts = load_registry(migrated, folder)
    assert counts["quarantined"] == 0
    loaded = migrated.query("SELECT network, count(*) AS n FROM core.dim_page GROUP BY network")
    expected: dict[str, int] = {}
    for row in csv_rows(folder / "pages.csv"):
        expected[row["network"]] = expected.get(row["network"], 0) + 1
    assert {r["network"]: r["n"] for r in loaded} == expected and expected["max"] > 0


# --- the month beside the truth ---------------------------------------------------------------


@pytest.mark.parametrize("network", ["vk", "ok", "max", "tg"])
def test_each_network_lands_in_the_lake_folder_of_its_code(network: str) -> None:
    """The lake folder, the extract module's prefix and the Asset all say the registry's code."""
    import importlib

    from gospublic.orchestration import assets

    package = {"tg": "telegram"}.get(network, network)
    extract = importlib.import_module(f"gospublic.{package}.extract")
    dag_id = f"{network}_pages"
    assert extract.RAW_PREFIX == RAW[dag_id] == f"raw/{network}"
    if network != "vk":  # VK's raw answers have no Asset of their own (VK_PAGES is its tables')
        asset = getattr(assets, f"{network.upper()}_RAW")
        assert (asset.name, asset.extra["lake_prefix"]) == (f"raw/{network}", f"raw/{network}/")


def test_the_truth_tally_counts_each_kind_of_page_day() -> None:
    from sandbox.demo_truth import tally

    truth = {
        ("p1", "2025-11-01"): 3,
        ("p1", "2025-11-02"): 2,
        ("p2", "2025-11-01"): 1,
        ("p3", "2025-11-01"): 4,
    }
    found = {
        ("p1", "2025-11-01"): 3,
        ("p1", "2025-11-02"): 1,
        ("p2", "2025-11-01"): 2,
        ("p9", "2025-11-01"): 1,
    }
    counts = tally(truth, found, unreadable={"p3"})
    assert (counts.equal, counts.differ, counts.missing, counts.unreadable, counts.extra) == (1, 2, 0, 1, 1)
    assert not counts.reconciled
    # the last day of the demo: fewer posts than the truth are those posted after its run
    late = tally(truth, found, unreadable={"p3"}, last_day="2025-11-02")
    assert (late.differ, late.late) == (1, 1)
    whole = tally(truth, truth, unreadable=set())
    assert whole.reconciled and whole.equal == 4
    assert not tally(truth, {}, unreadable=set()).reconciled


# --- one demo day, end to end -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.airflow
@pytest.mark.usefixtures("migrated")
def test_one_demo_day_lands_every_network_in_the_lake(
    dagbag, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m sandbox demo --days 1``: registry, then the day's vk_pages, ok_pages and
    max_pages (and tg_pages when its DAG exists) succeed, and the lake holds each network's files
    of the day under a passed manifest (the month's rating of a one-day demo is refused by the
    publication gate: not asserted here)."""
    from gospublic.infra.lake import Lake

    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path / "lake")}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))
    first = date(2025, 11, 1)

    demo.main(["demo", "--data", str(data), "--month", MONTH, "--days", "1"])

    # the run lines: "3/7 ok_pages 2025-11-01: success in 5.6 s (27 OK requests)"
    out = capsys.readouterr().out
    found = RUN_LINE.findall(out)
    states = {label: state for label, state in found}
    networks = [d for d in demo.NETWORK_DAGS if dagbag.get_dag(d) is not None]
    assert {"ok_pages", "max_pages"} <= set(networks)
    for dag_id in ("registry", "vk_pages", *networks):
        assert states[f"{dag_id} {first}"] == "success", found
    # the day beside the truth: VK's, and each network's whose DAG loads the warehouse
    truth = dict(TRUTH_LINE.findall(out))
    codes = {"vk_pages": "vk", "ok_pages": "ok", "max_pages": "max", "tg_pages": "tg"}
    loading = ["vk_pages", *(d for d in networks if "load" in dagbag.get_dag(d).task_ids)]
    for dag_id in loading:
        for measure in ("subscribers", "posts"):
            assert truth[f"{codes[dag_id]} {measure}"] == "reconciled", out
    lake = Lake.from_connection()
    for dag_id in ("vk_pages", *networks):
        prefix = RAW[dag_id]
        keys = [o.key for o in lake.list(f"{prefix}/")]
        assert [k for k in keys if f"/dt={first}/run=" in k], (dag_id, keys)
        manifest = json.loads(lake.get_bytes(f"{prefix}/_manifests/dt={first}/latest.json"))
        assert manifest["status"] == "passed", (dag_id, manifest)
