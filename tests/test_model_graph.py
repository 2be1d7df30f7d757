"""The SQL model graph (sql/models.yml): the run order it gives each step, the agreement of the mart
tables with the BI contract and the expectations, and its refusal of a graph that disagrees with
the SQL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gospublic.infra import settings
from gospublic.infra.mart_contract import load_contract
from gospublic.infra.migrations import migrate
from gospublic.infra.model_graph import ModelGraphError, ModelParamsError, graph, load_graph, table_reads
from gospublic.infra.sql_files import bind_params, model_files, written_tables
from gospublic.infra.warehouse import Warehouse

# The tuples the callers held before the graph (registry_load.CORE_MODELS, vk_load.CORE_MODELS and
# FORWARD_MODELS, incidents_load.EVENT_MODEL and ORG_FIX_MODEL, marts_build.MART_MODELS).
STEPS_BEFORE = {
    "registry": ("core/001_dim_org.sql", "core/002_dim_page.sql"),
    # vk.full ran 010, 020, 030 and vk.forward 010, 021, 031: since the forward and full rules are
    # one model per table (issue 21), both scopes are step vk, bound forward = true or false.
    "vk": ("core/010_fct_page_daily.sql", "core/020_fct_post.sql", "core/030_fct_comment.sql"),
    # added since (issue 28): the day loads of OK, MAX and Telegram, each binding its network
    "networks": ("core/050_fct_network_page_daily.sql", "core/060_fct_network_post.sql"),
    "incidents.events": ("core/040_fct_incident.sql",),
    "incidents.org_fix": ("core/041_incident_org_fix.sql",),
    "marts": (
        "mart/010_dim_org.sql",
        "mart/011_dim_page.sql",
        "mart/012_dim_org_current.sql",  # added since (issue 27): one row per id for BI joins
        "mart/013_dim_page_current.sql",
        "mart/020_subscribers_daily.sql",
        "mart/030_page_activity_monthly.sql",
        "mart/040_page_compliance_monthly.sql",
        "mart/050_response_metrics_monthly.sql",
        "mart/060_rating_base.sql",
        "mart/070_incident_topics_monthly.sql",
    ),
}
# The Asset lists of gospublic.orchestration.assets before the graph.
ASSETS_BEFORE = {
    "registry": ("core.dim_org", "core.dim_org_alias", "core.dim_page"),
    "vk": ("core.fct_page_daily", "core.fct_post", "core.fct_comment"),
    "incidents": ("core.fct_incident", "core.fct_incident_event"),
    "marts": (
        "mart.dim_org",
        "mart.dim_page",
        "mart.subscribers_daily",
        "mart.page_activity_monthly",
        "mart.page_compliance_monthly",
        "mart.response_metrics_monthly",
        "mart.incident_topics_monthly",
    ),
}
CHECKED_BEFORE = (  # marts_check.MONTHLY_MARTS and the counts of marts_build
    "mart.subscribers_daily",
    "mart.page_activity_monthly",
    "mart.page_compliance_monthly",
    "mart.response_metrics_monthly",
    "mart.incident_topics_monthly",
)


def test_every_step_runs_the_files_it_ran_before_in_the_same_order() -> None:
    assert {step: graph().step(step) for step in graph().step_names()} == STEPS_BEFORE


def test_the_assets_and_checked_marts_are_those_of_before() -> None:
    from gospublic.orchestration import assets

    assert {p: graph().assets(p) for p in ASSETS_BEFORE} == ASSETS_BEFORE
    lists = {"registry": assets.REGISTRY, "vk": assets.VK_PAGES, "incidents": assets.INCIDENTS}
    for pipeline, declared in (lists | {"marts": assets.MARTS}).items():
        assert tuple(a.name for a in declared) == ASSETS_BEFORE[pipeline]
    assert tuple(m.target for m in graph().checked()) == CHECKED_BEFORE


def test_every_model_file_is_in_the_graph() -> None:
    files = {f.name for f in model_files(settings.sql_dir())}
    assert files == {m.file for m in graph().models}


def test_run_order_puts_every_dependency_first() -> None:
    position = {m.file: n for n, m in enumerate(graph().models)}
    for model in graph().models:
        for table in model.depends_on:
            for writer in graph().models:
                if table in writer.writes and writer is not model:
                    assert position[writer.file] < position[model.file], (writer.file, model.file)


def test_contract_expectations_and_graph_name_the_same_mart_tables() -> None:
    home = settings.project_home()
    contract = {f"mart.{t.name}" for t in load_contract()}
    assert contract == set(graph().mart_tables())
    suites = {p.stem for p in (home / "expectations").glob("mart_*.json")}
    assert suites == {str(m.suite) for m in graph().checked()}
    for model in graph().checked():
        suite = json.loads((home / "expectations" / f"{model.suite}.json").read_text(encoding="utf-8"))
        columns = {e["kwargs"]["column"] for e in suite["expectations"] if "column" in e.get("kwargs", {})}
        contracted = {c.name for t in load_contract() if f"mart.{t.name}" == model.target for c in t.columns}
        assert columns <= contracted, model.file


def test_reads_and_writes_come_from_the_sql() -> None:
    text = (
        "-- FROM core.commented\nDELETE FROM core.a WHERE EXISTS (SELECT 1 FROM staging.k AS k);\n"
        "UPDATE core.b SET x = (SELECT y FROM core.c JOIN mart.d ON TRUE) WHERE EXTRACT(DOW FROM b.dt) = 1;\n"
        "INSERT INTO core.a SELECT * FROM Core.E;"
    )
    assert table_reads(text) == ["staging.k", "core.c", "mart.d", "core.e"]
    assert written_tables(text) == ["core.b", "core.a"]


def _copy(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(settings.sql_dir(), home / "sql")
    shutil.copytree(settings.project_home() / "expectations", home / "expectations")
    return home


BROKEN = [
    ("target: mart.rating_base\n", "target: mart.rating_bases\n", "its SQL inserts into or updates"),
    ("restricted.incident_text, staging.incident_export]", "staging.incident_export]",
     "its SQL inserts into or updates"),
    ("core/002_dim_page.sql:", "core/003_dim_page.sql:", "no such file"),
    ("    reads_prior: [core.fct_comment]\n", "", r"reads \['core.fct_comment'\]"),
    ("depends_on: [core.fct_incident_timing]", "depends_on: [core.fct_incident_timing, core.dim_org]",
     "does not read"),
    ("  core.fct_incident_timing: marts\n", "", "no model or loader writes"),
    ("    suite: mart_subscribers_daily\n", "    suite: mart_subscriber_daily\n", "no suite"),
    ("    assets: [mart.dim_org]\n", "    assets: [core.dim_org]\n", "not tables it writes"),
    ("    partition: dt\n    steps: [vk]\n", "    partition: day\n    steps: [vk]\n",
     "partition must be"),
]  # fmt: skip


def _edited_graph_is_refused(tmp_path: Path, old: str, new: str, error: str) -> None:
    """models.yml with ``old`` replaced by ``new`` fails to load, saying ``error``."""
    home = _copy(tmp_path)
    path = home / "sql" / "models.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ModelGraphError, match=error):
        load_graph(home)


@pytest.mark.parametrize(("old", "new", "error"), BROKEN, ids=[f"b{n}" for n in range(len(BROKEN))])
def test_a_graph_that_disagrees_with_the_sql_is_refused(
    tmp_path: Path, old: str, new: str, error: str
) -> None:
    _edited_graph_is_refused(tmp_path, old, new, error)


def test_a_cycle_is_refused(tmp_path: Path) -> None:
    home = _copy(tmp_path)
    sql = home / "sql" / "mart" / "030_page_activity_monthly.sql"
    sql.write_text(sql.read_text(encoding="utf-8") + "\nSELECT 1 FROM mart.page_compliance_monthly;\n")
    path = home / "sql" / "models.yml"
    text = path.read_text(encoding="utf-8").replace(
        "core.fct_post, core.fct_comment]",
        "core.fct_post, core.fct_comment, mart.page_compliance_monthly]",
        1,
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelGraphError, match=r"cycle among.*030_page_activity.*040_page_compliance"):
        load_graph(home)


def test_a_new_dependency_reorders_the_step(tmp_path: Path) -> None:
    """Run order follows depends_on, not file names: a model made to read a later one runs after it."""
    home = _copy(tmp_path)
    sql = home / "sql" / "mart" / "020_subscribers_daily.sql"
    sql.write_text(sql.read_text(encoding="utf-8") + "\nSELECT 1 FROM mart.rating_base;\n")
    path = home / "sql" / "models.yml"
    text = path.read_text(encoding="utf-8").replace(
        "depends_on: [core.fct_page_daily, core.fct_network_page_daily, core.dim_page]\n",
        "depends_on: [core.fct_page_daily, core.fct_network_page_daily, core.dim_page, mart.rating_base]\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    order = load_graph(home).step("marts")
    assert order.index("mart/020_subscribers_daily.sql") > order.index("mart/060_rating_base.sql")


# -- bind parameters: declared per model in sql/models.yml, checked against the SQL and the caller --


def test_every_model_declares_the_bind_parameters_its_sql_uses() -> None:
    declared = {m.file: dict(m.params) for m in graph().models}
    assert declared["core/020_fct_post.sql"] == {"dt": "date", "forward": "boolean"}
    assert declared["core/040_fct_incident.sql"] == {"batch_id": "text"}
    assert declared["mart/030_page_activity_monthly.sql"]["window_start"] == "timestamp"
    assert declared["core/001_dim_org.sql"] == {}
    for model in graph().models:
        text = (settings.sql_dir() / model.file).read_text(encoding="utf-8")
        assert set(dict(model.params)) == set(bind_params(text)), model.file


PARAMS_BROKEN = [
    # a parameter the SQL uses and the graph does not declare
    ("    params: {dt: date, forward: boolean}\n    depends_on: [staging.vk_post_observations",
     "    params: {dt: date}\n    depends_on: [staging.vk_post_observations",
     r"core/020_fct_post.sql.*uses bind parameters \['forward'\] it does not declare"),
    # a parameter declared that the SQL does not use
    ("    params: {batch_id: text}\n", "    params: {batch_id: text, region: text}\n",
     r"core/040_fct_incident.sql.*declares bind parameters \['region'\] its SQL does not use"),
    # a type outside the allow-list
    ("    params: {batch_id: text}\n", "    params: {batch_id: sql}\n", "type must be one of"),
    # two models of a step giving one parameter two types
    ("    params: {dt: date}\n", "    params: {dt: text}\n", r"parameter 'dt' of step vk is"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "error"), PARAMS_BROKEN, ids=[f"p{n}" for n in range(len(PARAMS_BROKEN))]
)
def test_a_graph_whose_parameters_disagree_with_the_sql_is_refused(
    tmp_path: Path, old: str, new: str, error: str
) -> None:
    _edited_graph_is_refused(tmp_path, old, new, error)


def test_a_step_refuses_parameters_missing_undeclared_or_of_the_wrong_type() -> None:
    vk = graph().step("vk")
    graph().check_params(vk, {"dt": date(2025, 11, 3), "forward": True})  # what the VK load binds
    with pytest.raises(ModelParamsError, match=r"core/020_fct_post.sql needs :forward \(boolean\)"):
        graph().check_params(vk, {"dt": date(2025, 11, 3)})
    with pytest.raises(ModelParamsError, match=r"\['month_start'\] declared by no model of"):
        graph().check_params(vk, {"dt": date(2025, 11, 3), "forward": True, "month_start": date(2025, 11, 1)})
    with pytest.raises(ModelParamsError, match=r":forward must be boolean, not str"):
        graph().check_params(vk, {"dt": date(2025, 11, 3), "forward": "false"})
    with pytest.raises(ModelParamsError, match=r":dt must be date, not datetime"):
        graph().check_params(vk, {"dt": datetime(2025, 11, 3, tzinfo=UTC), "forward": True})
    with pytest.raises(ModelParamsError, match=r":w_total must be number, not bool"):
        marts = graph().step("marts")
        params = {name: 1.0 for m in marts for name, kind in graph().model(m).params if kind == "number"}
        params |= {"month_start": date(2025, 11, 1), "month_end": date(2025, 12, 1)}
        params |= {
            "window_start": datetime(2025, 10, 31, tzinfo=UTC),
            "window_end": datetime(2025, 12, 2, tzinfo=UTC),
        }
        graph().check_params(marts, params | {"w_total": True})


def test_the_runner_refuses_a_step_run_with_a_parameter_missing_before_any_statement(
    warehouse: Warehouse,
) -> None:
    """``tx.run_models`` checks the parameters before the first statement: a VK run without its
    scope fails naming the model, and the step's first model (which needs only ``dt`` and would
    replace the day's pages) has not run."""
    migrate(warehouse)
    day = date(2025, 11, 3)
    with warehouse.transaction() as tx:
        tx.execute(
            "INSERT INTO core.fct_page_daily (vk_group_id, dt, observed_at) VALUES (1, :dt, :at)",
            {"dt": day, "at": datetime(2025, 11, 3, 12, tzinfo=UTC)},
        )
        with pytest.raises(ModelParamsError, match=":forward"):
            tx.run_models("vk", {"dt": day})
        assert tx.scalar("SELECT COUNT(*) FROM core.fct_page_daily WHERE dt = :dt", {"dt": day}) == 1
        assert tx.run_models("vk", {"dt": day, "forward": False}) == graph().step("vk")
        assert tx.scalar("SELECT COUNT(*) FROM core.fct_page_daily WHERE dt = :dt", {"dt": day}) == 0
