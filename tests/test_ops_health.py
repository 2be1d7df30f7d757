"""Operational health (issue 26): the audit.health_* views on seeded audit rows, the thresholds
ops_check applies and their parsing, the `health` report — on both engines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.ops import health, report, steps
from gospublic.ops.thresholds import Thresholds, parse_export_max_days, parse_network_failing_days

TODAY = date(2025, 12, 10)
NOW = datetime(2025, 12, 10, 6, 0, tzinfo=UTC)  # 09:00 Moscow


def _insert(wh: Warehouse, table: str, rows: list[dict[str, object]]) -> None:
    for row in rows:
        names = ", ".join(row)
        wh.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})", row)


def _page(page_id: str, group: int) -> dict[str, object]:
    return {"page_id": page_id, "org_id": f"org-{page_id}", "network": "vk", "vk_group_id": group,
            "url": f"https://vk.com/club{group}", "status": "active", "valid_from": date(2025, 1, 1),
            "is_current": True, "load_id": "reg"}  # fmt: skip


def _incident(n: int, org: str, day: str) -> dict[str, object]:
    at = datetime.fromisoformat(f"{day}T09:00:00+00:00")
    return {"source": "im", "incident_id": f"i{n}", "region_code": "58", "org_id": org, "executor": org,
            "status": "closed", "registered_at": at, "due_at": at, "is_answered": True, "is_overdue": False,
            "observations": 1, "first_export_date": at.date(), "last_export_date": at.date(),
            "last_exported_at": at, "last_file": "f", "load_id": "inc"}  # fmt: skip


@pytest.fixture
def seeded(warehouse: Warehouse) -> Warehouse:
    """Pages p1 (fails the last 3 loaded days), p2 (failed once, then fine), p3 (never loaded);
    VK days 03..09.12 loaded except 07.12, 08.12 incomplete; IM 58 exported on 05.12 (5 days
    old), ПОС 58 on 08.12; body A with incidents in three 30-day windows before the latest one and
    none in it (silent), B in the latest one too, C in one window only."""
    migrate(warehouse)
    _insert(warehouse, "core.dim_page", [_page("p1", 101), _page("p2", 102), _page("p3", 103)])
    days = [TODAY - timedelta(days=n) for n in range(1, 8)]  # 09.12 .. 03.12
    loaded = [d for d in days if d != date(2025, 12, 7)]
    _insert(warehouse, "audit.vk_day_status", [
        {"dt": d, "run_id": f"r{d}", "pages": 3, "failed_pages": 1, "given_up_pages": 0, "given_up_calls": 0,
         "complete": d != date(2025, 12, 8), "covered_by_dt": None, "loaded_at": NOW}
        for d in loaded
    ])  # fmt: skip
    _insert(warehouse, "core.fct_page_daily", [
        {"vk_group_id": g, "dt": d, "observed_at": NOW} for d in loaded for g in (101, 102)
    ])  # fmt: skip
    errors = [(101, date(2025, 12, 9)), (101, date(2025, 12, 8)), (101, date(2025, 12, 6)),
              (101, date(2025, 12, 6)), (102, date(2025, 12, 4))]  # fmt: skip
    _insert(warehouse, "audit.extract_errors", [
        {"dt": d, "run_id": f"r{d}", "network": "vk", "page_key": str(g), "vk_group_id": g,
         "method": "groups.getById", "kind": "page", "error_code": 15, "error_msg": "closed",
         "occurred_at": NOW}
        for g, d in errors
    ])  # fmt: skip
    _insert(warehouse, "audit.export_file", [
        {"file_sha": sha, "source": src, "file": f"{sha}.csv", "landed_key": sha, "state": state,
         "region_code": "58", "export_date": day, "rows_loaded": 10, "rows_quarantined": 2, "bytes": 1,
         "processed_at": NOW}
        for sha, src, state, day in [
            ("a", "im", "loaded", date(2025, 12, 1)), ("b", "im", "loaded", date(2025, 12, 5)),
            ("c", "im", "rejected", date(2025, 12, 9)), ("d", "pos", "loaded", date(2025, 12, 8)),
        ]
    ])  # fmt: skip
    # IM 58's latest export: 05.12; its windows: 06.11–05.12 (0), 07.10–05.11 (1), 07.09–06.10 (2),
    # 08.08–06.09 (3). A: windows 3, 2, 1, none in 0 (silent); B: also in 0; C: window 1 only.
    incidents = [("A", d) for d in ("2025-08-20", "2025-09-20", "2025-10-20", "2025-11-05")]
    incidents += [("B", d) for d in ("2025-09-20", "2025-10-20", "2025-11-05", "2025-11-20")] + [
        ("C", "2025-11-01")
    ]
    _insert(warehouse, "core.fct_incident", [_incident(n, org, d) for n, (org, d) in enumerate(incidents)])
    _insert(warehouse, "audit.load_runs", [
        {"load_id": "L1", "dag_id": "incidents_ingest", "run_id": "run1", "source": "im",
         "partition_key": "b1", "target_table": "staging.incident_export", "rows_read": 12,
         "rows_written": 10, "rows_rejected": 2,
         "status": "succeeded", "started_at": NOW}
    ])  # fmt: skip
    _insert(warehouse, "audit.quarantine", [
        {"source": "im", "partition_key": "b1", "file": f, "row_number": n, "reason": "bad date",
         "load_id": "L1", "quarantined_at": NOW}
        for n, f in enumerate(["x.csv", "x.csv", "y.csv"])
    ])  # fmt: skip
    return warehouse


def test_health_views_give_each_row(seeded: Warehouse) -> None:
    pages = {r["page_id"]: r for r in seeded.query("SELECT * FROM audit.health_vk_page")}
    assert (
        pages["p1"]["failing_days"] == 3
    )  # loaded days 09, 08 and 06.12 failed (07.12 not loaded); 05.12 ok
    assert pages["p1"]["last_ok_dt"] == date(2025, 12, 5)
    assert pages["p1"]["last_failed_dt"] == date(2025, 12, 9)
    assert pages["p1"]["last_loaded_dt"] == date(2025, 12, 9)
    assert pages["p2"]["failing_days"] == 0 and pages["p2"]["last_ok_dt"] == date(2025, 12, 9)
    assert pages["p3"]["last_loaded_dt"] is None and pages["p3"]["failing_days"] == 0

    exports = {(r["source"], r["region_code"]): r for r in seeded.query("SELECT * FROM audit.health_export")}
    assert exports[("im", "58")]["last_export_date"] == date(2025, 12, 5)  # the rejected 09.12 does not count
    assert exports[("im", "58")]["files"] == 2 and exports[("im", "58")]["rows_quarantined"] == 4
    assert exports[("pos", "58")]["last_export_date"] == date(2025, 12, 8)

    silent = seeded.query("SELECT source, region_code, org_id FROM audit.health_silent_body")
    assert silent == [{"source": "im", "region_code": "58", "org_id": "A"}]

    quarantine = {r["file"]: r for r in seeded.query("SELECT * FROM audit.health_quarantine")}
    assert {f: int(r["rows_quarantined"]) for f, r in quarantine.items()} == {"x.csv": 2, "y.csv": 1}
    assert quarantine["x.csv"]["run_id"] == "run1" and quarantine["x.csv"]["dag_id"] == "incidents_ingest"

    errors = {r["dt"]: r for r in seeded.query("SELECT * FROM audit.health_extract_errors")}
    assert int(errors[date(2025, 12, 6)]["errors"]) == 2 and int(errors[date(2025, 12, 6)]["pages"]) == 1
    assert len(errors) == 4 and {r["network"] for r in errors.values()} == {"vk"}


def _view_0024(name: str) -> str:
    """The SELECT of ``audit.<name>`` as migration 0024 wrote it: the definition 0025 keeps."""
    from gospublic.infra import settings

    text = (settings.sql_dir() / "migrations" / "0024_health_views.sql").read_text(encoding="utf-8")
    start = text.index(f"CREATE VIEW audit.{name} AS") + len(f"CREATE VIEW audit.{name} AS")
    return text[start : text.index(";", start)]


def test_health_vk_page_gives_the_rows_of_its_first_definition(warehouse: Warehouse) -> None:
    """0025 rewrote audit.health_vk_page without correlated subqueries (minutes on PostgreSQL at
    national scale, docs/benchmarks.md): on pages failing on every loaded day, on none, on old
    days only, in streaks with gaps, on days never loaded, and pages never loaded, its rows are
    those of 0024's definition."""
    import random

    migrate(warehouse)
    rnd = random.Random(26)
    groups = range(1, 41)
    _insert(warehouse, "core.dim_page", [_page(f"p{g}", g) for g in groups])
    days = [TODAY - timedelta(days=n) for n in range(1, 15)]
    loaded = [d for d in days if rnd.random() < 0.8]
    _insert(warehouse, "audit.vk_day_status", [
        {"dt": d, "run_id": f"r{d}", "pages": 40, "failed_pages": 0, "given_up_pages": 0, "given_up_calls": 0,
         "complete": True, "covered_by_dt": None, "loaded_at": NOW}
        for d in loaded
    ])  # fmt: skip
    page_days = [(g, d) for g in groups if g % 10 for d in loaded if rnd.random() < 0.9]  # p10, p20…: none
    _insert(
        warehouse,
        "core.fct_page_daily",
        [{"vk_group_id": g, "dt": d, "observed_at": NOW} for g, d in page_days],
    )
    failing = {g: (1.0 if g % 7 == 0 else 0.0 if g % 5 == 0 else rnd.random()) for g in groups}
    errors = [(g, d) for g in groups for d in days if rnd.random() < failing[g]]  # also on days not loaded
    errors += [(g, d) for g, d in errors[::3]]  # a page's second error of a day
    _insert(warehouse, "audit.extract_errors", [
        {"dt": d, "run_id": f"r{d}", "network": "vk", "page_key": str(g), "vk_group_id": g,
         "method": "wall.get", "kind": "page", "error_code": 15, "error_msg": "closed", "occurred_at": NOW}
        for g, d in errors
    ])  # fmt: skip
    columns = "page_id, org_id, vk_group_id, last_ok_dt, last_loaded_dt, last_failed_dt, failing_days"

    def rows(sql: str) -> list[tuple[object, ...]]:
        found = warehouse.query(f"SELECT {columns} FROM ({sql}) AS v ORDER BY page_id")
        return [tuple(int(v) if k == "failing_days" else v for k, v in r.items()) for r in found]

    now = rows("SELECT * FROM audit.health_vk_page")
    assert now == rows(_view_0024("health_vk_page"))
    streaks = {r[0]: r[6] for r in now}
    assert streaks["p7"] == len(loaded) and streaks["p5"] == 0 and len(set(streaks.values())) > 3, streaks


def test_health_silent_body_gives_the_rows_of_its_first_definition(seeded: Warehouse) -> None:
    """0025 rewrote audit.health_silent_body (a sort of every incident on PostgreSQL): with bodies
    active in every mix of the four 30-day windows, before them and after the latest export, its
    rows are those of 0024's definition."""
    import random

    rnd = random.Random(26)
    extra = []
    for n, body in enumerate(f"body-{k}" for k in range(60)):
        reach = rnd.choice((100, 130, 200))  # days before the latest export (05.12) its incidents reach
        for m in range(rnd.randint(1, 8)):
            day = date(2025, 12, 5) - timedelta(days=rnd.randint(-20, reach))
            extra.append(_incident(1000 + n * 10 + m, body, day.isoformat()))
    _insert(seeded, "core.fct_incident", extra)
    columns = "source, region_code, org_id, last_export_date"
    now = seeded.query(f"SELECT {columns} FROM audit.health_silent_body ORDER BY org_id")
    assert now == seeded.query(
        f"SELECT {columns} FROM ({_view_0024('health_silent_body')}) AS v ORDER BY org_id"
    )
    assert 1 < len(now) < 30, now


def test_findings_flag_each_threshold_crossed(seeded: Warehouse) -> None:
    state = health.read(seeded, TODAY)
    assert [(d["dt"], d["complete"]) for d in state.vk_days if not d["complete"]] == [
        (date(2025, 12, 7), False),
        (date(2025, 12, 8), False),
    ]
    limits = Thresholds(export_max_days=parse_export_max_days("im=3,pos=7,77:im=5"), page_failing_days=2)
    found = health.findings(state, limits)
    sections = [f.section for f in found]
    assert sections == ["vk_days", "pages", "exports", "exports", "silent_bodies"]
    assert "p1 (3)" in found[1].en and "p2" not in found[1].en
    assert found[2].ru.startswith("Выгрузки IM, регион 58: нет новых 5 дней") and "05.12.2025" in found[2].ru
    assert found[3].en == "Exports im region 77: none received"
    relaxed = Thresholds(
        export_max_days=parse_export_max_days("im=5,pos=7"), page_failing_days=4, vk_missing_days=2
    )
    assert [f.section for f in health.findings(state, relaxed)] == ["silent_bodies"]


def test_check_fails_in_russian_and_english_and_the_report_flags(
    seeded: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_OPS_EXPORT_MAX_DAYS", "im=3,pos=7")
    with pytest.raises(steps.OpsThresholdError) as failed:
        steps.check(NOW)
    message = str(failed.value)
    assert "Проверка эксплуатации" in message and "Ops check: thresholds crossed" in message
    assert "07.12.2025, 08.12.2025" in message
    state = health.read(seeded, TODAY)
    limits = Thresholds(export_max_days=parse_export_max_days("im=3,pos=7"))
    text = report.render(state, limits, health.findings(state, limits))
    im_line = next(line for line in text.splitlines() if line.startswith("!!") and " im " in f" {line} ")
    assert "2025-12-05" in im_line and " 5 " in im_line
    assert "4 threshold(s) crossed" in text
    errors = text.split("== Extraction errors per run and network (latest)")[1].splitlines()
    assert errors[1].split() == ["dt", "run_id", "network", "kind", "errors", "pages"]
    assert errors[2].split()[:3] == ["2025-12-09", "r2025-12-09", "vk"]


def test_check_passes_when_healthy(warehouse: Warehouse) -> None:
    migrate(warehouse)
    _insert(warehouse, "audit.vk_day_status", [
        {"dt": TODAY - timedelta(days=n), "run_id": "r", "pages": 0, "failed_pages": 0, "given_up_pages": 0,
         "given_up_calls": 0, "complete": True, "covered_by_dt": None, "loaded_at": NOW}
        for n in range(1, 8)
    ])  # fmt: skip
    assert steps.check(NOW) == {
        "today": "2025-12-10",
        "pages": 0,
        "network_pages": 0,
        "exports": 0,
        "quarantined_rows": 0,
    }


@pytest.mark.parametrize(
    ("parse", "text", "problem"),
    [(parse_export_max_days, "im=x", "not source=days"), (parse_export_max_days, "im=3,im=4", "given twice"),
     (parse_export_max_days, "im=0", "at least 1"), (parse_export_max_days, "58pos=1", "not source=days"),
     (parse_export_max_days, "im=3;pos=4", "not source=days"),
     (parse_network_failing_days, "ok=x", "not network=days"),
     (parse_network_failing_days, "ok=3,ok=4", "given twice"),
     (parse_network_failing_days, "ok=0", "at least 1"),
     (parse_network_failing_days, "vk=3", "not one of"), (parse_network_failing_days, "xx=3", "not one of")],
)  # fmt: skip
def test_day_limits_refuse_bad_settings(parse: Callable[[str], object], text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse(text)


def test_export_max_days_parses_sources_and_regions() -> None:
    limits = Thresholds(export_max_days=parse_export_max_days(" im=3, pos=7 ,58:pos=10"))
    assert limits.export_limit("pos", "58") == 10
    assert limits.export_limit("pos", "43") == 7
    assert limits.export_limit("im", "58") == 3
    assert limits.export_limit("vk", "58") is None


def test_ops_check_dag_fails_for_good_and_alerts(
    seeded: Warehouse, airflow_home, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DAG run for real (dag.test): crossed thresholds (the seeded rows are a year old) fail
    its task without a retry and the failure hook records the alert."""
    import json
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("GOSPUBLIC_ALERT_LOG", str(alerts))
    monkeypatch.setenv("GOSPUBLIC_TASK_RETRIES", "2")
    dag = DagBag(dag_folder=str(Path(__file__).parents[1] / "dags")).dags["ops_check"]
    assert dag.get_task("check").retries == 2  # so a first-try failure is the task's own doing
    run = dag.test()
    assert run.state == "failed"
    (ti,) = run.get_task_instances()
    assert (ti.task_id, ti.state, ti.try_number) == ("check", "failed", 1)
    alert = json.loads(alerts.read_text().splitlines()[-1])
    assert (alert["dag_id"], alert["task_id"]) == ("ops_check", "check")


# -- OK, MAX and Telegram pages (the same threshold as VK's, per network) -----------------------


def _network_page(page_id: str, network: str, key: str) -> dict[str, object]:
    return {"page_id": page_id, "org_id": f"org-{page_id}", "network": network, "screen_name": key,
            "url": f"https://example.org/{key}", "status": "active", "valid_from": date(2025, 1, 1),
            "is_current": True, "load_id": "reg"}  # fmt: skip


@pytest.fixture
def networks_seeded(warehouse: Warehouse) -> Warehouse:
    """VK healthy. OK loaded 06..09.12: o1 fails 07, 08, 09 (3 days), o2 failed 08 only. MAX loaded 08,
    09: m1 fails both (2, never ok). Telegram loaded 06, 07, 09 (08 extracted, not loaded): t1 fails
    07, 08, 09 (2 loaded days), ok on 06. An error of a page the registry does not know is not a page."""
    migrate(warehouse)
    _insert(warehouse, "audit.vk_day_status", [
        {"dt": TODAY - timedelta(days=n), "run_id": "r", "pages": 0, "failed_pages": 0, "given_up_pages": 0,
         "given_up_calls": 0, "complete": True, "covered_by_dt": None, "loaded_at": NOW}
        for n in range(1, 8)
    ])  # fmt: skip
    _insert(warehouse, "core.dim_page", [
        _network_page("o1", "ok", "111"), _network_page("o2", "ok", "112"),
        _network_page("m1", "max", "-222"), _network_page("t1", "tg", "chan"),
    ])  # fmt: skip
    loaded = {"ok": [6, 7, 8, 9], "max": [8, 9], "tg": [6, 7, 9]}
    _insert(warehouse, "audit.load_runs", [
        {"load_id": f"{net}{day}:{method}", "dag_id": f"{net}_pages", "run_id": f"r{day}",
         "source": f"{net}/{method}", "partition_key": date(2025, 12, day).isoformat(),
         "target_table": "staging.network_page_observations", "status": "success", "started_at": NOW}
        for net, days in loaded.items() for day in days for method in ("pages", "posts")
    ])  # fmt: skip
    _insert(warehouse, "audit.load_runs", [
        {"load_id": "max7", "dag_id": "max_pages", "run_id": "r7", "source": "max/pages",
         "partition_key": "2025-12-07", "target_table": "staging.network_page_observations",
         "status": "failed", "started_at": NOW}
    ])  # fmt: skip
    _insert(warehouse, "core.fct_network_page_daily", [
        {"network": "ok", "page_key": "112", "dt": date(2025, 12, d), "observed_at": NOW, "load_id": "l"}
        for d in (8, 9)
    ])  # fmt: skip
    errors = (
        [("ok", "111", d) for d in (7, 8, 9)] + [("ok", "112", 8)] + [("max", "-222", d) for d in (7, 8, 9)]
    )
    errors += [("tg", "chan", d) for d in (7, 8, 9)] + [("tg", "gone", 9)] + [("tg", None, 9)]
    _insert(warehouse, "audit.extract_errors", [
        {"dt": date(2025, 12, d), "run_id": f"r{d}", "network": net, "page_key": key, "vk_group_id": None,
         "method": "m", "kind": "page", "error_code": 1, "error_msg": "closed", "occurred_at": NOW}
        for net, key, d in errors
    ])  # fmt: skip
    return warehouse


def test_health_network_page_counts_failing_loaded_days_per_network(networks_seeded: Warehouse) -> None:
    rows = networks_seeded.query("SELECT * FROM audit.health_network_page ORDER BY network, page_id")
    pages = {r["page_id"]: r for r in rows}
    assert set(pages) == {"o1", "o2", "m1", "t1"}
    assert (pages["o1"]["network"], pages["o1"]["page_key"], pages["o1"]["failing_days"]) == ("ok", "111", 3)
    assert pages["o1"]["last_ok_dt"] == date(2025, 12, 6) and pages["o1"]["last_failed_dt"] == date(
        2025, 12, 9
    )
    assert pages["o2"]["failing_days"] == 0 and pages["o2"]["last_ok_dt"] == date(2025, 12, 9)
    assert pages["o2"]["last_loaded_dt"] == date(2025, 12, 9) and pages["o1"]["last_loaded_dt"] is None
    assert pages["m1"]["failing_days"] == 2 and pages["m1"]["last_ok_dt"] is None  # 07.12's load failed
    assert pages["t1"]["failing_days"] == 2 and pages["t1"]["last_ok_dt"] == date(2025, 12, 6)
    assert not any(r["page_id"] == "p1" for r in rows), "VK's pages are audit.health_vk_page's"


def test_findings_apply_the_page_threshold_to_each_network(networks_seeded: Warehouse) -> None:
    state = health.read(networks_seeded, TODAY)
    assert health.findings(state, Thresholds(export_max_days={})) != []
    found = health.findings(state, Thresholds(export_max_days={}))
    assert [(f.section, f.en.split(":")[0]) for f in found] == [("network_pages", "OK")]
    assert "o1 (3)" in found[0].en and "o2" not in found[0].en
    assert found[0].ru.startswith("OK: страниц с ошибками 3 и более загруженных дней подряд: 1 — o1 (3)")
    per_network = Thresholds(
        export_max_days={}, network_failing_days=parse_network_failing_days("max=2,tg=2")
    )
    found = health.findings(state, per_network)
    assert [f.en.split(":")[0] for f in found] == ["OK", "MAX", "Telegram"]
    assert "m1 (2)" in found[1].en and "t1 (2)" in found[2].en
    relaxed = Thresholds(
        export_max_days={}, page_failing_days=2, network_failing_days={"ok": 4, "max": 3, "tg": 3}
    )
    assert health.findings(state, relaxed) == []
    text = report.render(state, per_network, health.findings(state, per_network))
    flagged = [line.split() for line in text.splitlines() if line.startswith("!!")]
    assert [line[1:4] for line in flagged[:3]] == [
        ["ok", "o1", "111"],
        ["max", "m1", "-222"],
        ["tg", "t1", "chan"],
    ]


def test_ops_check_fails_on_a_network_page_as_configured(
    networks_seeded: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_OPS_EXPORT_MAX_DAYS", "im=3")
    monkeypatch.setenv("GOSPUBLIC_OPS_PAGE_FAILING_DAYS", "4")  # VK's; the networks' default
    assert steps.check(NOW)["network_pages"] == 4
    monkeypatch.setenv("GOSPUBLIC_OPS_NETWORK_PAGE_FAILING_DAYS", "tg=2")
    with pytest.raises(steps.OpsThresholdError) as failed:
        steps.check(NOW)
    message = str(failed.value)
    assert "Telegram: страниц с ошибками 2 и более" in message and "t1 (2)" in message
    assert "OK:" not in message and "MAX:" not in message
