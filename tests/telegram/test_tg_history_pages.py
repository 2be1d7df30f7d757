"""A channel with more posts in its window than one ``messages.getHistory`` answer holds (100):
every page of its history is a request the reader paces and counts, not one Telethon sends on its
own between our pauses — the client's count equals the sandbox's, and the posts are all read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from gospublic.infra.lake import Lake
from gospublic.telegram.client import TelegramReader
from gospublic.telegram.extract import extract_batch, read_lines
from tests.telegram.conftest import DAY, MOSCOW

HISTORY_PAGE = 100  # the most messages one messages.getHistory answer holds


@pytest.fixture
def lake(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    lake_conn = {"conn_type": "fs", "extra": {"path": str(tmp_path)}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps(lake_conn))
    return Lake.from_connection()


def test_every_history_page_is_a_paced_and_counted_request(
    tg_world, tg_sandbox, tg_connection, lake: Lake
) -> None:
    start = tg_sandbox.clock.now
    window_start = datetime.combine(DAY.replace(day=1), datetime.min.time(), MOSCOW) - timedelta(days=31)
    truth = tg_world.posts_until(window_start, start)
    prolific = sorted(name for name, n in truth.items() if n > HISTORY_PAGE)[:2]
    assert prolific, f"the world has no channel with more than {HISTORY_PAGE} posts: {truth}"

    reader = TelegramReader.from_connection(**tg_sandbox.reader_options())
    outcome = extract_batch(
        reader, lake, usernames=prolific, dt=DAY, window_start=window_start, run_id="manual__pages", batch=0
    )

    assert not outcome.errors
    sent = sum(tg_sandbox.requests.values())
    assert reader.requests == sent  # every request the sandbox answered was paced and counted
    pages = sum(-(-truth[name] // HISTORY_PAGE) for name in prolific)
    assert tg_sandbox.requests["messages.getHistory"] >= pages
    assert tg_sandbox.clock.slept >= (sent - 1) * reader.config.pause  # a pause before each

    read: dict[str, set[int]] = {}
    for line in read_lines(lake, outcome.files["messages.getHistory"]):
        for message in line["response"]["messages"]:
            if datetime.fromisoformat(message["date"]) >= window_start:
                read.setdefault(line["params"]["username"], set()).add(message["id"])
    assert {name: len(ids) for name, ids in read.items()} == {name: truth[name] for name in prolific}
