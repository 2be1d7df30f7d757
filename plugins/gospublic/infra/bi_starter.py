"""The BI starter (issue 27): a Superset dashboard export kept as YAML under ``config/bi/superset/``
and zipped for ``superset import-dashboards`` / Superset's import dialog; DataLens datasets under
``config/bi/datalens/``.

The Superset folder is Superset's own ImportExport v1 bundle: ``metadata.yaml``,
``databases/*.yaml``, ``datasets/<database>/*.yaml``, ``charts/*.yaml``, ``dashboards/*.yaml``,
cross-referenced by UUID (chart → dataset → database, the dashboard's ``position`` → charts).
``problems`` checks those keys and references and that every column and metric a chart uses is one
of its dataset's; ``write_superset_zip`` refuses a bundle with problems, or with a database
password that is not Superset's mask, and writes the files under one root folder (Superset's
importer drops the first folder of every path), with fixed timestamps so the same sources give the
same bytes.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from gospublic.infra import settings

# Superset writes this in place of a database password in its exports and asks for the real one
# on import (superset.constants.PASSWORD_MASK).
PASSWORD_MASK = "X" * 10
ZIP_ROOT = "gospublic_superset_starter"
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
IMPORT_VERSION = "1.0.0"

# Keys each file kind may carry: those of Superset's ImportV1*Schema that this bundle uses (the
# schemas refuse unknown keys; read in Superset 6.1.0), the required ones first.
REQUIRED: dict[str, set[str]] = {
    "databases": {"database_name", "sqlalchemy_uri", "uuid", "version"},
    "datasets": {"table_name", "uuid", "database_uuid", "version"},
    "charts": {"slice_name", "viz_type", "uuid", "dataset_uuid", "version"},
    "dashboards": {"dashboard_title", "uuid", "version"},
}
ALLOWED: dict[str, set[str]] = {
    "databases": REQUIRED["databases"]
    | {
        "password",
        "cache_timeout",
        "expose_in_sqllab",
        "allow_run_async",
        "allow_ctas",
        "allow_cvas",
        "extra",
    },
    "datasets": REQUIRED["datasets"]
    | {
        "main_dttm_col",
        "description",
        "default_endpoint",
        "offset",
        "cache_timeout",
        "schema",
        "sql",
        "params",
        "template_params",
        "filter_select_enabled",
        "fetch_values_predicate",
        "extra",
        "columns",
        "metrics",
    },
    "charts": REQUIRED["charts"] | {"description", "params", "query_context", "cache_timeout"},
    "dashboards": REQUIRED["dashboards"]
    | {"description", "css", "slug", "published", "position", "metadata"},
}
COLUMN_KEYS = {
    "column_name",
    "verbose_name",
    "is_dttm",
    "is_active",
    "type",
    "groupby",
    "filterable",
    "expression",
    "description",
    "python_date_format",
}
METRIC_KEYS = {
    "metric_name",
    "verbose_name",
    "metric_type",
    "expression",
    "description",
    "d3format",
    "extra",
    "warning_text",
}


def superset_dir() -> Path:
    return settings.project_home() / "config" / "bi" / "superset"


def datalens_dir() -> Path:
    return settings.project_home() / "config" / "bi" / "datalens"


@dataclass
class Bundle:
    """A Superset export: every YAML file by its path inside the bundle (``charts/x.yaml``)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        """The files of one folder (``databases``, ``datasets``, ``charts``, ``dashboards``)."""
        return {path: config for path, config in self.files.items() if path.split("/")[0] == kind}

    def by_uuid(self, kind: str) -> dict[str, dict[str, Any]]:
        return {str(config.get("uuid")): config for config in self.of_kind(kind).values()}


def load_bundle(folder: Path | None = None) -> Bundle:
    """Every ``*.yaml`` of a Superset export folder, read with ``yaml.safe_load``."""
    root = folder or superset_dir()
    files = {}
    for path in sorted(root.rglob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: not a YAML mapping")
        files[path.relative_to(root).as_posix()] = loaded
    return Bundle(files)


def dataset_query(dataset: dict[str, Any]) -> str:
    """The SELECT a dataset stands for: a virtual dataset's SQL, else its schema's table (the
    names reach SQL quoted, as Superset quotes them)."""
    if dataset.get("sql"):
        return str(dataset["sql"])
    table = sa.table(str(dataset["table_name"]), schema=dataset.get("schema"))
    return str(sa.select(sa.text("*")).select_from(table).compile(compile_kwargs={"literal_binds": True}))


@dataclass(frozen=True)
class ChartUses:
    """What a chart's params read from its dataset."""

    columns: frozenset[str]
    metrics: frozenset[str]  # saved metrics, by metric_name
    sql_filters: tuple[str, ...]  # WHERE expressions of adhoc SQL filters


_COLUMN_LISTS = ("all_columns", "groupby", "columns", "series", "entity")
_COLUMN_ONE = ("x_axis", "granularity_sqla", "series_columns")
_METRIC_LISTS = ("metrics", "percent_metrics", "timeseries_limit_metric")
_METRIC_ONE = ("metric", "secondary_metric", "size", "x", "y")


def chart_uses(chart: dict[str, Any]) -> ChartUses:
    """The columns, saved metrics and SQL filters a chart's params name."""
    params = chart.get("params") or {}
    columns: set[str] = set()
    metrics: set[str] = set()
    sql_filters: list[str] = []
    for key in _COLUMN_LISTS:
        columns |= {c for c in params.get(key) or [] if isinstance(c, str)}
    columns |= {params[key] for key in _COLUMN_ONE if isinstance(params.get(key), str)}
    for raw in params.get("order_by_cols") or []:
        columns.add(str(json.loads(raw)[0]))
    named = [m for key in _METRIC_LISTS for m in _as_list(params.get(key))]
    named += [params[key] for key in _METRIC_ONE if key in params]
    for metric in named:
        if isinstance(metric, str):
            metrics.add(metric)
        elif isinstance(metric, dict) and metric.get("expressionType") == "SIMPLE":
            columns.add(str(metric["column"]["column_name"]))
    for adhoc in params.get("adhoc_filters") or []:
        if adhoc.get("expressionType") == "SQL":
            sql_filters.append(str(adhoc["sqlExpression"]))
        else:
            columns.add(str(adhoc["subject"]))
    return ChartUses(frozenset(columns), frozenset(metrics), tuple(sql_filters))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def problems(bundle: Bundle) -> list[str]:
    """What would stop Superset importing the bundle, or leave a chart without its column: keys,
    UUIDs and references, each problem naming its file."""
    found: list[str] = []
    found += _metadata_problems(bundle)
    for kind in REQUIRED:
        if not bundle.of_kind(kind):
            found.append(f"no {kind}/*.yaml")
        for path, config in bundle.of_kind(kind).items():
            found += _key_problems(path, kind, config)
    found += _uuid_problems(bundle)
    found += _reference_problems(bundle)
    return found


def _metadata_problems(bundle: Bundle) -> list[str]:
    metadata = bundle.files.get("metadata.yaml")
    if metadata is None:
        return ["no metadata.yaml"]
    found = []
    if metadata.get("version") != IMPORT_VERSION:
        found.append(f"metadata.yaml: version must be {IMPORT_VERSION}")
    if metadata.get("type") != "Dashboard":
        found.append("metadata.yaml: type must be Dashboard")
    return found


def _key_problems(path: str, kind: str, config: dict[str, Any]) -> list[str]:
    found = [f"{path}: missing {key}" for key in sorted(REQUIRED[kind] - set(config))]
    found += [f"{path}: unknown key {key}" for key in sorted(set(config) - ALLOWED[kind])]
    if config.get("version") != IMPORT_VERSION:
        found.append(f"{path}: version must be {IMPORT_VERSION}")
    if kind == "datasets":
        for column in config.get("columns") or []:
            found += [f"{path}: column key {k}" for k in sorted(set(column) - COLUMN_KEYS)]
        for metric in config.get("metrics") or []:
            found += [f"{path}: metric key {k}" for k in sorted(set(metric) - METRIC_KEYS)]
    if kind == "databases":
        found += _password_problems(path, config)
    return found


def _password_problems(path: str, config: dict[str, Any]) -> list[str]:
    """A database may carry no password but Superset's mask (a placeholder asked for on import)."""
    found = []
    if config.get("password"):
        found.append(f"{path}: a password must not be in the bundle")
    password = sa.make_url(str(config["sqlalchemy_uri"])).password if "sqlalchemy_uri" in config else None
    if password not in (None, PASSWORD_MASK):
        found.append(f"{path}: the URI's password must be Superset's mask {PASSWORD_MASK}")
    return found


def _uuid_problems(bundle: Bundle) -> list[str]:
    found: list[str] = []
    seen: dict[str, str] = {}
    for path, config in bundle.files.items():
        if path == "metadata.yaml":
            continue
        value = str(config.get("uuid"))
        try:
            uuid.UUID(value)
        except ValueError:
            found.append(f"{path}: uuid {value!r} is not a UUID")
        if value in seen:
            found.append(f"{path}: uuid {value} repeats {seen[value]}")
        seen[value] = path
    return found


def _reference_problems(bundle: Bundle) -> list[str]:
    found: list[str] = []
    databases, datasets, charts = (bundle.by_uuid(k) for k in ("databases", "datasets", "charts"))
    for path, dataset in bundle.of_kind("datasets").items():
        if str(dataset.get("database_uuid")) not in databases:
            found.append(f"{path}: database_uuid {dataset.get('database_uuid')} is no database of the bundle")
        else:
            folder = databases[str(dataset["database_uuid"])]["database_name"]
            if path.split("/")[1] != folder:
                found.append(f"{path}: belongs under datasets/{folder}/")
    for path, chart in bundle.of_kind("charts").items():
        charted = datasets.get(str(chart.get("dataset_uuid")))
        if charted is None:
            found.append(f"{path}: dataset_uuid {chart.get('dataset_uuid')} is no dataset of the bundle")
            continue
        uses = chart_uses(chart)
        columns = {c["column_name"] for c in charted.get("columns") or []}
        metrics = {m["metric_name"] for m in charted.get("metrics") or []}
        found += [f"{path}: column {c!r} is not in its dataset" for c in sorted(uses.columns - columns)]
        found += [f"{path}: metric {m!r} is not in its dataset" for m in sorted(uses.metrics - metrics)]
    placed: set[str] = set()
    for path, dashboard in bundle.of_kind("dashboards").items():
        found += _position_problems(path, dashboard.get("position") or {}, charts, placed)
    found += [
        f"charts: {charts[u].get('slice_name')!r} is on no dashboard" for u in sorted(set(charts) - placed)
    ]
    return found


def _position_problems(
    path: str, position: dict[str, Any], charts: dict[str, dict[str, Any]], placed: set[str]
) -> list[str]:
    """Every CHART node names a chart of the bundle (uuid and an integer chartId, as Superset's
    importer reads them) and every node's children exist and name it as their parent."""
    found = []
    chart_ids: list[int] = []
    for key, node in position.items():
        if not isinstance(node, dict):
            continue
        for child in node.get("children") or []:
            if child not in position:
                found.append(f"{path}: {key} has child {child} that is not in position")
            elif key not in (position[child].get("parents") or []):
                found.append(f"{path}: {child} does not name {key} among its parents")
        if node.get("type") != "CHART":
            continue
        meta = node.get("meta") or {}
        if str(meta.get("uuid")) not in charts:
            found.append(f"{path}: {key} names chart {meta.get('uuid')} that is not in the bundle")
        if not isinstance(meta.get("chartId"), int):
            found.append(f"{path}: {key} needs an integer chartId")
        else:
            chart_ids.append(meta["chartId"])
        placed.add(str(meta.get("uuid")))
    if len(chart_ids) != len(set(chart_ids)):
        found.append(f"{path}: chartId repeats")
    return found


def write_superset_zip(out: Path, folder: Path | None = None) -> list[str]:
    """Zip the export folder for Superset's import; the bundle's paths inside the ZIP."""
    root = folder or superset_dir()
    bundle = load_bundle(root)
    found = problems(bundle)
    if found:
        raise ValueError(f"{root}: not importable:\n" + "\n".join(found))
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(bundle.files):
            entry = zipfile.ZipInfo(f"{ZIP_ROOT}/{name}", date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, (root / name).read_bytes())
            names.append(name)
    return names
