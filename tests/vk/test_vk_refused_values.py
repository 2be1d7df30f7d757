"""A raw VK answer that the typed read refuses is told by its raw file's key, its line and the kind
of problem, never by its value (review finding A1): DuckDB's errors quote up to 50 characters of
the refused JSON (a commenter's id, a comment's text), and the extractor's warning, the load's
error, the task log and ``audit.load_runs.message`` (outside the restricted schema) must not."""

from __future__ import annotations

import gzip
import json
import logging
import traceback
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gospublic.infra.lake import Lake, LocalLake
from gospublic.vk.answers import sidecar_key, version
from gospublic.vk.extract import read_manifest
from tests.vk.conftest import VkWorld
from tests.vk.test_vk_sidecars import _flatten, _land, _raw_flatten
from tests.vk.test_vk_sql_flatten import DT, OBSERVED
from transforms.vk_flatten import RawFormatError

METHOD = "wall.getComments"
CITIZEN_ID = 907315246  # a commenter's VK id
CITIZEN_TEXT = "Пафнутьева Е.В., ул. Ленина 5, кв. 12"  # a comment naming its author and address
PERSONAL = (str(CITIZEN_ID), "Пафнутьева")


def _answer(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "observed_at": OBSERVED,
        "params": {"owner_id": -1, "post_id": 1},
        "response": {"count": len(items), "items": list(items)},
    }


REFUSED = [
    pytest.param(  # VK's PHP-style list in place of an object: DuckDB quotes the list's JSON
        {
            "id": 1,
            "date": 1763200000,
            "from_id": 5,
            "text": "ok",
            "thread": [
                {"from_id": CITIZEN_ID, "text": CITIZEN_TEXT, "id": 2, "date": 1763200001},
            ],
        },
        "expected OBJECT, found ARRAY",
        id="thread-as-list",
    ),
    pytest.param(  # an id given as text: DuckDB quotes the text
        {"id": 1, "date": 1763200000, "from_id": f"id{CITIZEN_ID}", "text": CITIZEN_TEXT},
        "a value that is not numerical",
        id="from-id-as-text",
    ),
]


def _shown(error: BaseException) -> str:
    """What a log shows of ``error``: its traceback, with the exceptions it chains."""
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize(("item", "kind"), REFUSED)
def test_a_refused_answer_is_told_by_file_line_and_kind_without_its_value(
    item: dict[str, Any],
    kind: str,
    tmp_path: Path,
    memory: duckdb.DuckDBPyConnection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    lake = LocalLake(tmp_path / "lake")
    keys = _land(lake, METHOD, [[_answer()], [_answer(), _answer(item)]])  # the second file's line 2

    assert lake.exists(sidecar_key(keys[0], version(METHOD)))
    assert not lake.exists(sidecar_key(keys[1], version(METHOD)))  # the extractor's typed read refused it
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"no sidecar for {keys[1]}: its typed read failed ({keys[1]}, line 2: {kind}); "
        "loads read the raw file"
    ]
    with pytest.raises(RawFormatError) as from_lake:
        _flatten(memory, lake, METHOD, keys, None)
    with pytest.raises(RawFormatError) as from_raw:
        _raw_flatten(memory, lake, METHOD, keys, None)

    for error in (from_lake.value, from_raw.value):
        assert str(error) == f"{METHOD} raw files of {DT}: {keys[1]}, line 2: {kind}"
        shown = _shown(error) + caplog.text
        for value in PERSONAL:
            assert value not in shown


def test_a_line_that_is_not_json_is_told_by_its_own_line(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    """DuckDB counts a broken line one too far; the message names the line itself."""
    lake = LocalLake(tmp_path / "lake")
    first = json.dumps(_answer(), ensure_ascii=False) + "\n"
    broken = f'{{"observed_at": "{OBSERVED}", "text": "{CITIZEN_TEXT}\n'  # the string never closes
    (key,) = _land(lake, METHOD, [(first + broken).encode()])
    with pytest.raises(RawFormatError) as refused:
        _raw_flatten(memory, lake, METHOD, [key], None)
    assert (
        str(refused.value)
        == f"{METHOD} raw files of {DT}: {key}, line 2: not JSON (unexpected control character in string)"
    )
    for value in PERSONAL:
        assert value not in _shown(refused.value)


DAY = date(2025, 11, 20)


@pytest.mark.airflow
@pytest.mark.slow
def test_a_refused_answer_reaches_neither_the_task_log_nor_audit(
    vk_world: VkWorld, dagbag: Any, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A day landed by vk_pages whose comments' raw file gets a refused answer, replayed: the load
    fails naming the raw file and line, and neither its task log nor audit.load_runs has the values."""
    caplog.set_level(logging.DEBUG)
    dag = dagbag.get_dag("vk_pages")
    assert vk_world.run(dag, DAY).state == "success"
    lake = Lake.from_connection()
    key = read_manifest(lake, DAY)["files"][METHOD][0]
    text = gzip.decompress(lake.get_bytes(key)).decode()
    line = text.count("\n") + 1
    item, kind = REFUSED[0].values
    refused = json.dumps(_answer(item), ensure_ascii=False) + "\n"
    lake.put_bytes(key, gzip.compress((text + refused).encode(), mtime=0))
    lake.delete(sidecar_key(key, version(METHOD)))  # as the extractor would have: no sidecar
    capfd.readouterr()
    caplog.clear()

    replay = vk_world.run(dag, DAY, replay=True)

    assert replay.state == "failed"
    assert {ti.task_id: ti.state for ti in replay.get_task_instances()}["load"] == "failed"
    messages = [
        r["message"]
        for r in vk_world.warehouse.query(
            "SELECT message FROM audit.load_runs WHERE partition_key = :d AND status = 'failed'",
            {"d": DAY.isoformat()},
        )
    ]
    assert messages
    out, err = capfd.readouterr()
    logged = out + err + caplog.text
    told = f"RawFormatError: {METHOD} raw files of {DAY}: {key}, line {line}: {kind}"
    assert told in logged
    for message in messages:
        assert message == f"failed: {told}"
    for value in PERSONAL:
        assert value not in logged
        assert not any(value in message for message in messages)
