"""The BI starter (issue 27): the Superset dashboard export in config/bi/superset and the DataLens
datasets in config/bi/datalens.

* The export's format: the files Superset's importer reads (ImportExport v1: metadata.yaml,
  databases/, datasets/<database>/, charts/, dashboards/), loaded with ``yaml.safe_load``, carry the
  keys its schemas require and no others, and their UUIDs reference each other (chart → dataset →
  database, the dashboard's position → charts); the database carries Superset's password mask only.
  An edited copy with each kind of break is found, naming its file.
* Against the warehouse: on a migrated warehouse with the sample registry loaded and November
  2025's marts built, on DuckDB (the read-only URL) and on PostgreSQL (a login in ``bi_reader``),
  every dataset's SQL runs (wrapped as Superset wraps it, ``LIMIT 0``), its declared columns are
  among the result's, every metric and SQL filter runs over it, and every column a chart uses is
  among them. Each DataLens SQL gives exactly its listed fields, and its formulas name fields of
  it. A copy whose SQL reads a column under a name the warehouse does not have, or whose chart
  reads a column its dataset renamed, fails with the column named.
* The rating datasets (Superset's and DataLens's) show the latest published revision of a month:
  with a month published, republished and drafted again, the republished revision's rows only.
"""

from __future__ import annotations

import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from gospublic import cli
from gospublic.infra.bi_starter import (
    PASSWORD_MASK,
    ZIP_ROOT,
    Bundle,
    chart_uses,
    datalens_dir,
    dataset_query,
    load_bundle,
    problems,
    superset_dir,
)
from gospublic.infra.warehouse import Warehouse
from gospublic.marts.build import build_month
from gospublic.registry.load import load_registry
from tests.registry_csv import SAMPLE

MONTH = date(2025, 11, 1)
KINDS = ("databases", "datasets", "charts", "dashboards")


# -- the export's format ------------------------------------------------------------------------


def test_the_superset_export_is_complete_and_cross_referenced() -> None:
    bundle = load_bundle()
    assert problems(bundle) == []
    metadata = bundle.files["metadata.yaml"]
    assert (metadata["version"], metadata["type"]) == ("1.0.0", "Dashboard")
    for kind in KINDS:
        assert bundle.of_kind(kind), f"no {kind}/*.yaml"
    (database,) = bundle.of_kind("databases").values()
    url = sa.make_url(database["sqlalchemy_uri"])
    assert url.password == PASSWORD_MASK and "password" not in database, "a placeholder, never a secret"
    assert (url.host, url.port, url.database, url.username) == ("127.0.0.1", 5433, "warehouse", "bi")
    datasets = bundle.by_uuid("datasets")
    for path, dataset in bundle.of_kind("datasets").items():
        assert path.startswith(f"datasets/{database['database_name']}/"), path
        assert str(dataset["database_uuid"]) == str(database["uuid"])
    (dashboard,) = bundle.of_kind("dashboards").values()
    on_dashboard = {
        node["meta"]["uuid"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "CHART"
    }
    charts = bundle.by_uuid("charts")
    assert on_dashboard == set(charts), "every chart on the dashboard, and nothing else"
    assert {str(c["dataset_uuid"]) for c in charts.values()} == set(datasets), "every dataset is charted"
    names = {c["slice_name"] for c in charts.values()}
    assert {"Рейтинг органов по группам", "Органы по зонам рейтинга"} <= names
    assert "Скорость реакции и ответа по месяцам" in names


def _edit(folder: Path, relative: str, change: Any) -> None:
    path = folder / relative
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _rename_in_chart(config: dict[str, Any]) -> None:
    config["params"]["all_columns"][3] = "Место в группе"


def _drop_metric(config: dict[str, Any]) -> None:
    config["metrics"] = [m for m in config["metrics"] if m["metric_name"] != "answer_work_hours"]


def _unplace_chart(config: dict[str, Any]) -> None:
    del config["position"]["CHART-subscribers"]
    config["position"]["ROW-pages"]["children"] = []


def _dangling_chart(config: dict[str, Any]) -> None:
    config["position"]["CHART-subscribers"]["meta"]["uuid"] = str(uuid.uuid4())


BREAKS = [
    (
        "charts/rating_table.yaml",
        _rename_in_chart,
        "charts/rating_table.yaml: column 'Место в группе' is not in its dataset",
    ),
    (
        "datasets/gospublic_warehouse/response_metrics_monthly.yaml",
        _drop_metric,
        "charts/response_speed.yaml: metric 'answer_work_hours' is not in its dataset",
    ),
    (
        "charts/subscribers.yaml",
        lambda c: c.update(dataset_uuid=str(uuid.uuid4())),
        "charts/subscribers.yaml: dataset_uuid",
    ),
    (
        "datasets/gospublic_warehouse/subscribers_daily.yaml",
        lambda c: c.update(database_uuid=str(uuid.uuid4())),
        "datasets/gospublic_warehouse/subscribers_daily.yaml: database_uuid",
    ),
    (
        "dashboards/gospublic_starter.yaml",
        _unplace_chart,
        "'Подписчики госпабликов по дням' is on no dashboard",
    ),
    ("dashboards/gospublic_starter.yaml", _dangling_chart, "names chart"),
    (
        "databases/gospublic_warehouse.yaml",
        lambda c: c.update(sqlalchemy_uri="postgresql+psycopg2://bi:real-secret@127.0.0.1:5433/warehouse"),
        "the URI's password must be Superset's mask",
    ),
    (
        "databases/gospublic_warehouse.yaml",
        lambda c: c.update(password="real-secret"),
        "must not be in the bundle",
    ),
    (
        "charts/rating_zones.yaml",
        lambda c: c.pop("dataset_uuid"),
        "charts/rating_zones.yaml: missing dataset_uuid",
    ),
    (
        "charts/rating_zones.yaml",
        lambda c: c.update(owners=[1]),
        "charts/rating_zones.yaml: unknown key owners",
    ),
    ("metadata.yaml", lambda c: c.update(version="2.0.0"), "metadata.yaml: version must be 1.0.0"),
    (
        "charts/response_shares.yaml",
        lambda c: c.update(uuid="32c932bd"),
        "charts/response_shares.yaml: uuid '32c932bd' is not a UUID",
    ),
]


@pytest.mark.parametrize(("relative", "change", "expected"), BREAKS, ids=[b[2][:40] for b in BREAKS])
def test_a_broken_copy_of_the_export_is_found(
    tmp_path: Path, relative: str, change: Any, expected: str
) -> None:
    folder = tmp_path / "superset"
    shutil.copytree(superset_dir(), folder)
    assert problems(load_bundle(folder)) == []
    _edit(folder, relative, change)
    found = problems(load_bundle(folder))
    assert any(expected in problem for problem in found), found


def test_bi_export_zips_the_export_under_one_root_and_repeats_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "bi" / "starter.zip"
    assert cli.main(["bi-export", "superset", str(out)]) == 0
    sources = sorted(p.relative_to(superset_dir()).as_posix() for p in superset_dir().rglob("*.yaml"))
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        # Superset's importer drops the first folder of every path (remove_root)
        assert sorted(names) == [f"{ZIP_ROOT}/{name}" for name in sources]
        for name in sources:
            assert archive.read(f"{ZIP_ROOT}/{name}") == (superset_dir() / name).read_bytes()
    first = out.read_bytes()
    assert cli.main(["bi-export", "superset", str(out)]) == 0
    assert out.read_bytes() == first


def test_bi_export_refuses_a_bundle_with_a_real_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    shutil.copytree(superset_dir(), home / "config" / "bi" / "superset")
    _edit(
        home / "config" / "bi" / "superset",
        "databases/gospublic_warehouse.yaml",
        lambda c: c.update(sqlalchemy_uri="postgresql+psycopg2://bi:real-secret@db:5432/warehouse"),
    )
    monkeypatch.setenv("GOSPUBLIC_HOME", str(home))
    out = tmp_path / "starter.zip"
    assert cli.main(["bi-export", "superset", str(out)]) == 1
    assert not out.exists()


# -- against the warehouse ----------------------------------------------------------------------


# November's rating under one methodology: revision 1 published, then republished as revision 2, and
# a draft revision 3; the rating dataset shows revision 2 only. (snapshot, revision, status)
REVISIONS = (("m:2025-11:r1", 1, "published"), ("m:2025-11:r2", 2, "published"), ("m:2025-11:r3", 3, "draft"))
RATED = {"org-0001": ("green", 91.5, 1), "org-0002": ("red", 40.0, 2)}  # zone, score, place


def _seed_ratings(warehouse: Warehouse) -> None:
    """The rating tables as monthly_rating leaves them after a republication and a new draft."""
    for snapshot, revision, status in REVISIONS:
        warehouse.execute(
            "INSERT INTO mart.rating_snapshot (snapshot_id, month, methodology_id, methodology_version, "
            "methodology_hash, input_fingerprint, revision, status, created_at, published_at) "
            "VALUES (:s, :month, 'm', 1, 'h', :s, :r, :status, TIMESTAMP '2025-12-03 09:00:00', NULL)",
            {"s": snapshot, "month": MONTH, "r": revision, "status": status},
        )
        for org_id, (zone, score, place) in RATED.items():
            warehouse.execute(
                "INSERT INTO mart.rating_monthly (snapshot_id, org_id, month, rating_group, incidents, "
                "is_rated, score, rank, ranked_in_group, zone) "
                "VALUES (:s, :org, :month, 'ОИВ', 10, TRUE, :score, :place, 2, :zone)",
                {
                    "s": snapshot,
                    "org": org_id,
                    "month": MONTH,
                    "score": score + revision,
                    "place": place,
                    "zone": zone,
                },
            )


@pytest.fixture
def bi_url(migrated: Warehouse, warehouse_conn: dict[str, Any]) -> Iterator[sa.URL]:
    """The sample registry loaded and the month's marts built; the URL a BI tool reads it through:
    DuckDB read-only, or PostgreSQL as a login in bi_reader. The warehouse is closed first, as the
    DAG tasks close it (DuckDB admits a reader only when no writer holds the file)."""
    load_registry(migrated, SAMPLE)
    build_month(migrated, MONTH)
    _seed_ratings(migrated)
    migrated.close()
    if warehouse_conn["conn_type"] == "duckdb":
        yield sa.make_url(f"duckdb:///{warehouse_conn['extra']['path']}?access_mode=read_only")
        return
    owner_url = sa.URL.create(
        "postgresql+psycopg",
        username=warehouse_conn["login"],
        password=warehouse_conn["password"],
        host=warehouse_conn["host"],
        port=warehouse_conn["port"],
        database=warehouse_conn["schema"],
    )
    login = f"bi_test_{uuid.uuid4().hex[:8]}"
    owner = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {login} LOGIN IN ROLE bi_reader"))
    try:
        yield owner_url.set(username=login, password=None)
    finally:
        with owner.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {login}"))
            conn.execute(sa.text(f"DROP ROLE {login}"))
        owner.dispose()


class Reader:
    """Runs a dataset's SQL as Superset and DataLens do: as a subquery, here with LIMIT 0."""

    def __init__(self, url: sa.URL) -> None:
        self.engine = sa.create_engine(url)

    def columns(self, sql: str, select: str = "*", where: str | None = None) -> list[str]:
        """The result's column names; raises the database's error (a missing table or column)."""
        query = f"SELECT {select} FROM ({sql}) AS virtual_table"
        if where:
            query += f" WHERE {where}"
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(query + " LIMIT 0")).keys())

    def refusal(self, label: str, sql: str, select: str = "*", where: str | None = None) -> list[str]:
        """The database's refusal of the query as a problem naming ``label`` (none when it runs)."""
        try:
            self.columns(sql, select, where)
        except sa.exc.DBAPIError as refused:
            return [f"{label}: {str(refused.orig).strip().splitlines()[0]}"]
        return []


def superset_problems(reader: Reader, bundle: Bundle) -> list[str]:
    """Every dataset runs and has its declared columns; its metrics run over it; its charts' columns
    and SQL filters are among / run over its result."""
    found: list[str] = []
    result_columns: dict[str, set[str]] = {}
    for path, dataset in bundle.of_kind("datasets").items():
        sql = dataset_query(dataset)
        refused = reader.refusal(path, sql)
        found += refused
        if refused:
            continue  # its charts cannot be checked against a result it does not give
        columns = reader.columns(sql)
        result_columns[str(dataset["uuid"])] = set(columns)
        declared = [c["column_name"] for c in dataset.get("columns") or []]
        found += [f"{path}: column {c!r} is not in the result" for c in declared if c not in columns]
        for metric in dataset.get("metrics") or []:
            found += reader.refusal(f"{path}: metric {metric['metric_name']}", sql, metric["expression"])
    for path, chart in bundle.of_kind("charts").items():
        if str(chart["dataset_uuid"]) not in result_columns:
            continue
        dataset = bundle.by_uuid("datasets")[str(chart["dataset_uuid"])]
        available = result_columns[str(chart["dataset_uuid"])]
        uses = chart_uses(chart)
        missing = sorted(uses.columns - available)
        found += [f"{path}: column {c!r} is not in its dataset's result" for c in missing]
        for where in uses.sql_filters:
            found += reader.refusal(f"{path}: filter {where}", dataset_query(dataset), "1", where)
    return found


_FIELD = re.compile(r"\[([^\]]+)\]")


def datalens_problems(reader: Reader, folder: Path) -> list[str]:
    """Each DataLens SQL runs and gives exactly its listed fields, in order; formulas name fields."""
    found: list[str] = []
    described = yaml.safe_load((folder / "datasets.yaml").read_text(encoding="utf-8"))["datasets"]
    files = sorted(p.name for p in folder.glob("*.sql"))
    assert sorted(d["sql"] for d in described) == files, "every SQL file is described, once"
    for dataset in described:
        sql = (folder / dataset["sql"]).read_text(encoding="utf-8")
        refused = reader.refusal(dataset["sql"], sql)
        found += refused
        names = [field["name"] for field in dataset["fields"]]
        if not refused and (columns := reader.columns(sql)) != names:
            found.append(f"{dataset['sql']}: the SQL gives {columns}, datasets.yaml lists {names}")
        for calculated in dataset.get("calculated") or []:
            unknown = sorted(set(_FIELD.findall(calculated["formula"])) - set(names))
            found += [
                f"{dataset['sql']}: formula {calculated['name']!r} names no field {u!r}" for u in unknown
            ]
    return found


def test_every_dataset_reads_the_warehouse_as_a_bi_tool(bi_url: sa.URL) -> None:
    reader = Reader(bi_url)
    try:
        assert superset_problems(reader, load_bundle()) == []
        assert datalens_problems(reader, datalens_dir()) == []
    finally:
        reader.engine.dispose()


def test_the_rating_datasets_show_the_latest_published_revision(bi_url: sa.URL) -> None:
    """Revision 2 (republished) of the month, not revision 1 nor the draft 3; zones as words, the
    bodies' current short names beside their ids; the same rows in Superset and DataLens."""
    superset_sql = load_bundle().by_uuid("datasets")[RATING]["sql"]
    datalens_sql = (datalens_dir() / "rating_published.sql").read_text(encoding="utf-8")
    engine = sa.create_engine(bi_url)
    try:
        with engine.connect() as conn:
            names = dict(conn.execute(sa.text("SELECT org_id, short_name FROM mart.dim_org_current")).all())
            shown = [
                sorted(
                    tuple(row)
                    for row in conn.execute(
                        sa.text(
                            'SELECT "Месяц", "Методика", "Редакция", "ID органа", "Орган", "Зона", '
                            f'"Итоговый балл", "Место" FROM ({sql}) AS virtual_table'
                        )
                    )
                )
                for sql in (superset_sql, datalens_sql)
            ]
    finally:
        engine.dispose()
    words = {"green": "зелёная", "red": "красная"}
    expected = sorted(
        (MONTH, "m", 2, org_id, names[org_id], words[zone], score + 2, place)
        for org_id, (zone, score, place) in RATED.items()
    )
    assert shown == [expected, expected]


RATING = "676abb3b-8efb-468b-a15b-5f59fb796ef7"


def _rename_day_and_subscribers(config: dict[str, Any]) -> None:
    """The dataset's SQL gives «Дата» and «Подписчики» other names: the chart's x axis and the
    dataset's metric read names its result no longer has."""
    config["sql"] = 'SELECT "Дата" AS "День", "Подписчики" AS "Подписчиков" FROM mart_ru.subscribers_daily'


def test_a_renamed_column_fails_the_check(bi_url: sa.URL, tmp_path: Path) -> None:
    """Copies of the starter edited as a rename would leave them: each check names the column."""
    superset, datalens = tmp_path / "superset", tmp_path / "datalens"
    shutil.copytree(superset_dir(), superset)
    shutil.copytree(datalens_dir(), datalens)
    rating = superset / "datasets" / "gospublic_warehouse" / "rating_published.yaml"
    # a warehouse column read under a name the warehouse does not have (a rename in the contract)
    rating.write_text(
        rating.read_text(encoding="utf-8").replace('r."Зона"', 'r."Цвет зоны"'), encoding="utf-8"
    )
    _edit(superset, "datasets/gospublic_warehouse/subscribers_daily.yaml", _rename_day_and_subscribers)
    sql = datalens / "response_metrics_monthly.sql"
    sql.write_text(
        sql.read_text(encoding="utf-8").replace('"Просрочено"', '"Просрочено всего"'), encoding="utf-8"
    )
    reader = Reader(bi_url)
    try:
        found = superset_problems(reader, load_bundle(superset))
        datalens_found = datalens_problems(reader, datalens)
    finally:
        reader.engine.dispose()
    refused = [p for p in found if p.startswith("datasets/gospublic_warehouse/rating_published.yaml: ")]
    assert len(refused) == 1 and "Цвет зоны" in refused[0], found
    assert "charts/subscribers.yaml: column 'Дата' is not in its dataset's result" in found
    subscribers = "datasets/gospublic_warehouse/subscribers_daily.yaml"
    assert f"{subscribers}: column 'Подписчики' is not in the result" in found
    assert any(p.startswith(f"{subscribers}: metric subscribers: ") and "Подписчики" in p for p in found), (
        found
    )
    # the charts of the rating dataset are not checked against a result it could not give
    assert not any(p.startswith("charts/rating_") for p in found), found
    assert len(datalens_found) == 1, datalens_found
    assert (
        datalens_found[0].startswith("response_metrics_monthly.sql: ")
        and "Просрочено всего" in datalens_found[0]
    )
