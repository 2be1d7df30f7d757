"""What the ``incidents_ingest`` tasks hand each other (XCom): typed, JSON-ready dictionaries."""

from __future__ import annotations

from typing import Any, TypedDict


class IngestResult(TypedDict):
    """One pass over ``incoming/`` (what ``files.ingest_landed`` returns): each loaded file's
    reconciled counts, each rejected file with its reason, and the names of files recognised as
    already loaded."""

    loaded: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    already_loaded: list[str]


class IngestTotals(TypedDict):
    files_loaded: int
    files_rejected: int
    files_already_loaded: int
    rows_loaded: int
    rows_quarantined: int
    rows_unresolved: int  # rows loaded whose executor matched no body (audit.export_file.rows_unresolved)
    files_misplaced: int  # objects outside incoming/<source>/, set aside in rejected/
    files_with_unrecognised_columns: int  # loaded files with columns no field reads
    files_with_changed_columns: int  # loaded files whose fields differ from their region's last file
    incidents_resolved: int
