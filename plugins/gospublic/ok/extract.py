"""Extract one day of OK pages into the lake, lake-first and replayable as the VK extraction.

Calls for a batch of pages, each answer leading to the next call as soon as it arrives:

1. ``group.getInfo`` (100 ids a call) — subscribers (``members_count``) and the page's
   compliance fields (description, avatar, site, phone, access type);
2. ``mediatopic.getTopics`` (newest first, ``PAGE_SIZE`` a call) — followed by its ``anchor``
   while the page has more topics and the oldest one read is still inside the re-read window, so
   new posts and the metrics (likes, comments, reshares) of recent ones are both read.

Every answer lands first in the lake, as gzip JSON lines holding the call's own parameters and
never the application key, signature or token::

    raw/ok/<method>/dt=YYYY-MM-DD/run=<run_id>/batch-NNNN.jsonl.gz
    raw/ok/_manifests/dt=YYYY-MM-DD/<run_id>.json      (every finished run, with its checks' verdict)
    raw/ok/_manifests/dt=YYYY-MM-DD/latest.json        (the last run that passed its checks)

A killed run leaves files but no manifest; a run that failed its checks leaves its manifest but
not ``latest.json``, so a later load never sees half a day. Errors come in two kinds: ``page``
(OK answered with the page's own error: closed, not found, invalid; or the page is missing from
``group.getInfo``'s answer) and ``gave_up`` (abandoned after its transport retries).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from gospublic.infra.lake import Lake
from gospublic.infra.network_day import GAVE_UP, PAGE_ERROR, BatchOutcome, NetworkLake, read_lines
from gospublic.ok.client import GAVE_UP_CODE, OkCall, OkClient, OkResult

RAW_PREFIX = "raw/ok"
GROUP_INFO, TOPICS = "group.getInfo", "mediatopic.getTopics"
METHODS = (GROUP_INFO, TOPICS)
GROUP_FIELDS = "uid,name,members_count,description,access_type,pic_avatar,homepage_url,phone,category,city"
GROUPS_PER_CALL = 100
PAGE_SIZE = 50
NOT_IN_ANSWER = 300  # NOT_FOUND: a page group.getInfo did not return
LAKE = NetworkLake(RAW_PREFIX, METHODS)
raw_key, manifest_key, read_manifest = LAKE.raw_key, LAKE.manifest_key, LAKE.read_manifest
__all__ = ["LAKE", "extract_batch", "manifest_key", "raw_key", "read_lines", "read_manifest"]


def extract_batch(
    client: OkClient,
    lake: Lake,
    *,
    gids: list[str],
    dt: date,
    window_start: datetime,
    run_id: str,
    batch: int,
) -> BatchOutcome:
    """Extract the pages ``gids`` (information, subscribers, topics), landing every answer."""
    outcome = BatchOutcome(batch=batch, pages=len(gids), window_start=window_start.isoformat())
    writers = LAKE.writers()
    window_ms = int(window_start.timestamp() * 1000)

    def record(result: OkResult) -> None:
        writers[result.call.method].write(_raw_line(result))
        outcome.calls[result.call.method] = outcome.calls.get(result.call.method, 0) + 1
        outcome.errors.extend(_errors(result))

    def follow(result: OkResult) -> list[OkCall]:
        if not result.ok or result.call.method != TOPICS or not isinstance(result.response, dict):
            return []
        topics = result.response.get("media_topics") or []
        oldest = min((int(t.get("created_ms", 0)) for t in topics), default=None)
        anchor = result.response.get("anchor")
        if result.response.get("has_more") and anchor and oldest is not None and oldest >= window_ms:
            return [_topics_call(result.call.key, anchor)]
        return []

    info_calls = [
        OkCall(GROUP_INFO, {"uids": ",".join(chunk), "fields": GROUP_FIELDS}, key=tuple(chunk))
        for chunk in _chunks(gids, GROUPS_PER_CALL)
    ]
    client.run(info_calls + [_topics_call(gid) for gid in gids], on_result=record, follow=follow)
    LAKE.put_files(lake, writers, outcome, dt, run_id)
    return outcome


# -- helpers ------------------------------------------------------------------------------------


def _topics_call(gid: str, anchor: str | None = None) -> OkCall:
    params = {"gid": gid, "count": str(PAGE_SIZE), "direction": "FORWARD"}
    if anchor:
        params["anchor"] = anchor
    return OkCall(TOPICS, params, key=gid)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raw_line(result: OkResult) -> dict[str, Any]:
    line: dict[str, Any] = {
        "method": result.call.method,
        "params": dict(result.call.params),
        "observed_at": datetime.now(UTC).isoformat(),
    }
    if result.ok:
        line["response"] = result.response
    else:
        line["error"] = {"error_code": result.error_code, "error_msg": result.error_msg}
    return line


def _errors(result: OkResult) -> list[dict[str, Any]]:
    """One error per page the failed call was about; for ``group.getInfo`` also the pages its
    answer left out (unknown or deleted groups)."""
    occurred_at = datetime.now(UTC).isoformat()
    if result.call.method == GROUP_INFO:
        asked = [str(gid) for gid in result.call.key]
        if result.ok:
            answered = {str(g.get("uid")) for g in _groups(result.response)}
            missing = [gid for gid in asked if gid not in answered]
            return [
                _error(GROUP_INFO, gid, NOT_IN_ANSWER, "not in group.getInfo's answer", occurred_at)
                for gid in missing
            ]
        return [_error(GROUP_INFO, gid, result.error_code, result.error_msg, occurred_at) for gid in asked]
    if result.ok:
        return []
    return [
        _error(result.call.method, str(result.call.key), result.error_code, result.error_msg, occurred_at)
    ]


def _error(method: str, gid: str, code: int | None, msg: str | None, occurred_at: str) -> dict[str, Any]:
    return {
        "method": method,
        "kind": GAVE_UP if code == GAVE_UP_CODE else PAGE_ERROR,
        "ok_group_id": gid,
        "error_code": code,
        "error_msg": msg,
        "occurred_at": occurred_at,
    }


def _groups(response: Any) -> list[dict[str, Any]]:
    """``group.getInfo``'s groups: OK answers a JSON array; its reference page shows them under
    ``groups``; both are read."""
    if isinstance(response, dict):
        return list(response.get("groups") or [])
    return list(response or [])
