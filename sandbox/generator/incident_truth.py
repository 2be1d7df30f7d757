"""Ground truth of incidents: each one's state after applying the month's exports in order."""

from __future__ import annotations

import datetime as dt

import numpy as np

from sandbox.generator import export_spec
from sandbox.generator.exports import ExportFile
from sandbox.generator.incidents import Incidents, status_at
from sandbox.generator.registry import RegionRegistry

INCIDENT_COLUMNS = [
    "source",
    "incident_id",
    "region_code",
    "org_id",
    "executor",
    "status",
    "status_code",
    "registered_at",
    "first_reaction_at",
    "answered_at",
    "due_at",
    "satisfaction",
    "satisfied",
    "answered",
    "overdue",
    "last_export",
]
LABEL_COLUMNS = ["source", "incident_id", "formal", "no_specifics", "impolite", "redirect", "template"]


def _iso(ts: int, seconds: bool) -> str:
    if ts < 0:
        return ""
    if not seconds:
        ts -= ts % 60
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_valid(n: int, files: list[tuple[ExportFile, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Index of the last file (in export order) with a valid row of each incident, -1 if none."""
    last = np.full(n, -1)
    for k, (_, included, valid) in enumerate(files):
        last[included[valid]] = k
    return last


def rows(
    inc: Incidents, registry: RegionRegistry, files: list[tuple[ExportFile, np.ndarray, np.ndarray]]
) -> tuple[list[list[object]], list[list[object]]]:
    """Truth rows of incidents.csv and answer_labels.csv for one source of one region."""
    orgs = registry.current_orgs()
    last = latest_valid(len(inc), files)
    statuses = {k: status_at(inc, f.exported_at) for k, (f, _, _) in enumerate(files)}
    incident_rows, label_rows = [], []
    for index in np.flatnonzero(last >= 0):
        i = int(index)
        export = files[int(last[i])][0]
        at = export.exported_at
        seconds = export.seconds or (export.format == "xlsx" and export.excel_dates)
        status = statuses[int(last[i])][i]
        answered = 0 <= inc.answered[i] <= at
        rated = inc.score[i] > 0 and 0 <= inc.closed[i] <= at
        words = bool(inc.score_words[i])
        overdue = (answered and inc.answered[i] > inc.due[i]) or (not answered and at > inc.due[i])
        incident_rows.append(
            [
                inc.source,
                inc.ids[i],
                registry.region.code,
                orgs[int(inc.org[i])].org_id if inc.org[i] >= 0 else "",
                inc.executor[i],
                status,
                export_spec.STATUSES[status],
                _iso(int(inc.registered[i]), seconds),
                _iso(int(inc.first_reaction[i]), seconds)
                if inc.source == "im" and 0 <= inc.first_reaction[i] <= at
                else "",
                _iso(int(inc.answered[i]), seconds) if answered else "",
                _iso(int(inc.due[i]), True),
                int(inc.score[i]) if rated and not words else "",
                int(inc.score[i] >= 4) if rated else "",
                int(answered),
                int(overdue),
                export.name,
            ]
        )
        answer = inc.answer[i]
        if answered and answer is not None:
            label_rows.append(
                [
                    inc.source,
                    inc.ids[i],
                    answer.formal,
                    answer.no_specifics,
                    answer.impolite,
                    answer.redirect,
                    answer.template,
                ]
            )
    return incident_rows, label_rows
