"""Read the health views (migrations 0024, 0025, 0027, 0032) and judge them against the thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from gospublic.infra.warehouse import Warehouse
from gospublic.ops.thresholds import VK_WINDOW_DAYS, Thresholds

Row = dict[str, Any]
NETWORK_TITLES = {"ok": "OK", "max": "MAX", "tg": "Telegram"}  # by registry code, in messages


@dataclass(frozen=True)
class Health:
    """The health views' rows as of ``today`` (Moscow)."""

    today: date
    vk_days: list[Row]  # the VK window's days: dt, loaded, complete
    pages: list[Row]
    network_pages: list[Row]  # OK, MAX and Telegram pages (audit.health_network_page)
    exports: list[Row]
    silent_bodies: list[Row]
    quarantine: list[Row]
    extract_errors: list[Row]


@dataclass(frozen=True)
class Finding:
    """A threshold crossed: what, in Russian and in English."""

    section: str
    ru: str
    en: str


def read(warehouse: Warehouse, today: date, *, recent_loads: int = 10) -> Health:
    """The health of the warehouse on ``today``."""
    first = today - timedelta(days=VK_WINDOW_DAYS)
    loaded = {
        r["dt"]: r
        for r in warehouse.query(
            "SELECT dt, complete, covered_by_dt, failed_pages FROM audit.vk_day_status "
            "WHERE dt >= :first AND dt < :today",
            {"first": first, "today": today},
        )
    }
    vk_days = [
        {
            "dt": day,
            "loaded": day in loaded,
            "complete": bool(loaded[day]["complete"] or loaded[day]["covered_by_dt"])
            if day in loaded
            else False,
            "failed_pages": loaded[day]["failed_pages"] if day in loaded else None,
        }
        for day in (first + timedelta(days=n) for n in range(VK_WINDOW_DAYS))
    ]
    return Health(
        today=today,
        vk_days=vk_days,
        pages=warehouse.query(
            "SELECT page_id, org_id, vk_group_id, last_loaded_dt, last_ok_dt, last_failed_dt, failing_days "
            "FROM audit.health_vk_page ORDER BY failing_days DESC, page_id"
        ),
        network_pages=sorted(
            warehouse.query(
                "SELECT network, page_id, org_id, page_key, last_loaded_dt, last_ok_dt, last_failed_dt, "
                "failing_days FROM audit.health_network_page"
            ),
            key=lambda p: (_network_order(p["network"]), -p["failing_days"], p["page_id"]),
        ),
        exports=warehouse.query(
            "SELECT source, region_code, last_export_date, files, rows_loaded, rows_quarantined "
            "FROM audit.health_export ORDER BY source, region_code"
        ),
        silent_bodies=warehouse.query(
            "SELECT source, region_code, org_id, last_export_date FROM audit.health_silent_body "
            "ORDER BY source, region_code, org_id"
        ),
        quarantine=warehouse.query(
            "SELECT load_id, source, partition_key, file, run_id, rows_quarantined, last_quarantined_at "
            "FROM audit.health_quarantine ORDER BY last_quarantined_at DESC, load_id, file "
            "LIMIT :n",
            {"n": recent_loads},
        ),
        extract_errors=warehouse.query(
            "SELECT dt, run_id, network, kind, errors, pages FROM audit.health_extract_errors "
            "ORDER BY dt DESC, run_id, network, kind LIMIT :n",
            {"n": recent_loads},
        ),
    )


def _ru_days(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} день"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} дня"
    return f"{n} дней"


def _ru_date(day: date) -> str:
    return f"{day:%d.%m.%Y}"


def findings(health: Health, thresholds: Thresholds) -> list[Finding]:
    """Every threshold the health crosses."""
    found: list[Finding] = []
    missing = [d["dt"] for d in health.vk_days if not d["complete"]]
    if len(missing) > thresholds.vk_missing_days:
        days = ", ".join(_ru_date(d) for d in missing)
        found.append(
            Finding(
                "vk_days",
                f"VK: не загружено полностью {_ru_days(len(missing))} за последние {VK_WINDOW_DAYS} "
                f"(допустимо {thresholds.vk_missing_days}): {days}",
                f"VK: {len(missing)} of the last {VK_WINDOW_DAYS} days not fully loaded "
                f"(tolerated {thresholds.vk_missing_days}): {', '.join(map(str, missing))}",
            )
        )
    failing = [p for p in health.pages if p["failing_days"] >= thresholds.page_failing_days]
    if failing:
        listed = ", ".join(f"{p['page_id']} ({p['failing_days']})" for p in failing)
        found.append(
            Finding(
                "pages",
                f"VK: страниц с ошибками {thresholds.page_failing_days} и более загруженных дней подряд: "
                f"{len(failing)} — {listed}",
                f"VK: {len(failing)} pages failing {thresholds.page_failing_days}+ loaded days in a row: "
                f"{listed}",
            )
        )
    found += _network_page_findings(health, thresholds)
    seen = {(e["source"], e["region_code"]) for e in health.exports}
    for export in health.exports:
        limit = thresholds.export_limit(export["source"], export["region_code"])
        if limit is None:
            continue
        age = (health.today - export["last_export_date"]).days
        if age > limit:
            found.append(
                Finding(
                    "exports",
                    f"Выгрузки {export['source'].upper()}, регион {export['region_code']}: нет новых "
                    f"{_ru_days(age)} (последняя от {_ru_date(export['last_export_date'])}, "
                    f"допустимо {_ru_days(limit)})",
                    f"Exports {export['source']} region {export['region_code']}: none for {age} days "
                    f"(last {export['last_export_date']}, tolerated {limit})",
                )
            )
    for region, source in thresholds.export_max_days:
        if region is not None and (source, region) not in seen:
            found.append(
                Finding(
                    "exports",
                    f"Выгрузки {source.upper()}, регион {region}: не получено ни одной",
                    f"Exports {source} region {region}: none received",
                )
            )
    if health.silent_bodies:
        listed = ", ".join(f"{b['org_id']} ({b['source']}, {b['region_code']})" for b in health.silent_bodies)
        found.append(
            Finding(
                "silent_bodies",
                "Органы, пропавшие из выгрузок (обращения в каждом из трёх 30-дневных периодов, "
                f"в последние 30 дней — ни одного): {listed}",
                "Bodies that stopped appearing (incidents in each of three 30-day windows, none in the "
                f"latest 30 days): {listed}",
            )
        )
    return found


def _network_page_findings(health: Health, thresholds: Thresholds) -> list[Finding]:
    """Per network beyond VK (OK, MAX, Telegram in that order), its pages failing its threshold."""
    found: list[Finding] = []
    networks = sorted({p["network"] for p in health.network_pages}, key=_network_order)
    for network in networks:
        limit = thresholds.network_page_limit(network)
        failing = [p for p in health.network_pages if p["network"] == network and p["failing_days"] >= limit]
        if not failing:
            continue
        title = NETWORK_TITLES.get(network, network)
        listed = ", ".join(f"{p['page_id']} ({p['failing_days']})" for p in failing)
        found.append(
            Finding(
                "network_pages",
                f"{title}: страниц с ошибками {limit} и более загруженных дней подряд: "
                f"{len(failing)} — {listed}",
                f"{title}: {len(failing)} pages failing {limit}+ loaded days in a row: {listed}",
            )
        )
    return found


def _network_order(network: str) -> tuple[int, str]:
    order = list(NETWORK_TITLES)
    return (order.index(network) if network in order else len(order), network)
