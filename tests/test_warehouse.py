"""Warehouse adapter on DuckDB and PostgreSQL: bulk paths, partitions, transactions, config."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
import pytest
import sqlalchemy as sa

from gospublic.infra.model_runner import run_models
from gospublic.infra.warehouse import SCHEMAS, Warehouse, WarehouseError, arrow_to_frame

TABLE = "staging.sample"


@pytest.fixture
def sample_table(warehouse: Warehouse) -> str:
    warehouse.execute_script(
        f"""
        CREATE SCHEMA IF NOT EXISTS staging;
        CREATE TABLE {TABLE} (
            month       DATE NOT NULL,
            source      TEXT NOT NULL,
            id          BIGINT NOT NULL,
            title       TEXT,
            score       DOUBLE PRECISION,
            answered    BOOLEAN,
            created_at  TIMESTAMP WITH TIME ZONE
        );
        """
    )
    return TABLE


def _frame(month: date, source: str, ids: range, title: str = "Обращение") -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "month": [month] * n,
            "source": [source] * n,
            "id": list(ids),
            "title": [f"{title} №{i}" for i in ids],
            "score": [i / 10 for i in ids],
            "answered": [i % 2 == 0 for i in ids],
            "created_at": pd.to_datetime([datetime(2025, 11, 1, 9, 30, tzinfo=UTC)] * n),
        }
    )


def test_bulk_load_round_trips_awkward_values(warehouse: Warehouse, sample_table: str) -> None:
    awkward = pd.DataFrame(
        {
            "month": [date(2025, 11, 1)] * 5,
            "source": ["im"] * 5,
            "id": [1, 2, 3, 4, 5],
            "title": ['«Кавычки», ";" и "двойные"', "", None, "строка\nс переводом", "ёжик, запятая"],
            "score": [1.25, None, -0.5, 0.0, 1e9],
            "answered": [True, False, None, True, False],
            "created_at": pd.to_datetime(
                [
                    "2025-11-01T12:00:00+03:00",
                    None,
                    "2025-01-31T23:59:59+00:00",
                    None,
                    "2024-02-29T00:00:00Z",
                ],
                utc=True,
                format="ISO8601",
            ),
        }
    )
    assert warehouse.bulk_load(sample_table, awkward) == 5

    got = warehouse.query_df(f"SELECT * FROM {sample_table} ORDER BY id")
    assert got["title"].tolist()[:2] == ['«Кавычки», ";" и "двойные"', ""]
    assert got["title"].isna().tolist() == [False, False, True, False, False]
    assert got["title"].tolist()[3:] == ["строка\nс переводом", "ёжик, запятая"]
    assert got["score"].isna().tolist() == [False, True, False, False, False]
    assert got["answered"].tolist()[:2] == [True, False]
    assert pd.isna(got["answered"][2])
    first = pd.Timestamp(got["created_at"][0])
    assert first.tz_convert("UTC") == pd.Timestamp("2025-11-01T09:00:00Z")


def test_bulk_load_accepts_arrow_and_chunk_streams(warehouse: Warehouse, sample_table: str) -> None:
    chunks = (
        pa.Table.from_pandas(_frame(date(2025, 11, 1), "im", range(i, i + 1000)))
        for i in range(0, 5000, 1000)
    )
    assert warehouse.bulk_load(sample_table, chunks) == 5000
    assert warehouse.scalar(f"SELECT COUNT(DISTINCT id) FROM {sample_table}") == 5000


def test_replace_partition_replaces_only_its_partition(warehouse: Warehouse, sample_table: str) -> None:
    nov, dec = date(2025, 11, 1), date(2025, 12, 1)
    warehouse.bulk_load(sample_table, _frame(nov, "im", range(10)))
    warehouse.bulk_load(sample_table, _frame(nov, "pos", range(7)))
    warehouse.bulk_load(sample_table, _frame(dec, "im", range(3)))

    result = warehouse.replace_partition(
        sample_table, _frame(nov, "im", range(4), "new"), {"month": nov, "source": "im"}
    )

    assert (result.deleted, result.inserted) == (10, 4)
    counts = warehouse.query(
        f"SELECT month, source, COUNT(*) AS n FROM {sample_table} "
        "GROUP BY month, source ORDER BY month, source"
    )
    assert [(r["month"], r["source"], r["n"]) for r in counts] == [
        (nov, "im", 4),
        (nov, "pos", 7),
        (dec, "im", 3),
    ]


def test_delete_in_deletes_the_rows_of_several_values_and_learns_new_columns(
    warehouse: Warehouse, sample_table: str
) -> None:
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(10)))
    with warehouse.begin() as conn:
        assert warehouse.delete_in(conn, sample_table, "id", [1, 3, 5, 99]) == 3
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table} WHERE id IN (1, 3, 5)") == 0
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 7

    warehouse.execute(f"ALTER TABLE {sample_table} ADD COLUMN note TEXT")  # after its columns were read
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(2)).assign(note="новая"))
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table} WHERE note = 'новая'") == 2
    with pytest.raises(WarehouseError, match="has no columns"):
        warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(2)).assign(nothing=1))


def test_a_transaction_object_does_a_load_in_one_transaction_or_none_of_it(
    warehouse: Warehouse, sample_table: str
) -> None:
    """``Warehouse.transaction()``: named operations on one transaction, committed together when
    the block ends and rolled back together when it raises; no connection in the caller's hands."""
    nov, dec = date(2025, 11, 1), date(2025, 12, 1)
    warehouse.bulk_load(sample_table, _frame(nov, "im", range(10)))
    warehouse.bulk_load(sample_table, _frame(dec, "pos", range(5)))
    with warehouse.transaction() as tx:
        assert tx.replace_partition(sample_table, _frame(nov, "im", range(4)), {"month": nov}).deleted == 10
        assert tx.delete_where_in(sample_table, "id", [0, 1]) == 4  # two per month
        assert tx.replace_where_in(sample_table, "source", ["pos"], _frame(dec, "pos", range(2))) == 2
        assert tx.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 4
        assert tx.exists(f"SELECT 1 FROM {sample_table} WHERE source = :s", {"s": "pos"})
        assert tx.execute(f"UPDATE {sample_table} SET title = :t WHERE id = 2", {"t": "ответ"}) == 1
        assert [r["id"] for r in tx.query(f"SELECT id FROM {sample_table} WHERE title = 'ответ'")] == [2]
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 4

    with pytest.raises(RuntimeError, match="stop"), warehouse.transaction() as tx:
        assert tx.replace_table(sample_table, _frame(nov, "im", range(100))) == 100
        assert tx.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 100
        raise RuntimeError("stop")
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 4  # all of it rolled back
    with pytest.raises(WarehouseError, match=r"schema\.table"), warehouse.transaction() as tx:
        tx.empty("staging.sample; DROP TABLE x")


def test_load_runs_that_do_not_reconcile_are_refused(warehouse: Warehouse) -> None:
    from gospublic.infra.audit import LoadRun
    from gospublic.infra.migrations import migrate

    migrate(warehouse)
    run = LoadRun(
        load_id="test:1", source="test", partition_key="p", target_table="core.x", rows_read=5,
        rows_written=3, rows_rejected=1, started_at=datetime.now(UTC),
    )  # fmt: skip
    with (
        pytest.raises(AssertionError, match=r"do not reconcile: \['test:1'\]"),
        warehouse.transaction() as tx,
    ):
        tx.record_load_runs([run], prefix="test:")
    with warehouse.transaction() as tx:
        tx.record_load_runs([dataclasses.replace(run, rows_duplicate=1)], prefix="test:")
        tx.record_load_runs([dataclasses.replace(run, rows_rejected=2)])  # by load_id
    assert warehouse.query("SELECT rows_rejected, rows_duplicate FROM audit.load_runs") == [
        {"rows_rejected": 2, "rows_duplicate": 0}
    ]


def test_replace_partition_twice_gives_the_same_table(warehouse: Warehouse, sample_table: str) -> None:
    nov = date(2025, 11, 1)
    for _ in range(2):
        warehouse.replace_partition(
            sample_table, _frame(nov, "im", range(50)), {"month": nov, "source": "im"}
        )
    snapshot = warehouse.query_df(f"SELECT * FROM {sample_table} ORDER BY id")
    warehouse.replace_partition(sample_table, _frame(nov, "im", range(50)), {"month": nov, "source": "im"})
    again = warehouse.query_df(f"SELECT * FROM {sample_table} ORDER BY id")
    assert len(again) == 50
    pd.testing.assert_frame_equal(snapshot, again)


def test_failed_replace_leaves_the_old_partition(warehouse: Warehouse, sample_table: str) -> None:
    nov = date(2025, 11, 1)
    warehouse.bulk_load(sample_table, _frame(nov, "im", range(10)))
    broken = _frame(nov, "im", range(3)).assign(no_such_column=1)

    with pytest.raises(WarehouseError, match="no_such_column"):
        warehouse.replace_partition(sample_table, broken, {"month": nov, "source": "im"})

    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 10


def test_replace_partition_refuses_an_empty_partition(warehouse: Warehouse, sample_table: str) -> None:
    with pytest.raises(WarehouseError, match="empty partition"):
        warehouse.replace_partition(sample_table, _frame(date(2025, 11, 1), "im", range(1)), {})


@pytest.mark.parametrize("bad", ["sample", "staging.Sample", "staging.sample; DROP TABLE x", "a.b.c"])
def test_table_names_are_validated(warehouse: Warehouse, bad: str) -> None:
    with pytest.raises(WarehouseError, match=r"schema\.table"):
        warehouse.bulk_load(bad, _frame(date(2025, 11, 1), "im", range(1)))


def test_script_params_reach_only_the_statements_using_them(warehouse: Warehouse, sample_table: str) -> None:
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(10)))
    warehouse.execute_script(
        f"DELETE FROM {sample_table} WHERE id >= :cut; UPDATE {sample_table} SET title = 'x' WHERE id = 0",
        {"cut": 5},
    )
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 5
    assert warehouse.scalar(f"SELECT title FROM {sample_table} WHERE id = 0") == "x"


def _planner_rows(conn: sa.Connection, table: str) -> float | None:
    """PostgreSQL's statistics row count of ``table`` (-1 until it is first analyzed)."""
    return conn.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}
    ).scalar()


def test_analyze_gives_the_planner_the_rows_written_in_the_same_transaction(
    warehouse: Warehouse, sample_table: str
) -> None:
    with warehouse.begin() as conn:
        warehouse.bulk_load_in(conn, sample_table, _frame(date(2025, 11, 1), "im", range(500)))
        if warehouse.dialect == "postgres":
            assert _planner_rows(conn, sample_table) == -1
        warehouse.analyze_in(conn, [sample_table])  # DuckDB: nothing to do, and no error
        if warehouse.dialect == "postgres":
            assert _planner_rows(conn, sample_table) == 500
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 500
    with pytest.raises(WarehouseError, match=r"schema\.table"), warehouse.begin() as conn:
        warehouse.analyze_in(conn, ["staging.sample; DROP TABLE x"])


def test_models_analyze_the_tables_they_insert_into_when_the_rows_are_new_to_its_statistics(
    warehouse: Warehouse, sample_table: str, tmp_path
) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "900_move.sql").write_text(
        "-- a model: moves the rows of one id range into a copy\n"
        f"CREATE TABLE IF NOT EXISTS staging.sample_copy AS SELECT * FROM {sample_table} WHERE 1 = 0;\n"
        f"INSERT INTO staging.sample_copy SELECT * FROM {sample_table} WHERE id >= :low AND id < :high;\n"
        f"DELETE FROM {sample_table} WHERE id IN (SELECT id FROM staging.sample_copy);\n",
        encoding="utf-8",
    )
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(300)))
    expected = {(0, 120): 120, (120, 130): 120, (130, 180): 180}  # 10 new rows of 120 counted: not stale
    for (low, high), counted in expected.items():
        with warehouse.begin() as conn:
            run_models(conn, ["core/900_move.sql"], {"low": low, "high": high}, root=tmp_path)
            if warehouse.dialect == "postgres":
                assert _planner_rows(conn, "staging.sample_copy") == counted
                assert _planner_rows(conn, sample_table) == -1  # read and deleted from, not inserted into
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 120
    assert warehouse.scalar("SELECT COUNT(*) FROM staging.sample_copy") == 180


def test_vacuum_reclaims_deleted_rows_outside_a_transaction(warehouse: Warehouse, sample_table: str) -> None:
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(500)))
    _delete_and_count_dead(warehouse, f"DELETE FROM {sample_table} WHERE id < 200")
    assert warehouse.vacuum([sample_table]) == []  # too small to be worth it (and DuckDB: never)
    vacuumed = warehouse.vacuum([sample_table], min_bytes=0)
    assert vacuumed == ([sample_table] if warehouse.dialect == "postgres" else [])
    if warehouse.dialect == "postgres":
        with warehouse.begin() as conn:
            assert _planner_rows(conn, sample_table) == 300
            visible = conn.execute(
                sa.text("SELECT relallvisible FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                {"t": sample_table},
            ).scalar()
            assert visible > 0  # only VACUUM marks pages all-visible
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {sample_table}") == 300
    with pytest.raises(WarehouseError, match=r"schema\.table"):
        warehouse.vacuum(["staging.sample; DROP TABLE x"])


def test_vacuum_waits_for_dead_rows_but_extends_brin_indexes(warehouse: Warehouse, sample_table: str) -> None:
    """Autovacuum's rule: a few dead rows (10 of 500) wait for more; a BRIN index still covers the
    pages appended since, so a day filter skips the old days' pages. DuckDB: nothing to do."""
    if warehouse.dialect == "postgres":
        warehouse.execute(
            f"CREATE INDEX sample_id_brin ON {sample_table} USING brin (id) WITH (pages_per_range = 1)"
        )
    warehouse.bulk_load(sample_table, _frame(date(2025, 11, 1), "im", range(500)))
    _delete_and_count_dead(warehouse, f"DELETE FROM {sample_table} WHERE id < 10")
    assert warehouse.vacuum([sample_table], min_bytes=0) == []
    if warehouse.dialect == "postgres":
        assert _summarize_brin_now(warehouse) == 0  # vacuum() summarized the new pages already
    _delete_and_count_dead(warehouse, f"DELETE FROM {sample_table} WHERE id < 200")
    expected = [sample_table] if warehouse.dialect == "postgres" else []
    assert warehouse.vacuum([sample_table], min_bytes=0) == expected


def _delete_and_count_dead(warehouse: Warehouse, delete: str) -> None:
    """Run ``delete``; on PostgreSQL its dead rows reach the cumulative statistics by the commit
    (otherwise a backend reports them within a second or ten, as the server sees fit)."""
    with warehouse.begin() as conn:
        conn.execute(sa.text(delete))
        if warehouse.dialect == "postgres":
            conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))


def _summarize_brin_now(warehouse: Warehouse) -> int:
    return int(
        warehouse.scalar("SELECT brin_summarize_new_values(CAST('staging.sample_id_brin' AS regclass))")
    )


def test_catalogue(warehouse: Warehouse, sample_table: str) -> None:
    assert warehouse.table_exists(sample_table)
    assert not warehouse.table_exists("staging.missing")
    assert warehouse.table_columns(sample_table)[:3] == ["month", "source", "id"]


def test_sessions_run_in_utc(warehouse: Warehouse) -> None:
    hour = warehouse.scalar(
        "SELECT EXTRACT(HOUR FROM CAST('2025-11-01 12:00:00+03' AS TIMESTAMP WITH TIME ZONE))"
    )
    assert int(hour) == 9


def test_default_warehouse_is_the_embedded_duckdb_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", raising=False)
    monkeypatch.setenv("GOSPUBLIC_VAR_DIR", str(tmp_path))
    with Warehouse.from_connection() as wh:
        assert wh.dialect == "duckdb"
        assert wh.description == f"duckdb:{tmp_path / 'warehouse.duckdb'}"


def test_postgres_connection_never_shows_its_password(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    secret = "s3cr3t-Пароль"
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE",
        json.dumps(
            {"conn_type": "postgres", "host": "db", "login": "etl", "password": secret, "schema": "warehouse"}
        ),
    )
    with caplog.at_level("DEBUG"), Warehouse.from_connection() as wh:
        assert wh.dialect == "postgres"
        text = f"{wh!r} {wh.description} {wh.engine!r}"
    assert secret not in text
    assert secret not in caplog.text
    assert wh.description == "postgresql+psycopg://etl:***@db:5432/warehouse"


def test_unknown_connection_type_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", json.dumps({"conn_type": "mysql", "host": "x"}))
    with pytest.raises(WarehouseError, match="'mysql' is not a warehouse"):
        Warehouse.from_connection()


def test_schemas_constant_matches_the_migrations() -> None:
    from gospublic.infra import settings

    text = "".join(p.read_text() for p in sorted((settings.sql_dir() / "migrations").glob("*.sql")))
    for schema in SCHEMAS:  # the first migration's, and mart_ru of 0026 (issue 27)
        assert f"CREATE SCHEMA IF NOT EXISTS {schema};" in text


def test_duckdb_memory_limit_comes_from_the_connection(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    conn = {"conn_type": "duckdb", "extra": {"path": str(tmp_path / "w.duckdb"), "memory_limit": "512MB"}}
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_WAREHOUSE", json.dumps(conn))
    with Warehouse.from_connection() as warehouse:
        limit = warehouse.scalar("SELECT current_setting('memory_limit')")
    assert limit in ("488.2 MiB", "512.0 MB", "512MB"), limit
    with pytest.raises(WarehouseError, match="write it like 512MB"):
        Warehouse.duckdb(tmp_path / "x.duckdb", memory_limit="lots")


def _typed_rows(warehouse: Warehouse) -> str:
    """A table of every type query_frame reads, with NULLs, empty and awkward texts, big integers."""
    warehouse.execute_script(
        """
        CREATE SCHEMA IF NOT EXISTS staging;
        CREATE TABLE staging.typed (
            id BIGINT NOT NULL, big BIGINT, small INTEGER, flag BOOLEAN, day DATE, score DOUBLE PRECISION,
            happened_at TIMESTAMP WITH TIME ZONE, naive TIMESTAMP, body TEXT
        );
        """
    )
    rows = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "big": pd.array([2**62 + 1, None, -(2**53) - 3, 0, 7], dtype="Int64"),
            "small": pd.array([5, None, 1, 2, 3], dtype="Int32"),
            "flag": [True, None, False, True, False],
            "day": [date(2025, 11, 1), None, date(2024, 2, 29), date(1999, 12, 31), date(2025, 1, 1)],
            "score": [1.25, None, -0.5, 0.0, 1e9],
            "happened_at": pd.to_datetime(
                [
                    "2025-11-01T12:00:00.123456+03:00",
                    None,
                    "1969-12-31T23:59:59.5Z",
                    "2025-03-30T01:00:00Z",
                    "2025-11-30T21:00:00Z",
                ],
                utc=True,
                format="ISO8601",
            ),
            "naive": pd.to_datetime(
                ["2025-11-01 09:30:00.000001", None, "2025-11-02", "2025-11-03", "2025-11-04"],
                format="ISO8601",
            ),
            "body": ['«Кавычки», ";" и "двойные"', None, "", "строка\nс переводом, 100%", "\\N и NULL"],
        }
    )
    warehouse.bulk_load("staging.typed", rows)
    return "staging.typed"


def test_query_frame_reads_what_query_df_reads(warehouse: Warehouse) -> None:
    """The Arrow read gives query_df's values (and its dtypes, but for integers with NULLs, which stay
    exact integers instead of float64), with bind parameters, a literal % and an IN list."""
    table = _typed_rows(warehouse)
    sql = (
        f"SELECT id, big, small, flag, day, score, happened_at, naive, body, 'x%' AS percent FROM {table} "
        "WHERE id IN (:a, :b, :c, :d, :e) AND (happened_at IS NULL OR happened_at >= :since) "
        "AND (body LIKE '%' OR body IS NULL) "
        "ORDER BY id"
    )
    params = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "since": datetime(1960, 1, 1, tzinfo=UTC)}
    expected = warehouse.query_df(sql, params)
    got = warehouse.query_frame(sql, params)
    assert got.columns.tolist() == expected.columns.tolist()
    assert len(got) == 5
    assert got["big"].dtype == "Int64" and got["small"].dtype == "Int32"  # query_df: float64
    assert got["big"].tolist()[:3] == [2**62 + 1, pd.NA, -(2**53) - 3]  # exact past 2**53
    assert got["body"].tolist()[0] == '«Кавычки», ";" и "двойные"' and got["body"].tolist()[2:] == [
        "",
        "строка\nс переводом, 100%",
        "\\N и NULL",
    ]
    assert pd.isna(got["body"][1])
    assert str(got["happened_at"].dtype) == "datetime64[us, UTC]"
    assert got["happened_at"][0] == pd.Timestamp("2025-11-01T09:00:00.123456Z")
    assert got["happened_at"][2] == pd.Timestamp("1969-12-31T23:59:59.5Z")
    assert got["naive"][0] == pd.Timestamp("2025-11-01 09:30:00.000001")
    for column in expected.columns:
        if column in ("big", "small"):
            assert got[column].astype("float64").tolist() == pytest.approx(
                expected[column].tolist(), nan_ok=True
            )
            continue
        assert str(got[column].dtype) == str(expected[column].dtype), column
        pd.testing.assert_series_equal(got[column], expected[column], check_exact=True)


def test_query_arrow_keeps_the_types_of_the_columns(warehouse: Warehouse) -> None:
    table = _typed_rows(warehouse)
    arrow = warehouse.query_arrow(
        f"SELECT big, small, flag, day, happened_at, naive, body FROM {table} WHERE id > :n", {"n": 99}
    )
    assert arrow.num_rows == 0
    types = dict(zip(arrow.column_names, arrow.schema.types, strict=True))
    assert types["big"] == pa.int64() and types["small"] == pa.int32() and types["flag"] == pa.bool_()
    assert types["day"] == pa.date32() and types["body"] == pa.string()
    assert types["happened_at"] == pa.timestamp("us", tz="UTC") and types["naive"] == pa.timestamp("us")


def test_query_arrow_reads_numeric_on_duckdb_and_names_it_on_postgres(
    engine: str, warehouse: Warehouse
) -> None:
    sql = "SELECT CAST(1.5 AS NUMERIC(10, 2)) AS amount"
    if engine == "duckdb":  # DuckDB's own Arrow result: decimals, as query_df's
        assert warehouse.query_frame(sql)["amount"].tolist() == warehouse.query_df(sql)["amount"].tolist()
        return
    with pytest.raises(WarehouseError, match="amount"):
        warehouse.query_arrow(sql)


def _many_awkward_rows(rows: int) -> str:
    """A query of ``rows`` generated rows (more CSV than one of Arrow's read blocks on PostgreSQL):
    NULLs in every column, empty texts, quotes, separators, LF and CR inside texts, unicode beyond
    the BMP, a literal ``\\N``, integers past 2**53 and timestamps."""
    return f"""
        SELECT
            CAST(g AS BIGINT) AS id,
            CASE WHEN g % 7 = 0 THEN NULL ELSE CAST(g AS BIGINT) * 4503599627 + 9007199254740993 END AS big,
            CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END AS flag,
            CASE WHEN g % 5 = 0 THEN NULL
                ELSE CAST('2025-11-01 00:00:00+00' AS TIMESTAMP WITH TIME ZONE) + g * INTERVAL '1 second'
            END AS at,
            CASE WHEN g % 11 = 0 THEN NULL WHEN g % 13 = 0 THEN ''
                ELSE 'Обращение №' || CAST(g AS VARCHAR) || ', "цитата";' || chr(10)
                    || repeat('ё,"' || chr(13) || chr(10), CAST(g % 17 AS INTEGER)) || '🙂 \\N'
            END AS body
        FROM generate_series(1, {rows}) AS t (g)
        ORDER BY g
    """


def test_query_arrow_streams_many_awkward_rows_exactly(warehouse: Warehouse) -> None:
    """A result of many megabytes (PostgreSQL's COPY sends it in many blocks, Arrow reads it in
    several) comes back value for value as the rows read one by one."""
    rows = 300_000
    sql = _many_awkward_rows(rows)
    assert warehouse.scalar(f"SELECT SUM(length(body)) FROM ({sql}) AS q") > 16 * 2**20  # characters
    got = warehouse.query_arrow(sql)
    assert got.num_rows == rows
    assert got.schema.types == [pa.int64(), pa.int64(), pa.bool_(), pa.timestamp("us", tz="UTC"), pa.string()]
    expected = warehouse.query(sql)
    wrong = [n for n, (row, want) in enumerate(zip(got.to_pylist(), expected, strict=True)) if row != want]
    assert not wrong, (
        f"{len(wrong)} rows differ, first: {got.slice(wrong[0], 1).to_pylist()} {expected[wrong[0]]}"
    )
    frame, frame_df = warehouse.query_frame(sql), warehouse.query_df(sql)
    assert frame["big"].dtype == "Int64"
    assert [None if pd.isna(v) else int(v) for v in frame["big"]] == [row["big"] for row in expected]
    for column in ("id", "flag", "at", "body"):
        pd.testing.assert_series_equal(frame[column], frame_df[column], check_exact=True)


def test_query_arrow_raises_the_error_of_a_query_failing_midway(engine: str, warehouse: Warehouse) -> None:
    """A query failing after many rows were sent raises the database's error, and the warehouse
    reads again afterwards."""
    sql = (
        "SELECT g, CAST(CASE WHEN g = 150000 THEN 'x' ELSE CAST(g AS VARCHAR) END AS INTEGER) AS n "
        "FROM generate_series(1, 200000) AS t (g) ORDER BY g"
    )
    error = duckdb.ConversionException if engine == "duckdb" else psycopg.errors.InvalidTextRepresentation
    with pytest.raises(error):
        warehouse.query_arrow(sql)
    assert warehouse.query_arrow("SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_query_arrow_reads_a_literal_percent_with_and_without_bind_parameters(warehouse: Warehouse) -> None:
    sql = """SELECT 5 % 2 AS odd, 'x%%y' AS text, 1 AS "per%cent" """
    row = {"odd": 1, "text": "x%%y", "per%cent": 1}
    assert warehouse.query_arrow(sql).to_pylist() == [row] == warehouse.query(sql)
    assert warehouse.query_arrow(f"{sql}, :a AS a", {"a": 3}).to_pylist() == [{**row, "a": 3}]


def test_arrow_to_frame_keeps_integers_with_nulls_exact_and_the_rest_as_arrow_converts_them() -> None:
    table = pa.table(
        {
            "big": pa.array([2**53 + 1, None, -(2**63), 2**63 - 1], pa.int64()),
            "text": ["a", None, "", "ё"],
            "unsigned": pa.array([2**64 - 1, 2**53 + 1, None, 0], pa.uint64()),
            "tiny": pa.array([None, -128, 127, 0], pa.int8()),
            "plain": pa.array([2**53 + 1, 1, 2, 3], pa.int64()),
            "small": pa.array([1, 2, 3, 4], pa.int16()),
            "score": [1.5, None, 0.0, -2.0],
        }
    )
    frame = arrow_to_frame(table)
    assert frame.columns.tolist() == table.column_names
    assert [str(frame[c].dtype) for c in ("big", "unsigned", "tiny", "plain", "small")] == [
        "Int64",
        "UInt64",
        "Int8",
        "int64",
        "int16",
    ]
    assert frame["big"].tolist() == [2**53 + 1, pd.NA, -(2**63), 2**63 - 1]
    assert frame["unsigned"].tolist() == [2**64 - 1, 2**53 + 1, pd.NA, 0]
    assert frame["tiny"].tolist() == [pd.NA, -128, 127, 0]
    assert frame["plain"].tolist() == [2**53 + 1, 1, 2, 3]
    plain = table.drop_columns(["big", "unsigned", "tiny"]).to_pandas()
    for column in plain.columns:
        pd.testing.assert_series_equal(frame[column], plain[column], check_exact=True)
    assert frame.index.equals(pd.RangeIndex(4))
    empty = table.slice(0, 0)  # no NULLs: Arrow's own conversion
    pd.testing.assert_frame_equal(arrow_to_frame(empty), empty.to_pandas())
