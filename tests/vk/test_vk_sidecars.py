"""The Parquet sidecars of typed VK answers (gospublic.vk.answers): a flatten of the sidecars stages
exactly the rows, counts and errors of the raw files, on both engines, from a local and an S3
lake; a sidecar that no longer fits (another column spec, a rewritten raw file) is ignored; a day
or method lacking sidecars reads its raw files; ``python -m gospublic.cli vk-sidecars`` writes the
missing ones. The hand-written answers and oracles are tests/vk/test_vk_sql_flatten.py's."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from bench.vk_raw import land_month
from gospublic import cli
from gospublic.infra import settings
from gospublic.infra.lake import Lake, LakeError, LocalLake
from gospublic.vk.answers import (
    VERSION_KEY,
    answer_files,
    has_current_sidecar,
    land_sidecar,
    sidecar_key,
    version,
)
from gospublic.vk.extract import manifest_key, read_manifest
from gospublic.vk.flatten import METHODS, Flatten, LocalFile, flatten_for
from gospublic.vk.load import TARGETS, load_day
from tests.vk.conftest import VkWorld
from tests.vk.test_vk_sql_flatten import (
    DT,
    LINES,
    LOAD_ID,
    OBSERVED,
    PSEUDO,
    WINDOW,
    _oracle,
    _oracle_of_day,
    _s3_lake,
    _sql_rows,
    _staged,
)
from transforms.vk_flatten import RawFormatError


def _raw_key(method: str, batch: int, run: str = "run-1", dt: date = DT) -> str:
    return f"raw/vk/{method}/dt={dt.isoformat()}/run={run}/batch-{batch:04d}.jsonl.gz"


def _gzip(lines: list[dict[str, Any]] | bytes) -> bytes:
    text = (
        lines
        if isinstance(lines, bytes)
        else "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    )
    return gzip.compress(text if isinstance(text, bytes) else text.encode(), mtime=0)


def _land(
    lake: Lake, method: str, batches: list[list[dict[str, Any]] | bytes], run: str = "run-1", **kw: Any
) -> list[str]:
    """Each batch's raw file, then its sidecar, as ``extract_batch`` lands them."""
    keys = []
    for n, lines in enumerate(batches):
        key, data = _raw_key(method, n, run), _gzip(lines)
        lake.put_bytes(key, data)
        land_sidecar(lake, method, key, data, **kw)
        keys.append(key)
    return keys


def _flatten(
    connection: duckdb.DuckDBPyConnection, lake: Lake, method: str, keys: list[str], window: int | None
) -> tuple[bool, Any, list[tuple[Any, ...]]]:
    """What a load flattens of ``keys`` (sidecars or raw files): columnar?, counts, sorted rows."""
    flatten = Flatten(connection, PSEUDO)
    with answer_files(lake, method, keys) as answers:
        counts = flatten.flatten(method, answers.files, DT, LOAD_ID, window, columnar=answers.columnar)
        return answers.columnar, counts, _sql_rows(flatten)


def _raw_flatten(
    connection: duckdb.DuckDBPyConnection, lake: LocalLake, method: str, keys: list[str], window: int | None
) -> tuple[Any, list[tuple[Any, ...]]]:
    """The flatten of the raw files themselves, as before the sidecars."""
    flatten = Flatten(connection, PSEUDO)
    files = [LocalFile(key, str(lake.root / key)) for key in keys]
    return flatten.flatten(method, files, DT, LOAD_ID, window), _sql_rows(flatten)


# -- hand-written answers: every edge case --------------------------------------------------------


@pytest.mark.parametrize("method", list(LINES))
@pytest.mark.parametrize("window_start", [None, WINDOW + 1])
def test_sidecars_give_the_raw_rows_on_every_edge_case(
    method: str, window_start: int | None, tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    lake = LocalLake(tmp_path / "lake")
    lines = LINES[method]
    keys = _land(lake, method, [lines[:2], lines[2:]])
    expected, expected_counts = _oracle(method, [lake.root / key for key in keys], window_start)

    columnar, counts, rows = _flatten(memory, lake, method, keys, window_start)
    raw_counts, raw_rows = _raw_flatten(memory, lake, method, keys, window_start)

    assert columnar, "every raw file has a current sidecar"
    assert counts == raw_counts == expected_counts
    assert counts.rows > 0 and counts.rejected > 0  # error answers and `false` responses among them
    assert rows == raw_rows == expected


def test_each_engine_stages_the_same_rows_from_sidecars(migrated: Any, tmp_path: Path) -> None:
    """On the DuckDB warehouse's own connection and in memory before PostgreSQL's COPY."""
    lake = LocalLake(tmp_path / "lake")
    for method, lines in LINES.items():
        table, columns = next(t.table for t in TARGETS if t.method == method), METHODS[method].columns
        keys = _land(lake, method, [lines])
        expected, expected_counts = _oracle(method, [lake.root / key for key in keys], WINDOW)
        staged = {}
        for columnar in (True, False):
            if not columnar:
                for key in keys:
                    lake.delete(sidecar_key(key, version(method)))
            with migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:
                with answer_files(lake, method, keys) as answers:
                    assert answers.columnar == columnar
                    counts = flatten.flatten(method, answers.files, DT, LOAD_ID, WINDOW, columnar=columnar)
                assert counts == expected_counts
                assert flatten.write(tx, table, DT) == counts.rows > 0
            staged[columnar] = _staged(migrated, table, columns, DT)
        assert staged[True] == staged[False] == expected, method


NOT_JSON = b'{"observed_at": "x"\n'
ANSWERED: dict[str, Any] = {"observed_at": OBSERVED, "response": {"count": 0, "items": []}}
MALFORMED: list[tuple[str, list[dict[str, Any]] | bytes]] = [
    ("wall.get", [{**ANSWERED, "response": {"count": 1, "items": [{"id": "x", "owner_id": -5, "date": 1}]}}]),
    ("wall.get", [{**ANSWERED, "response": {"count": 1, "items": [{"owner_id": -5, "date": 1}]}}]),  # no id
    ("wall.get", [{"response": {"count": 0, "items": []}}]),  # no observed_at
    ("wall.getComments", [ANSWERED]),  # no params
    ("groups.getById", [{**ANSWERED, "response": {"groups": [{"id": 1, "members_count": "many"}]}}]),
    ("wall.get", [{**ANSWERED, "observed_at": "yesterday"}]),
    ("wall.get", NOT_JSON),
    ("groups.getById", b"[1, 2]\n"),  # JSON, not an object
]


@pytest.mark.parametrize(("method", "bad"), MALFORMED)
def test_a_malformed_answer_gives_the_same_error_naming_the_raw_file(
    method: str, bad: list[dict[str, Any]] | bytes, tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    """Whether the extractor's typed read refused the file (no sidecar: the load reads the raw
    file) or kept it (the flatten of the sidecar finds the answer malformed), the load fails with
    the raw path's very message, naming the raw file's key."""
    lake = LocalLake(tmp_path / "lake")
    good = [
        {
            "observed_at": OBSERVED,
            "params": {"owner_id": -1, "post_id": 1},
            "response": {"count": 0, "items": []},
        }
    ]
    keys = _land(lake, method, [good, bad])

    with pytest.raises(RawFormatError) as from_lake:
        _flatten(memory, lake, method, keys, None)
    with pytest.raises(RawFormatError) as from_raw:
        _raw_flatten(memory, lake, method, keys, None)

    assert str(from_lake.value) == str(from_raw.value)
    assert keys[1] in str(from_lake.value) or f"{method} raw files of {DT}" in str(from_lake.value)
    if bad == NOT_JSON:  # no sidecar: the raw read names the file
        assert not lake.exists(sidecar_key(keys[1], version(method)))
        assert keys[1] in str(from_lake.value)


def test_malformed_answers_with_sidecars_are_flattened_from_them(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    """The malformed cases above that the typed read keeps do reach the flatten through sidecars
    (so that the comparison above is not between two raw reads)."""
    kept = 0
    for n, (method, bad) in enumerate(MALFORMED):
        lake = LocalLake(tmp_path / f"lake-{n}")
        (key,) = _land(lake, method, [bad])
        if has_current_sidecar(lake, method, key):
            kept += 1
            with answer_files(lake, method, [key]) as answers:
                assert answers.columnar
    assert kept == 6  # missing fields, a number given as text, a bad timestamp, a line not an object


# -- sidecars that do not fit ---------------------------------------------------------------------


def _sql_root(tmp_path: Path, change: tuple[str, str, str]) -> Path:
    """A copy of sql/flatten with one text replaced in one file (another spec)."""
    root = tmp_path / "sql"
    shutil.copytree(settings.sql_dir() / "flatten", root / "flatten")
    name, old, new = change
    text = (root / "flatten" / name).read_text(encoding="utf-8")
    assert old in text
    (root / "flatten" / name).write_text(text.replace(old, new), encoding="utf-8")
    return root


def test_the_version_follows_the_typed_read_and_the_macros_it_calls(tmp_path: Path) -> None:
    spec = _sql_root(
        tmp_path / "a", ("vk_post_answers.sql", '"text" VARCHAR,', '"text" VARCHAR, signer_id BIGINT,')
    )
    groups = _sql_root(tmp_path / "b", ("vk_macros.sql", '"site": "VARCHAR"', '"site": "JSON"'))
    truth = _sql_root(tmp_path / "c", ("vk_macros.sql", "'false', '\"\"'", "'false', '0', '\"\"'"))
    assert version("wall.get", spec) != version("wall.get")
    assert version("wall.getComments", spec) == version("wall.getComments")
    assert version("groups.getById", groups) != version("groups.getById")  # VK_GROUPS is part of the read
    assert version("wall.get", groups) == version("wall.get")
    assert {m: version(m, truth) for m in METHODS} == {m: version(m) for m in METHODS}  # a flatten macro
    assert len({version(m) for m in METHODS}) == 3


def test_a_sidecar_of_another_version_is_ignored(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    """A sidecar written under another column spec is not looked at (its name differs), and one
    renamed to the current version is refused by its metadata: the raw files are read."""
    lake, method = LocalLake(tmp_path / "lake"), "wall.get"
    old_root = _sql_root(
        tmp_path, ("vk_post_answers.sql", '"text" VARCHAR,', '"text" VARCHAR, signer_id BIGINT,')
    )
    keys = _land(lake, method, [LINES[method]], root=old_root)
    old = sidecar_key(keys[0], version(method, old_root))
    assert lake.exists(old) and not lake.exists(sidecar_key(keys[0], version(method)))
    expected = _raw_flatten(memory, lake, method, keys, WINDOW)

    columnar, counts, rows = _flatten(memory, lake, method, keys, WINDOW)
    assert (columnar, counts, rows) == (False, *expected)

    lake.put_bytes(sidecar_key(keys[0], version(method)), lake.get_bytes(old))  # renamed, not rewritten
    with caplog.at_level("WARNING"):
        columnar, counts, rows = _flatten(memory, lake, method, keys, WINDOW)
    assert (columnar, counts, rows) == (False, *expected)
    assert f"{VERSION_KEY}='{version(method, old_root)}'" in caplog.text


def test_a_raw_file_rewritten_after_its_sidecar_is_read_itself(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    """The sidecar records its raw file's gzip trailer: a raw file changed since (a repair, a test
    dropping answers) no longer matches, and its rows are the raw file's new ones."""
    lake, method = LocalLake(tmp_path / "lake"), "wall.getComments"
    keys = _land(lake, method, [LINES[method], LINES[method][1:]])
    assert _flatten(memory, lake, method, keys, None)[0]
    lake.put_bytes(keys[0], _gzip(LINES[method][2:]))  # fewer answers, no new sidecar

    columnar, counts, rows = _flatten(memory, lake, method, keys, None)
    assert not columnar
    assert (counts, rows) == _raw_flatten(memory, lake, method, keys, None)
    assert rows == _oracle(method, [lake.root / key for key in keys], None)[0]


def test_a_sidecar_without_its_raw_file_is_not_read(tmp_path: Path) -> None:
    """The raw file is the source of truth: gone, the load fails naming it, sidecar or not."""
    lake, method = LocalLake(tmp_path / "lake"), "groups.getById"
    keys = _land(lake, method, [LINES[method], LINES[method]])
    lake.delete(keys[1])
    assert lake.exists(sidecar_key(keys[1], version(method)))
    with pytest.raises(LakeError, match=keys[1]), answer_files(lake, method, keys):
        pass


def test_a_method_with_one_file_lacking_its_sidecar_reads_the_raw_files(
    tmp_path: Path, memory: duckdb.DuckDBPyConnection
) -> None:
    lake, method = LocalLake(tmp_path / "lake"), "wall.get"
    keys = _land(lake, method, [LINES[method][:2], LINES[method][2:]])
    lake.delete(sidecar_key(keys[1], version(method)))
    columnar, counts, rows = _flatten(memory, lake, method, keys, WINDOW)
    assert not columnar
    assert (counts, rows) == _raw_flatten(memory, lake, method, keys, WINDOW)


@pytest.mark.s3
def test_the_tail_of_an_object_local_and_s3(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    for lake in (LocalLake(tmp_path / "lake"), _s3_lake(request)):
        lake.put_bytes("a/long", bytes(range(200)) * 10)
        lake.put_bytes("a/short", b"abc")
        lake.put_bytes("a/empty", b"")
        assert lake.tail("a/long", 8) == (bytes(range(200)) * 10)[-8:]
        assert lake.tail("a/short", 8) == b"abc"
        assert lake.tail("a/empty", 8) == b""
        with pytest.raises(LakeError, match="a/missing"):
            lake.tail("a/missing", 8)


# -- the sandbox's answers landed by the extractor, through the load -----------------------------

DAYS = [date(2025, 11, 25), date(2025, 11, 26)]


def _sidecars(lake: Lake, dt: date) -> dict[str, list[str]]:
    files = read_manifest(lake, dt)["files"]
    return {method: [sidecar_key(key, version(method)) for key in keys] for method, keys in files.items()}


@pytest.mark.slow
@pytest.mark.parametrize("lake_kind", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_a_mixed_lake_loads_what_the_raw_files_hold(
    vk_world: VkWorld, lake_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The extractor lands a sidecar beside every raw file; a day keeping them all loads them, a day
    with a method's batch or all of its sidecars gone reads those methods' raw files: every day's
    staged rows, counts and load runs are the Python flatten's (the oracle) either way."""
    wh = vk_world.warehouse
    lake: Lake = LocalLake(tmp_path / "lake") if lake_kind == "local" else _s3_lake(request)
    land_month(vk_world.data, lake, DAYS, batch_pages=15)  # 40 pages: 3 batches a method
    sidecars = {dt: _sidecars(lake, dt) for dt in DAYS}
    assert all(
        lake.exists(key) for by_method in sidecars.values() for keys in by_method.values() for key in keys
    )
    assert all(len(keys) >= 2 for keys in sidecars[DAYS[1]].values())
    for key in [*sidecars[DAYS[0]]["wall.getComments"], sidecars[DAYS[1]]["wall.get"][1]]:
        lake.delete(key)  # day 1 lost its comments' sidecars (older lake), day 2 one batch of posts'
    expected_sources = {
        DAYS[0]: {"groups.getById": "sidecars", "wall.get": "sidecars", "wall.getComments": "raw"},
        DAYS[1]: {"groups.getById": "sidecars", "wall.get": "raw", "wall.getComments": "sidecars"},
    }

    for dt in DAYS:
        oracle = _oracle_of_day(lake, dt, tmp_path / dt.isoformat())
        result = load_day(wh, lake, dt, PSEUDO)

        assert result["answers"] == expected_sources[dt]
        for target in TARGETS:
            rows, counts = oracle[target.method]
            assert _staged(wh, target.table, METHODS[target.method].columns, dt) == rows, target.table
            assert result["counts"][target.method] == {
                "read": counts.read, "rejected": counts.rejected, "written": counts.rows,
            }  # fmt: skip
        assert result["posts_before_window"] == oracle["wall.get"][1].before_window
        runs = wh.query(
            "SELECT source, rows_read, rows_written, rows_rejected FROM audit.load_runs "
            "WHERE partition_key = :day AND source LIKE 'vk/%'",
            {"day": dt.isoformat()},
        )
        assert {r["source"]: (r["rows_read"], r["rows_written"], r["rows_rejected"]) for r in runs} == {
            f"vk/{m}": (c.read, c.rows, c.rejected) for m, (_, c) in oracle.items()
        }
    assert oracle["wall.getComments"][1].rows > 0 and oracle["wall.get"][1].rejected > 0


@pytest.mark.slow
def test_the_backfill_command_writes_the_missing_sidecars_once(
    vk_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vk-sidecars`` writes what the extractor would have (a lake landed before the sidecars, a
    sidecar of an older spec), leaves current ones alone, says which days have no manifest; a
    second run writes nothing."""
    lake = LocalLake(tmp_path / "lake")
    monkeypatch.setenv(
        "GOSPUBLIC_VK_MAX_FAILED_SHARE", "0.1"
    )  # as vk_world: 2 of 36 pages are closed/private
    land_month(vk_data, lake, DAYS, batch_pages=15)  # the bench's landing: the extractor itself
    landed = {
        key: lake.get_bytes(key) for dt in DAYS for keys in _sidecars(lake, dt).values() for key in keys
    }
    assert len(landed) >= 12
    for key in landed:
        lake.delete(key)
    first_raw = read_manifest(lake, DAYS[0])["files"]["wall.get"][0]
    old_root = _sql_root(
        tmp_path, ("vk_post_answers.sql", '"text" VARCHAR,', '"text" VARCHAR, signer_id BIGINT,')
    )
    land_sidecar(lake, "wall.get", first_raw, lake.get_bytes(first_raw), root=old_root)  # another spec's
    kept = sidecar_key(first_raw, version("wall.get", old_root))
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_LAKE", json.dumps({"conn_type": "fs", "extra": {"path": str(lake.root)}})
    )
    span = ["vk-sidecars", "--from", DAYS[0].isoformat(), "--to", (DAYS[-1] + timedelta(days=1)).isoformat()]

    assert cli.main(span) == 0
    out = capsys.readouterr().out
    assert f"{len(landed)} sidecars written, 0 already current" in out
    assert f"no manifest for {DAYS[-1] + timedelta(days=1)}" in out
    for key, data in landed.items():
        assert _rows_of(lake, key) == _rows_of_bytes(data, tmp_path / "landed.parquet"), key
    stamps = {key: (lake.root / key).stat().st_mtime_ns for key in landed}

    assert cli.main(span) == 0
    assert f"0 sidecars written, {len(landed)} already current" in capsys.readouterr().out
    assert {key: (lake.root / key).stat().st_mtime_ns for key in landed} == stamps
    assert lake.exists(kept)  # another version's sidecar is not the backfill's to remove
    assert cli.main(["vk-sidecars", "--from", "2025-11-26", "--to", "2025-11-25"]) == 2


def test_prune_stale_deletes_only_the_sidecars_of_a_retired_version(
    lake: Lake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vk-sidecars --prune-stale`` deletes, in the days asked, the sidecars whose version is not
    their method's current one (every run, manifest or not); raw files, current sidecars, other
    days and other objects stay. ``--dry-run`` lists the same and deletes nothing. Local and S3."""
    old_root = _sql_root(
        tmp_path, ("vk_post_answers.sql", '"text" VARCHAR,', '"text" VARCHAR, signer_id BIGINT,')
    )
    assert version("wall.get", old_root) != version("wall.get")
    posts = _land(lake, "wall.get", [LINES["wall.get"][:2], LINES["wall.get"][2:]])
    groups = _land(lake, "groups.getById", [LINES["groups.getById"]])
    stale = [land_sidecar(lake, "wall.get", key, lake.get_bytes(key), root=old_root) for key in posts]
    killed_run = _land(lake, "wall.get", [LINES["wall.get"]], run="run-killed", root=old_root)  # no manifest
    stale.append(sidecar_key(killed_run[0], version("wall.get", old_root)))
    other_day = _raw_key("wall.get", 0, dt=DT + timedelta(days=3))
    lake.put_bytes(other_day, _gzip(LINES["wall.get"]))
    land_sidecar(lake, "wall.get", other_day, lake.get_bytes(other_day), root=old_root)
    lake.put_bytes(f"raw/vk/wall.get/dt={DT.isoformat()}/run=run-1/notes.answers-0123456789ab.txt", b"x")
    current = [sidecar_key(key, version(m)) for m, keys in (("wall.get", posts), ("groups.getById", groups))
               for key in keys]  # fmt: skip
    manifest = {"files": {"wall.get": posts, "groups.getById": groups}}  # the day's latest run
    lake.put_bytes(manifest_key(DT), json.dumps(manifest).encode())
    lake.delete(current[1])  # a current sidecar missing: the backfill part writes it
    before = {obj.key for obj in lake.list("raw/")}
    assert set(stale) <= before and set(current) - {current[1]} <= before and all(key for key in stale)
    span = ["vk-sidecars", "--from", (DT - timedelta(days=1)).isoformat(), "--to", DT.isoformat()]

    assert cli.main([*span, "--prune-stale", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 sidecars to write (dry run), 2 already current" in out and f"  to write: {posts[1]}" in out
    assert "stale sidecars (a retired version) to delete (dry run): 3; current kept: 2" in out
    listed = [line.split("stale: ")[1] for line in out.splitlines() if "  stale: " in line]
    assert sorted(listed) == sorted(stale)
    assert {obj.key for obj in lake.list("raw/")} == before

    assert cli.main([*span, "--prune-stale"]) == 0
    out = capsys.readouterr().out
    assert "1 sidecars written, 2 already current" in out
    assert "stale sidecars (a retired version) deleted: 3; current kept: 3" in out
    before |= {current[1]}
    assert {obj.key for obj in lake.list("raw/")} == before - set(stale)
    for key in [*posts, *groups, *killed_run, *current, other_day]:
        assert lake.exists(key), key
    assert has_current_sidecar(lake, "wall.get", posts[0]) and has_current_sidecar(lake, "wall.get", posts[1])

    assert cli.main([*span, "--prune-stale"]) == 0
    assert "deleted: 0; current kept: 3" in capsys.readouterr().out
    assert cli.main(span) == 0  # without the option nothing is deleted (the backfill alone)
    assert {obj.key for obj in lake.list("raw/")} == before - set(stale)


def _rows_of(lake: LocalLake, key: str) -> tuple[Any, dict[bytes, bytes]]:
    table = pq.read_table(lake.root / key)
    return table.to_pylist(), {k: v for k, v in (table.schema.metadata or {}).items() if b"gospublic" in k}


def _rows_of_bytes(data: bytes, path: Path) -> tuple[Any, dict[bytes, bytes]]:
    path.write_bytes(data)
    table = pq.read_table(path)
    return table.to_pylist(), {k: v for k, v in (table.schema.metadata or {}).items() if b"gospublic" in k}


@pytest.mark.parametrize("columnar", [True, False])
def test_a_bad_value_in_the_loads_transaction_is_a_raw_format_error(
    migrated: Any, tmp_path: Path, columnar: bool
) -> None:
    """A value the flatten cannot convert fails the statement inside the load's transaction (the
    DuckDB warehouse's own connection): the error is still the one naming the day's raw files, not
    the aborted transaction's."""
    lake, method = LocalLake(tmp_path / "lake"), "wall.get"
    keys = _land(lake, method, [[{**ANSWERED, "observed_at": "yesterday"}]])
    if not columnar:
        lake.delete(sidecar_key(keys[0], version(method)))
    with (
        pytest.raises(RawFormatError, match=f"{method} raw files of {DT}: Conversion Error"),
        migrated.transaction() as tx,
        flatten_for(tx, PSEUDO) as flatten,
        answer_files(lake, method, keys) as answers,
    ):
        assert answers.columnar == columnar
        flatten.flatten(method, answers.files, DT, LOAD_ID, None, columnar=answers.columnar)
    with migrated.transaction() as tx, flatten_for(tx, PSEUDO) as flatten:  # the next load is not hindered
        assert flatten.flatten(method, [], DT, LOAD_ID, None).rows == 0
