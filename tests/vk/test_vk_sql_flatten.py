"""The SQL flatten of raw VK answers (sql/flatten/, gospublic.vk.flatten) stages exactly the rows
the Python flatten (transforms/vk_flatten.py, kept as the oracle) gives: on hand-written answers
with every edge case the Python path handles, and on the sandbox's answers loaded into both
warehouses from a local and an S3 lake."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench.vk_raw import land_month
from gospublic.infra.lake import Lake, LocalLake
from gospublic.infra.warehouse import Warehouse
from gospublic.vk import flatten as flatten_module
from gospublic.vk.extract import read_manifest
from gospublic.vk.flatten import METHODS, FlatCounts, Flatten, LocalFile, flatten_for, flatten_sql
from gospublic.vk.load import TARGETS, load_day
from tests.vk.conftest import VkWorld
from transforms.pseudonymize import make_pseudonymizer
from transforms.vk_flatten import RawFormatError, flatten_gzip, memoized

DT = date(2025, 11, 15)
LOAD_ID = "vk:2025-11-15:run-1"
KEY = b"sql-flatten-test-key-0123456789"
PSEUDO = make_pseudonymizer(KEY)
OBSERVED = "2025-11-15T21:00:00.123456+00:00"
WINDOW = 1_762_900_000


# -- hand-written answers: every edge case of the Python path -----------------------------------


def _group(gid: int, **fields: Any) -> dict[str, Any]:
    return {"id": gid, "name": f"Группа {gid}", "screen_name": f"club{gid}", "is_closed": 0, **fields}


GROUP_LINES: list[dict[str, Any]] = [
    {  # API 5.199: {"groups": [...], "profiles": [...]}
        "method": "groups.getById",
        "observed_at": OBSERVED,
        "response": {
            "groups": [
                _group(
                    1,
                    members_count=15230,
                    verified=1,
                    has_photo=1,
                    cover={"enabled": 1, "images": []},
                    description="Официальная страница",
                    contacts=[{"user_id": 1}],
                    links=[],
                    site="",
                    can_message=0,
                    wall=2,
                    activity="Государственная организация",
                ),
                _group(2, deactivated="deleted"),  # deleted: no members_count, no fields
                _group(
                    3,
                    members_count=7,
                    verified=True,
                    has_photo=False,
                    cover={},
                    description=" \u00a0\n\u3000",
                    contacts=[],
                    links=[{"url": "x"}],
                    site=" https://gov.ru ",
                    can_message=True,
                    wall=0,
                ),
                _group(
                    4,
                    verified="",
                    has_photo="0",
                    cover={"enabled": 0},
                    description=None,
                    site=None,
                    can_message=[],
                    contacts=None,
                    links=None,
                ),
                _group(5, verified={}, has_photo={"a": 1}, can_message=[1], cover=None),
                _group(8, screen_name="", name='Совет, "депутатов"\nрайона', activity="", deactivated=""),
                # flags as other numbers, a count as a string (msgspec's lax mode reads it)
                _group(9, verified=0.0, has_photo=-1, can_message=0.5, members_count="123", wall="1"),
            ],
            "profiles": [],
        },
    },
    {  # before 5.139 the response was the list of groups; observed_at without a zone is UTC
        "method": "groups.getById",
        "observed_at": "2025-11-15T20:59:00",
        "response": [_group(6, members_count=0, verified=0, has_photo=1), _group(7, is_closed=2)],
    },
    {"method": "groups.getById", "observed_at": OBSERVED, "response": {"profiles": []}},  # no groups
    {"method": "groups.getById", "observed_at": OBSERVED, "response": []},  # the older shape, no groups
    {"method": "groups.getById", "observed_at": OBSERVED, "error": {"error_code": 100}},
    {"method": "groups.getById", "observed_at": OBSERVED, "response": None},  # execute's false
]


def _post(pid: int, **fields: Any) -> dict[str, Any]:
    return {"id": pid, "owner_id": -101, "date": WINDOW + pid, **fields}


POST_LINES: list[dict[str, Any]] = [
    {
        "method": "wall.get",
        "params": {"owner_id": -101, "offset": 0, "count": 10},
        "observed_at": OBSERVED,
        "response": {
            "count": 9,
            "items": [
                _post(
                    1,
                    text="Прививочная кампания 😀",
                    is_pinned=1,
                    copy_history=[{"id": 5, "owner_id": -7}],
                    attachments=[
                        {"type": "photo"},
                        {"type": "album"},
                        {"type": "posted_photo"},
                        {"type": "video"},
                        {"type": "clip"},
                        {"type": "link"},
                        {"type": "poll"},
                        {"type": "doc"},
                        {},
                    ],
                    views={"count": 1200},
                    likes={"count": 30, "user_likes": 0},
                    comments={"count": 4},
                    reposts={"count": 2},
                ),
                _post(2),  # nothing but ids and date: no counters, no text, no attachments
                _post(3, text="", attachments=[], copy_history=[], is_pinned=0, views={}, likes={}),
                _post(4, is_pinned=True, text="e\u0301\u00a0", comments={"count": 0, "can_post": 1}),
                _post(5, is_pinned=False, attachments=[{"type": "link"}, {"type": "link"}]),
                _post(-WINDOW + 10, text="before the window"),  # published before the window
            ],
        },
    },
    {"method": "wall.get", "observed_at": OBSERVED, "response": {"count": 0, "items": []}},
    {"method": "wall.get", "params": {"owner_id": -5}, "observed_at": OBSERVED, "error": {"error_code": 15}},
    {"method": "wall.get", "observed_at": OBSERVED, "response": None},
    {
        "method": "wall.get",
        "observed_at": "2025-11-15T21:00:01Z",
        "response": {
            "count": 1,
            "items": [{"id": 9, "owner_id": -202, "date": WINDOW, "views": {"count": 0}}],
        },
    },
]


def _comment(cid: int, **fields: Any) -> dict[str, Any]:
    return {"id": cid, "date": WINDOW + cid, **fields}


COMMENT_LINES: list[dict[str, Any]] = [
    {
        "method": "wall.getComments",
        "params": {"owner_id": -101, "post_id": 1, "offset": 0, "count": 100, "thread_items_count": 10},
        "observed_at": OBSERVED,
        "response": {
            "count": 3,
            "items": [
                _comment(
                    500, from_id=424242, text="Когда уберут снег?", parents_stack=[],
                    thread={
                        "count": 3,
                        "items": [
                            _comment(501, from_id=-101, text="Завтра", parents_stack=[500]),
                            _comment(502, from_id=424242, text="Спасибо", parents_stack=[500, 501]),
                            _comment(503, parents_stack=[500]),  # no from_id: "vk:0"
                        ],
                    },
                ),
                _comment(510, from_id=77, text="", thread={"count": 0, "items": []}),
                _comment(520, from_id=-101),  # the page itself, no parents_stack, no thread
                _comment(530, from_id=-999, text="другое сообщество", thread=None),
            ],
        },
    },
    {  # a full thread, read on its own (comment_id)
        "method": "wall.getComments",
        "params": {"owner_id": "-101", "post_id": "1", "comment_id": 500},
        "observed_at": "2025-11-15T21:00:02",
        "response": {"count": 1, "items": [_comment(504, from_id=424242, parents_stack=[500])]},
    },
    {
        "method": "wall.getComments",
        "params": {"owner_id": -101, "post_id": 2},
        "observed_at": OBSERVED,
        "error": {"error_code": 100, "error_msg": "post_id is invalid"},  # a deleted post
    },
    {"method": "wall.getComments", "params": {"owner_id": -101, "post_id": 3}, "observed_at": OBSERVED},
    {"method": "wall.getComments", "params": {"owner_id": -303, "post_id": 4}, "observed_at": OBSERVED,
     "response": {"count": 0, "items": []}},
]  # fmt: skip

LINES: dict[str, list[dict[str, Any]]] = {
    "groups.getById": GROUP_LINES, "wall.get": POST_LINES, "wall.getComments": COMMENT_LINES,
}  # fmt: skip


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()))
    return path


def _sql_rows(flatten: Flatten) -> list[tuple[Any, ...]]:
    return sorted(_plain_row(row) for row in flatten.connection.sql(flatten.rows_sql()).fetchall())


def _oracle(
    method: str, paths: list[Path], window_start: int | None, dt: date = DT, load_id: str = LOAD_ID
) -> tuple[list[tuple[Any, ...]], FlatCounts]:
    """The Python flatten's rows and counts of the files (the oracle)."""
    rows, rejected, before = [], 0, 0
    pseudonymize = memoized(PSEUDO)
    for path in paths:
        for flat in flatten_gzip(
            method, path.read_bytes(), dt, load_id, pseudonymize, window_start=window_start
        ):
            rows += [tuple(r.values()) for r in flat.rows()]
            rejected += flat.rejected
            before += flat.before_window
    return sorted(_plain_row(r) for r in rows), FlatCounts(len(rows), rejected, before)


def _plain_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v for v in row)


@pytest.mark.parametrize("method", list(LINES))
@pytest.mark.parametrize("window_start", [None, WINDOW + 1])
def test_sql_flatten_gives_the_python_rows_on_every_edge_case(
    method: str, window_start: int | None, tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    lines = LINES[method]
    paths = [_write(tmp_path / "a.jsonl.gz", lines[:2]), _write(tmp_path / "b.jsonl.gz", lines[2:])]
    expected, expected_counts = _oracle(method, paths, window_start)

    flatten = Flatten(memory, PSEUDO)
    counts = flatten.flatten(method, [LocalFile(p.name, str(p)) for p in paths], DT, LOAD_ID, window_start)

    assert counts == expected_counts
    assert counts.rows > 0 and counts.rejected > 0
    assert _sql_rows(flatten) == expected
    columns = [d[0] for d in memory.sql(flatten.rows_sql()).description]
    assert tuple(columns) == METHODS[method].columns


def test_the_edge_cases_hold_what_they_mean(tmp_path: Path, memory: duckdb.DuckDBPyConnection) -> None:
    """A few values spelled out, so that the oracle comparison cannot pass on two equal mistakes."""
    flatten = Flatten(memory, PSEUDO)
    paths = {m: _write(tmp_path / f"{m}.jsonl.gz", LINES[m]) for m in LINES}

    def staged(method: str, window_start: int | None = None) -> dict[Any, dict[str, Any]]:
        flatten.flatten(method, [LocalFile(method, str(paths[method]))], DT, LOAD_ID, window_start)
        relation = memory.sql(flatten.rows_sql())
        names = [d[0] for d in relation.description]
        rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
        key = (
            "comment_id"
            if method == "wall.getComments"
            else "post_id"
            if method == "wall.get"
            else "vk_group_id"
        )
        return {row[key]: row for row in rows}

    pages = staged("groups.getById")
    assert (pages[1]["verified"], pages[1]["has_cover"], pages[1]["has_contacts"], pages[1]["has_site"]) == (
        True, True, True, False,
    )  # fmt: skip
    assert (pages[2]["deactivated"], pages[2]["members_count"], pages[2]["verified"]) == (
        "deleted",
        None,
        None,
    )
    assert (pages[3]["has_description"], pages[3]["has_site"], pages[3]["has_cover"]) == (False, True, None)
    assert (pages[4]["verified"], pages[4]["has_photo"], pages[4]["can_message"]) == (False, True, False)
    assert pages[6]["observed_at"] == datetime(2025, 11, 15, 20, 59, tzinfo=UTC)

    posts = staged("wall.get", WINDOW)  # post 9 was published at the start of the window: kept
    assert sorted(posts) == [1, 2, 3, 4, 5, 9]
    one = posts[1]
    assert (one["photo_count"], one["video_count"], one["link_count"], one["other_attachment_count"]) == (
        3,
        2,
        1,
        3,
    )
    assert (one["is_pinned"], one["is_repost"], one["text_length"], one["views"]) == (True, True, 22, 1200)
    assert (posts[2]["views"], posts[2]["is_pinned"], posts[2]["text_length"]) == (None, None, 0)
    assert (posts[3]["views"], posts[3]["likes"], posts[3]["is_repost"]) == (0, 0, False)
    assert posts[4]["text_length"] == 3

    comments = staged("wall.getComments")
    assert sorted(comments) == [500, 501, 502, 503, 504, 510, 520, 530]
    assert comments[500]["author_hash"] == comments[502]["author_hash"] == PSEUDO("vk:424242")
    assert comments[503]["author_hash"] == PSEUDO("vk:0")
    assert (comments[501]["is_page_reply"], comments[501]["author_hash"]) == (True, None)
    assert (comments[520]["is_page_reply"], comments[530]["is_page_reply"]) == (True, False)
    assert (comments[502]["parent_comment_id"], comments[500]["parent_comment_id"]) == (501, None)
    assert comments[504]["vk_group_id"] == 101


def test_a_malformed_answer_names_its_file(tmp_path: Path, memory: duckdb.DuckDBPyConnection) -> None:
    flatten = Flatten(memory, PSEUDO)
    good: dict[str, Any] = {"observed_at": OBSERVED, "response": {"count": 0, "items": []}}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("wall.get", {**good, "response": {"count": 1, "items": [{"id": "x", "owner_id": -5, "date": 1}]}}),
        ("wall.get", {**good, "response": {"count": 1, "items": [{"owner_id": -5, "date": 1}]}}),
        ("wall.get", {"response": {"count": 0, "items": []}}),  # no observed_at
        ("wall.getComments", good),  # an answer without params
        ("groups.getById", {**good, "response": {"groups": [{"id": 1, "members_count": "many"}]}}),
        ("wall.get", {**good, "observed_at": "yesterday"}),
    ]
    for n, (method, bad) in enumerate(cases):
        path = _write(tmp_path / f"bad-{n}.jsonl.gz", [good, bad])
        with pytest.raises(RawFormatError, match=rf"raw/vk/{method}/bad-{n}\.jsonl\.gz|{method} raw files"):
            flatten.flatten(
                method, [LocalFile(f"raw/vk/{method}/bad-{n}.jsonl.gz", str(path))], DT, "l", None
            )
        with pytest.raises(RawFormatError):  # the oracle refuses it too
            _oracle(method, [path], None)
    not_json = tmp_path / "not-json.jsonl.gz"
    not_json.write_bytes(gzip.compress(b'{"observed_at": "x"\n'))
    with pytest.raises(RawFormatError, match=r"raw/vk/wall.get/not-json\.jsonl\.gz"):
        flatten.flatten(
            "wall.get", [LocalFile("raw/vk/wall.get/not-json.jsonl.gz", str(not_json))], DT, "l", None
        )


class _Recording:
    """A DuckDB connection that remembers every SQL text and parameter it was given."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.seen: list[str] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.seen.append(f"{sql} {params!r}")
        return self.connection.execute(sql, params)

    def sql(self, sql: str) -> Any:
        self.seen.append(sql)
        return self.connection.sql(sql)

    def register(self, name: str, table: Any) -> Any:
        self.seen.append(f"register {name} {table.column_names}")
        return self.connection.register(name, table)

    def unregister(self, name: str) -> Any:
        return self.connection.unregister(name)


def test_the_pseudonym_key_never_reaches_sql(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    recording = _Recording(memory)
    flatten = Flatten(recording, PSEUDO)  # type: ignore[arg-type]  # a recording stand-in
    path = _write(tmp_path / "c.jsonl.gz", COMMENT_LINES)
    with caplog.at_level("DEBUG"):
        flatten.flatten("wall.getComments", [LocalFile("c", str(path))], DT, LOAD_ID, None)
        hashes = {row[6] for row in memory.sql(flatten.rows_sql()).fetchall()}
    assert PSEUDO("vk:424242") in hashes
    texts = "\n".join(recording.seen) + caplog.text
    assert recording.seen and KEY.decode() not in texts and KEY.hex() not in texts
    assert "424242" not in "".join(str(h) for h in hashes)
    for method in METHODS:
        assert "hmac" not in flatten_sql(method).lower()


def test_no_files_flatten_to_nothing(memory: duckdb.DuckDBPyConnection) -> None:
    flatten = Flatten(memory, PSEUDO)
    assert flatten.flatten("wall.getComments", [], DT, LOAD_ID, None) == FlatCounts()


def test_each_engine_replaces_the_partition_and_a_method_without_files_empties_it(
    migrated: Warehouse, tmp_path: Path
) -> None:
    """Every method's edge cases staged on each engine (the DuckDB warehouse's own connection, or
    in memory then COPY) are the oracle's rows; other days stay; a day without a method's files
    leaves that method's partition empty, as the Python path did."""
    other_day = date(2025, 11, 14)
    for method, lines in LINES.items():
        table, columns = next(t.table for t in TARGETS if t.method == method), METHODS[method].columns
        path = _write(tmp_path / f"{method}.jsonl.gz", lines)
        expected, counts = _oracle(method, [path], WINDOW)
        for dt in (other_day, DT):
            with migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:
                assert flatten.flatten(method, [LocalFile("k", str(path))], dt, LOAD_ID, WINDOW) == counts
                assert flatten.write(tx, table, dt) == counts.rows > 0
        assert _staged(migrated, table, columns, DT) == expected, method
        with migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:
            assert flatten.flatten(method, [], DT, LOAD_ID, None) == FlatCounts()
            assert flatten.write(tx, table, DT) == 0
        assert migrated.scalar(f"SELECT COUNT(*) FROM {table} WHERE dt = :dt", {"dt": DT}) == 0
        assert (
            migrated.scalar(f"SELECT COUNT(*) FROM {table} WHERE dt = :dt", {"dt": other_day}) == counts.rows
        )
    table = "staging.vk_comment_observations"
    path = tmp_path / "wall.getComments.jsonl.gz"
    bad = _write(tmp_path / "bad.jsonl.gz", [{"observed_at": OBSERVED, "response": {"items": [{"id": 1}]}}])
    with pytest.raises(RawFormatError), migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:
        flatten.flatten("wall.getComments", [LocalFile("c", str(path))], DT, LOAD_ID, None)
        flatten.write(tx, table, DT)
        flatten.flatten("wall.getComments", [LocalFile("bad", str(bad))], DT, LOAD_ID, None)
    assert migrated.scalar(f"SELECT COUNT(*) FROM {table} WHERE dt = :dt", {"dt": DT}) == 0  # rolled back
    with migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:  # the next load is not hindered
        flatten.flatten("wall.getComments", [LocalFile("c", str(path))], DT, LOAD_ID, None)
        assert flatten.write(tx, table, DT) == 8


def test_a_forked_child_leaves_the_parents_in_memory_connection_alone() -> None:
    """A subprocess started with a preexec function forks and runs the at-fork handlers: nothing
    of the parent's DuckDB connection may be torn down there (its threads are not in the child;
    destroying it waited for them forever)."""
    with flatten_module._memory_connection() as connection:
        assert connection.execute("SELECT 42").fetchall() == [(42,)]
    done = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=lambda: None, timeout=120, check=False)
    assert done.returncode == 0
    with flatten_module._memory_connection() as again:
        assert again is connection


# -- the sandbox's answers, through the load, into both warehouses --------------------------------

DAY = date(2025, 11, 26)


def _staged(warehouse: Warehouse, table: str, columns: tuple[str, ...], dt: date) -> list[tuple[Any, ...]]:
    select = ", ".join(f'"{c}"' for c in columns)
    rows = warehouse.query(f"SELECT {select} FROM {table} WHERE dt = :dt", {"dt": dt})
    return sorted(_plain_row(tuple(r.values())) for r in rows)


def _oracle_of_day(
    lake: Lake, dt: date, tmp_path: Path
) -> dict[str, tuple[list[tuple[Any, ...]], FlatCounts]]:
    manifest = read_manifest(lake, dt)
    window = manifest.get("window_start")
    window_start = int(datetime.fromisoformat(window).timestamp()) if window else None
    load_id = f"vk:{dt.isoformat()}:{manifest['run_id']}"
    out = {}
    for method, keys in manifest["files"].items():
        paths = [lake.download(key, tmp_path / "oracle" / key) for key in keys]
        out[method] = _oracle(method, paths, window_start, dt, load_id)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lake_kind", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_the_load_stages_what_the_python_flatten_stages(
    vk_world: VkWorld, lake_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The sandbox's answers for a day, landed as vk_pages lands them, loaded by the SQL flatten:
    the staged rows and the audit counts equal the Python flatten's."""
    wh = vk_world.warehouse
    if lake_kind == "local":
        lake: Lake = LocalLake(tmp_path / "lake")
    else:
        lake = _s3_lake(request)
    land_month(vk_world.data, lake, [DAY])
    oracle = _oracle_of_day(lake, DAY, tmp_path)

    result = load_day(wh, lake, DAY, PSEUDO)

    for target in TARGETS:
        expected_rows, expected = oracle[target.method]
        assert _staged(wh, target.table, METHODS[target.method].columns, DAY) == expected_rows, target.table
        assert result["counts"][target.method] == {
            "read": expected.read, "rejected": expected.rejected, "written": expected.rows,
        }  # fmt: skip
    assert result["posts_before_window"] == oracle["wall.get"][1].before_window
    assert oracle["wall.getComments"][1].rows > 0 and oracle["wall.get"][1].rejected > 0
    runs = wh.query(
        "SELECT source, rows_read, rows_written, rows_rejected, rows_duplicate FROM audit.load_runs "
        "WHERE partition_key = :day AND source LIKE 'vk/%'",
        {"day": DAY.isoformat()},
    )
    assert {r["source"]: (r["rows_read"], r["rows_written"], r["rows_rejected"]) for r in runs} == {
        f"vk/{m}": (c.read, c.rows, c.rejected) for m, (_, c) in oracle.items()
    }
    assert all(r["rows_read"] == r["rows_written"] + r["rows_rejected"] + r["rows_duplicate"] for r in runs)


def _s3_lake(request: pytest.FixtureRequest) -> Lake:
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    from gospublic.infra.lake import S3Lake

    return S3Lake(bucket, endpoint_url=endpoint, region_name="us-east-1", prefix="gp")
