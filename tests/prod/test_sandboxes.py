"""test-prod's sandboxes as its processes reach them, without the rest of the topology.

Runs in ``make test`` (seconds): the topology's VK, OK and MAX sandbox servers over a small data
set, the environment its Airflow processes get (compose's block with the ``.env`` a deployer writes:
the OK, MAX and Telegram connections included) and the driver's clocks; then the networks' own
clients, configured only by that environment, read the day's subscribers and get the truth. The
Telegram reader finds its sandbox through the connection's ``extra.boundary``, built in this process
as in a worker's task (``prod_tg_boundary`` on the workers' path).
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.prod import topology
from tests.telegram_reads import tg_participants

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2025, 11, 2)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def day_truth(data: Path, network: str, key: str, count: str, readable: str | None = None) -> dict[str, int]:
    """The day's subscribers by the network's key, of pages the truth marks readable when asked."""
    allowed = (
        {r[readable] for r in rows(data / network / "truth" / "pages.csv") if r["readable"] == "1"}
        if readable
        else None
    )
    return {
        r[key]: int(r[count])
        for r in rows(data / network / "truth" / "subscribers_daily.csv")
        if r["date"] == DAY.isoformat() and (allowed is None or r[key] in allowed)
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small data set with every network's world."""
    from sandbox.generator import cli

    out = tmp_path_factory.mktemp("prod-sandboxes-data")
    argv = ["generate", "--month", "2025-11", "--seed", "7", "--out", str(out), "--pages", "60",
            "--incidents", "300", "--bodies", "12", "--start-days-before", "3"]  # fmt: skip
    assert cli.main(argv) == 0
    return out


@pytest.fixture
def sandboxes(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The topology's sandboxes started; this process's environment as its Airflow processes'
    (a worker's path: tests/prod for the Telegram boundary); the environment given."""
    top = topology.Topology(topology.Endpoints.new(tmp_path))
    top.endpoints.sample_dir = data
    top.logs.mkdir(parents=True)
    try:
        top._sandboxes()
        env = topology.environment(top.endpoints)
        for name, value in env.items():
            if name.startswith(("AIRFLOW_CONN_GOSPUBLIC_", "GOSPUBLIC_PROD_TG_")):
                monkeypatch.setenv(name, value)
        monkeypatch.syspath_prepend(str(Path(topology.__file__).parent))
        yield env
    finally:
        assert top.stop() == []
        sys.modules.pop("prod_tg_boundary", None)


def test_each_network_connection_names_its_sandbox(sandboxes: dict[str, str]) -> None:
    ok, max_ = (json.loads(sandboxes[f"AIRFLOW_CONN_GOSPUBLIC_{n}"]) for n in ("OK", "MAX"))
    telegram = json.loads(sandboxes["AIRFLOW_CONN_GOSPUBLIC_TELEGRAM_MTPROTO"])
    assert ok["host"].startswith("http://127.0.0.1:") and max_["host"].startswith("http://127.0.0.1:")
    assert ok["host"] != max_["host"]
    assert telegram["extra"]["boundary"] == topology.TG_BOUNDARY
    assert sandboxes["GOSPUBLIC_PROD_TG_DATA"] and sandboxes["GOSPUBLIC_PROD_TG_CLOCK"]


def test_the_clients_read_the_truth_at_the_driver_s_clock(sandboxes: dict[str, str], data: Path) -> None:
    from gospublic.max.client import MaxClient, MaxResult
    from gospublic.max.extract import chat_call
    from gospublic.ok.client import OkCall, OkClient, OkResult
    from tests.prod.driver import set_clocks

    set_clocks(datetime.combine(DAY, time(23, 45), MOSCOW))

    ok_truth = day_truth(data, "ok", "gid", "members_count")
    answers: list[OkResult] = []
    call = OkCall("group.getInfo", {"uids": ",".join(ok_truth), "fields": "uid,members_count"})
    OkClient.from_connection().run([call], answers.append)
    assert [a.error_code for a in answers] == [None]
    assert {g["uid"]: g["members_count"] for g in answers[0].response} == ok_truth

    max_truth = day_truth(data, "max", "chat_id", "participants_count", readable="chat_id")
    chats: list[MaxResult] = []
    MaxClient.from_connection().run([chat_call(chat) for chat in max_truth], chats.append)
    assert all(c.ok for c in chats) and len(chats) == len(max_truth) > 0
    assert {str(c.response["chat_id"]): c.response["participants_count"] for c in chats} == max_truth

    tg_truth = day_truth(data, "tg", "username", "participants_count", readable="username")
    assert tg_truth
    assert asyncio.run(tg_participants(list(tg_truth))) == tg_truth


def test_the_telegram_sandbox_follows_the_clock_file(sandboxes: dict[str, str], data: Path) -> None:
    """The next day's clock gives the next day's subscribers: the boundary reads the driver's file."""
    from tests.prod.driver import set_clocks

    name = next(iter(day_truth(data, "tg", "username", "participants_count", readable="username")))
    by_day = {
        r["date"]: int(r["participants_count"])
        for r in rows(data / "tg" / "truth" / "subscribers_daily.csv")
        if r["username"] == name
    }
    seen = {}
    for day in ("2025-11-02", "2025-11-05"):
        set_clocks(datetime.combine(date.fromisoformat(day), time(23, 45), MOSCOW))
        seen[day] = asyncio.run(tg_participants([name]))[name]
    assert seen == {day: by_day[day] for day in seen}
    assert by_day["2025-11-02"] != by_day["2025-11-05"], "the truth does not tell the days apart"
