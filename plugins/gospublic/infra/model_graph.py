"""The SQL model graph (``sql/models.yml``): which models a step runs and in what order, the Assets
a pipeline updates, the marts checked and the mart tables of the BI contract.

Loading validates the file against the SQL itself: every model file exists, builds a table of its
own layer and writes exactly the tables declared (``INSERT``/``UPDATE`` targets), every table it
reads is declared (``depends_on`` or ``reads_prior``) and built by a model or a loader, and the
``depends_on`` edges have no cycle. A step runs its models in the graph's order: dependencies first,
ties by file name.

Bind parameters are allow-listed: each model declares the ``:name`` parameters its SQL uses, with
a type of ``PARAM_TYPES`` (``params: {dt: date, forward: boolean}``); loading refuses a model whose
SQL and declaration differ, and :meth:`ModelGraph.check_params` (called by the runner before the
first statement) refuses a run missing a declared parameter, given one no model of the run
declares, or given a value of another type.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gospublic.infra import settings
from gospublic.infra.sql_files import bind_params, split_statements, written_tables

GRAPH_FILE = "models.yml"
PARTITIONS = ("whole", "dt", "month", "batch_id")
SCHEMAS = ("staging", "core", "mart", "restricted", "audit")
_KEYS = {
    "target", "also_writes", "partition", "steps", "params", "depends_on", "reads_prior", "assets", "suite",
}  # fmt: skip
PARAM_TYPES = ("date", "timestamp", "boolean", "number", "text")  # what a bind parameter may be
_PARAM = re.compile(r"[a-z_][a-z0-9_]*")
_FILE = re.compile(r"(core|mart)/[0-9]{3}_[a-z0-9_]+\.sql")
_STEP = re.compile(r"[a-z_]+(\.[a-z_]+)?")
_TABLE = re.compile(rf"(?:{'|'.join(SCHEMAS)})\.[a-z_][a-z0-9_]*")
_READ = re.compile(rf"(DELETE\s+)?\b(?:FROM|JOIN)\s+((?:{'|'.join(SCHEMAS)})\.[A-Za-z_][A-Za-z0-9_]*)", re.I)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


class ModelGraphError(ValueError):
    """``sql/models.yml`` disagrees with itself or with the SQL; the message names file and model."""


class ModelParamsError(ValueError):
    """A run of models was given bind parameters their declarations do not allow."""


@dataclass(frozen=True)
class Model:
    """One model of the graph, as declared."""

    file: str
    target: str
    also_writes: tuple[str, ...]
    partition: str
    steps: tuple[str, ...]
    params: tuple[tuple[str, str], ...]  # (name, type) of each bind parameter, as declared
    depends_on: tuple[str, ...]
    reads_prior: tuple[str, ...]
    assets: tuple[str, ...]
    suite: str | None

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.target, *self.also_writes)


@dataclass(frozen=True)
class ModelGraph:
    """The validated graph; ``models`` in run order (dependencies first, ties by file name)."""

    models: tuple[Model, ...]
    loaded: Mapping[str, str]

    def step(self, name: str) -> tuple[str, ...]:
        """The model files the step runs, in order (``"vk"`` → ``("core/010_…", …)``)."""
        files = tuple(m.file for m in self.models if name in m.steps)
        if not files:
            raise KeyError(f"{GRAPH_FILE}: no model runs in step {name!r}; steps: {self.step_names()}")
        return files

    def check_params(self, files: Iterable[str], params: Mapping[str, Any]) -> None:
        """Refuse running the models ``files`` with ``params``: every parameter a model declares
        must be given, with a value of its type, and every one given must be declared by one of
        them (configuration reaches SQL only as the declared, typed bind parameters)."""
        files = tuple(files)
        declared: dict[str, str] = {}
        problems: list[str] = []
        for file in files:
            for name, kind in self.model(file).params:
                declared[name] = kind
                if name not in params:
                    problems.append(f"{file} needs :{name} ({kind})")
        if undeclared := sorted(set(params) - set(declared)):
            problems.append(f"parameters {undeclared} declared by no model of {list(files)}")
        for name, value in params.items():
            if name in declared and not _is_of(declared[name], value):
                problems.append(f":{name} must be {declared[name]}, not {type(value).__name__}")
        if problems:
            raise ModelParamsError(f"{GRAPH_FILE}: refused: {'; '.join(problems)}")

    def step_names(self) -> list[str]:
        return sorted({s for m in self.models for s in m.steps})

    def model(self, file: str) -> Model:
        for model in self.models:
            if model.file == file:
                return model
        raise KeyError(f"{GRAPH_FILE}: no model {file!r}")

    def assets(self, pipeline: str) -> tuple[str, ...]:
        """Tables whose Assets the pipeline's task updates: of the models of its steps
        (``pipeline`` or ``pipeline.*``), in run order, each once."""
        tables: list[str] = []
        for model in self.models:
            if any(s == pipeline or s.startswith(f"{pipeline}.") for s in model.steps):
                tables += [t for t in model.assets if t not in tables]
        return tuple(tables)

    def checked(self) -> tuple[Model, ...]:
        """Models with a Great Expectations suite, in run order."""
        return tuple(m for m in self.models if m.suite)

    def mart_tables(self) -> tuple[str, ...]:
        """Every table of schema ``mart``: built by models (run order), then loaded (file order)."""
        built = [m.target for m in self.models if m.target.startswith("mart.")]
        loaded = [t for t in self.loaded if t.startswith("mart.") and t not in built]
        return tuple(built + loaded)

    def built_by(self, table: str) -> tuple[Model, ...]:
        """The models whose target is ``table``."""
        return tuple(m for m in self.models if m.target == table)


def graph() -> ModelGraph:
    """The project's graph (``settings.project_home()``), loaded and validated once per home."""
    return _graph_of(settings.project_home())


@cache
def _graph_of(home: Path) -> ModelGraph:
    return load_graph(home)


def load_graph(home: Path) -> ModelGraph:
    """Read ``home/sql/models.yml`` and validate it against ``home/sql`` and ``home/expectations``."""
    path = home / "sql" / GRAPH_FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise ModelGraphError(f"{path}: expected a mapping with version: 1")
    loaded = raw.get("loaded") or {}
    if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
        raise ModelGraphError(f"{path}: loaded must map tables to the pipeline that loads them")
    for table in loaded:
        _check_table(path, "loaded", table)
    models = [_model(path, file, spec) for file, spec in (raw.get("models") or {}).items()]
    if not models:
        raise ModelGraphError(f"{path}: no models")
    for model in models:
        _check_against_sql(path, home, model, models, loaded)
    _check_param_types(path, models)
    return ModelGraph(models=_ordered(path, models), loaded=dict(loaded))


def table_reads(text: str) -> list[str]:
    """``schema.table`` names the SQL reads (``FROM``/``JOIN``, not ``DELETE FROM``), first-seen order."""
    tables: list[str] = []
    for statement in split_statements(text):
        code = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", statement))
        for deleting, table in _READ.findall(code):
            if not deleting and table.lower() not in tables:
                tables.append(table.lower())
    return tables


def _model(path: Path, file: Any, spec: Any) -> Model:
    where = f"{path}: model {file!r}"
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        raise ModelGraphError(f"{where}: a model is named by its file, <core|mart>/NNN_name.sql")
    if not isinstance(spec, dict) or not {"target", "partition", "steps"} <= set(spec):
        raise ModelGraphError(f"{where}: needs target, partition and steps")
    if unknown := set(spec) - _KEYS:
        raise ModelGraphError(f"{where}: unknown keys {sorted(unknown)}")
    if spec["partition"] not in PARTITIONS:
        raise ModelGraphError(f"{where}: partition must be one of {PARTITIONS}")

    def names(key: str) -> tuple[str, ...]:
        value = spec.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ModelGraphError(f"{where}: {key} must be a list of names")
        return tuple(value)

    steps = names("steps")
    if not steps or not all(_STEP.fullmatch(s) for s in steps):
        raise ModelGraphError(f"{where}: steps must name at least one step such as incidents.events")
    model = Model(
        file=file,
        target=str(spec["target"]),
        also_writes=names("also_writes"),
        partition=str(spec["partition"]),
        steps=steps,
        params=_params(where, spec.get("params")),
        depends_on=names("depends_on"),
        reads_prior=names("reads_prior"),
        assets=names("assets"),
        suite=str(spec["suite"]) if spec.get("suite") is not None else None,
    )
    for table in (*model.writes, *model.depends_on, *model.reads_prior):
        _check_table(path, f"model {file!r}", table)
    if model.target.split(".")[0] != file.split("/")[0]:
        raise ModelGraphError(f"{where}: target {model.target} is not in the file's layer")
    if model.suite is not None and (model.partition != "month" or not model.target.startswith("mart.")):
        raise ModelGraphError(f"{where}: a suite checks a month of a mart: partition must be month")
    if stray := set(model.assets) - set(model.writes):
        raise ModelGraphError(f"{where}: assets {sorted(stray)} are not tables it writes")
    return model


def _params(where: str, raw: Any) -> tuple[tuple[str, str], ...]:
    """A model's declared bind parameters: ``{name: type}``, each type one of ``PARAM_TYPES``."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ModelGraphError(f"{where}: params must map each bind parameter to its type")
    for name, kind in raw.items():
        if not isinstance(name, str) or not _PARAM.fullmatch(name):
            raise ModelGraphError(f"{where}: bind parameter {name!r} must be a lower-case name")
        if kind not in PARAM_TYPES:
            raise ModelGraphError(f"{where}: parameter {name!r}: type must be one of {PARAM_TYPES}")
    return tuple((str(name), str(kind)) for name, kind in raw.items())


def _check_table(path: Path, where: str, table: Any) -> None:
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise ModelGraphError(f"{path}: {where}: {table!r} is not a schema.table of {SCHEMAS}")


def _check_against_sql(
    path: Path, home: Path, model: Model, models: list[Model], loaded: Mapping[str, str]
) -> None:
    where = f"{path}: model {model.file!r}"
    sql = home / "sql" / model.file
    if not sql.is_file():
        raise ModelGraphError(f"{where}: no such file {sql}")
    text = sql.read_text(encoding="utf-8")
    written = written_tables(text)
    if set(written) != set(model.writes) or len(model.writes) != len(set(model.writes)):
        raise ModelGraphError(
            f"{where}: declares writes {sorted(model.writes)}, "
            f"its SQL inserts into or updates {sorted(written)}"
        )
    used, declared = bind_params(text), [name for name, _ in model.params]
    if undeclared_params := [p for p in used if p not in declared]:
        raise ModelGraphError(
            f"{where}: uses bind parameters {undeclared_params} it does not declare in params"
        )
    if unused := [p for p in declared if p not in used]:
        raise ModelGraphError(f"{where}: declares bind parameters {unused} its SQL does not use")
    reads = table_reads(text)
    if undeclared := [t for t in reads if t not in (*model.writes, *model.depends_on, *model.reads_prior)]:
        raise ModelGraphError(f"{where}: reads {undeclared}, not in depends_on or reads_prior")
    if unread := [t for t in (*model.depends_on, *model.reads_prior) if t not in reads]:
        raise ModelGraphError(f"{where}: depends_on/reads_prior name {unread}, which its SQL does not read")
    built = {t for m in models for t in m.writes} | set(loaded)
    if orphans := [t for t in model.depends_on if t not in built]:
        raise ModelGraphError(f"{where}: depends on {orphans}, which no model or loader writes")
    suite = home / "expectations" / f"{model.suite}.json"
    if model.suite and not suite.is_file():
        raise ModelGraphError(f"{where}: no suite {suite}")


def _check_param_types(path: Path, models: list[Model]) -> None:
    """A parameter has one type across the models of a step (the step binds one value)."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for model in models:
        for step in model.steps:
            for name, kind in model.params:
                first = seen.setdefault((step, name), (kind, model.file))
                if first[0] != kind:
                    raise ModelGraphError(
                        f"{path}: parameter {name!r} of step {step} is {first[0]} in {first[1]} "
                        f"and {kind} in {model.file}"
                    )


def _is_of(kind: str, value: Any) -> bool:
    """Whether ``value`` is a bind value of the declared ``kind``."""
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == "timestamp":
        return isinstance(value, datetime) and value.tzinfo is not None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


def _ordered(path: Path, models: list[Model]) -> tuple[Model, ...]:
    """Kahn's order over ``depends_on`` (writer before reader), ties by file name; a cycle is refused."""
    by_file = {m.file: m for m in models}
    writers: dict[str, list[str]] = {}
    for model in models:
        for table in model.writes:
            writers.setdefault(table, []).append(model.file)
    before: dict[str, set[str]] = {
        m.file: {w for t in m.depends_on for w in writers.get(t, []) if w != m.file} for m in models
    }
    ready = [file for file, deps in before.items() if not deps]
    heapq.heapify(ready)
    order: list[Model] = []
    while ready:
        file = heapq.heappop(ready)
        order.append(by_file[file])
        for other, deps in before.items():
            if file in deps:
                deps.discard(file)
                if not deps:
                    heapq.heappush(ready, other)
    if len(order) != len(models):
        stuck = sorted(set(by_file) - {m.file for m in order})
        raise ModelGraphError(f"{path}: depends_on makes a cycle among {stuck}")
    return tuple(order)
