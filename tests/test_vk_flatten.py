"""VK answers flattened into staging rows; commenters only as keyed hashes."""

from __future__ import annotations

import gzip
import io
import json
import pickle
from datetime import UTC, date, datetime
from typing import Any

import pytest

from transforms.pseudonymize import make_pseudonymizer
from transforms.vk_flatten import (
    COMMENT_COLUMNS,
    PAGE_COLUMNS,
    POST_COLUMNS,
    RawFormatError,
    attachment_counts,
    flatten_gzip,
    flatten_raw,
    memoized,
    raw_line_chunks,
)

OBSERVED = "2025-11-15T21:00:00+00:00"
DT = date(2025, 11, 15)
PSEUDO = make_pseudonymizer(b"0123456789abcdef-test-key")


def flatten(method: str, *records: dict[str, Any], load_id: str = "l") -> list[dict[str, Any]]:
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    return flatten_raw(method, payload, DT, load_id, PSEUDO).rows()


def test_page_rows_read_the_5_199_groups_object() -> None:
    record = {
        "observed_at": OBSERVED,
        "response": {
            "groups": [
                {
                    "id": 101,
                    "name": "Министерство здравоохранения",
                    "screen_name": "minzdrav58",
                    "is_closed": 0,
                    "type": "page",
                    "members_count": 15230,
                    "verified": 1,
                    "has_photo": 1,
                    "cover": {"enabled": 1, "images": []},
                    "description": "Официальная страница",
                    "contacts": [{"user_id": 1}],
                    "links": [],
                    "site": "",
                    "can_message": 0,
                    "wall": 2,
                    "activity": "Государственная организация",
                },
                {
                    "id": 102,
                    "name": "Удалена",
                    "screen_name": "club102",
                    "is_closed": 0,
                    "deactivated": "deleted",
                },
            ],
            "profiles": [],
        },
    }
    rows = flatten("groups.getById", record, load_id="load-1")
    assert [set(r) for r in rows] == [set(PAGE_COLUMNS)] * 2
    first, deleted = rows
    assert first["members_count"] == 15230
    assert (first["verified"], first["has_cover"], first["has_description"]) == (True, True, True)
    assert (first["has_contacts"], first["has_links"], first["has_site"], first["can_message"]) == (
        True,
        False,
        False,
        False,
    )
    assert first["observed_at"] == datetime(2025, 11, 15, 21, tzinfo=UTC)
    assert deleted["deactivated"] == "deleted"
    assert deleted["members_count"] is None


def test_post_rows_summarize_attachments_and_metrics() -> None:
    post = {
        "id": 77,
        "owner_id": -101,
        "from_id": -101,
        "date": 1762950000,
        "text": "Прививочная кампания",
        "attachments": [
            {"type": "photo"},
            {"type": "photo"},
            {"type": "video"},
            {"type": "link"},
            {"type": "poll"},
        ],
        "is_pinned": 1,
        "copy_history": [{"id": 5, "owner_id": -7}],
        "views": {"count": 1200},
        "likes": {"count": 30, "user_likes": 0},
        "comments": {"count": 4},
        "reposts": {"count": 2},
    }
    (row,) = flatten("wall.get", {"observed_at": OBSERVED, "response": {"count": 1, "items": [post]}})
    assert set(row) == set(POST_COLUMNS)
    assert (row["vk_group_id"], row["post_id"]) == (101, 77)
    assert row["published_at"] == datetime.fromtimestamp(1762950000, UTC)
    assert (row["photo_count"], row["video_count"], row["link_count"], row["other_attachment_count"]) == (
        2,
        1,
        1,
        1,
    )
    assert (row["is_pinned"], row["is_repost"], row["text_length"]) == (
        True,
        True,
        len("Прививочная кампания"),
    )
    assert (row["views"], row["likes"], row["comments"], row["reposts"]) == (1200, 30, 4, 2)


def test_comment_rows_mark_page_replies_and_hash_citizens() -> None:
    record = {
        "observed_at": OBSERVED,
        "params": {"owner_id": -101, "post_id": 77},
        "response": {
            "count": 1,
            "items": [
                {
                    "id": 500,
                    "from_id": 424242,
                    "date": 1762950600,
                    "text": "Когда уберут снег?",
                    "parents_stack": [],
                    "thread": {
                        "count": 1,
                        "items": [
                            {
                                "id": 501,
                                "from_id": -101,
                                "date": 1762954200,
                                "text": "Завтра",
                                "parents_stack": [500],
                            }
                        ],
                    },
                }
            ],
        },
    }
    citizen, reply = flatten("wall.getComments", record)
    assert set(citizen) == set(COMMENT_COLUMNS)
    assert citizen["author_hash"] == PSEUDO("vk:424242")
    assert "424242" not in str(citizen)
    assert (citizen["is_page_reply"], citizen["parent_comment_id"]) == (False, None)
    assert (reply["is_page_reply"], reply["parent_comment_id"], reply["author_hash"]) == (True, 500, None)


def test_attachment_counts_of_nothing() -> None:
    assert attachment_counts([]) == (0, 0, 0, 0)


def test_error_answers_are_counted_not_loaded() -> None:
    error = {"observed_at": OBSERVED, "params": {"owner_id": -5}, "error": {"error_code": 15}}
    ok = {"observed_at": OBSERVED, "response": {"count": 1, "items": [{"id": 1, "owner_id": -5, "date": 1}]}}
    flat = flatten_raw(
        "wall.get", (json.dumps(error) + "\n" + json.dumps(ok) + "\n").encode(), DT, "l", PSEUDO
    )
    assert (flat.table.num_rows, flat.rejected, flat.read) == (1, 1, 2)
    assert flat.table.column_names == list(POST_COLUMNS)
    (row,) = flat.rows()
    assert (row["dt"], row["views"], row["is_pinned"], row["text_length"]) == (DT, None, None, 0)


def test_a_malformed_line_names_the_file_and_line() -> None:
    good = {"observed_at": OBSERVED, "response": {"count": 0, "items": []}}
    bad = {
        "observed_at": OBSERVED,
        "response": {"count": 1, "items": [{"id": "x", "owner_id": -5, "date": 1}]},
    }
    payload = (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()
    with pytest.raises(
        RawFormatError, match=r"raw/vk/wall.get/x.jsonl.gz: .*\$\[1\]\.response\.items\[0\]\.id"
    ):
        flatten_raw("wall.get", payload, DT, "l", PSEUDO, source="raw/vk/wall.get/x.jsonl.gz")


def test_memoized_pseudonyms_equal_the_plain_ones() -> None:
    calls = []

    def counting(value: str) -> str:
        calls.append(value)
        return PSEUDO(value)

    cached = memoized(counting)
    assert [cached("vk:1"), cached("vk:2"), cached("vk:1")] == [
        PSEUDO("vk:1"),
        PSEUDO("vk:2"),
        PSEUDO("vk:1"),
    ]
    assert calls == ["vk:1", "vk:2"]


def test_pseudonyms_are_keyed_and_stable() -> None:
    other = make_pseudonymizer(b"another-key-of-16-bytes")
    assert PSEUDO("vk:1") == PSEUDO("vk:1")
    assert PSEUDO("vk:1") != PSEUDO("vk:2")
    assert PSEUDO("vk:1") != other("vk:1")
    assert len(PSEUDO("vk:1")) == 32
    with pytest.raises(ValueError, match="16 bytes"):
        make_pseudonymizer(b"short")


def test_posts_from_before_the_window_are_left_out_and_counted() -> None:
    items = [{"id": n, "owner_id": -5, "date": 1000 + n} for n in (0, 5, 10)]
    line = {"observed_at": OBSERVED, "response": {"count": 3, "items": items}}
    payload = (json.dumps(line) + "\n").encode()
    flat = flatten_raw("wall.get", payload, DT, "l", PSEUDO, window_start=1005)
    assert [r["post_id"] for r in flat.rows()] == [5, 10]
    assert (flat.before_window, flat.read) == (1, 2)
    assert flatten_raw("wall.get", payload, DT, "l", PSEUDO).table.num_rows == 3


def test_pseudonymizer_travels_to_workers_without_showing_its_key() -> None:
    copy = pickle.loads(pickle.dumps(PSEUDO))
    assert copy("vk:7") == PSEUDO("vk:7")
    assert "0123456789" not in repr(PSEUDO) and "0123456789" not in str(PSEUDO)


@pytest.mark.parametrize("chunk_bytes", [1, 7, 40, 10_000])
def test_raw_line_chunks_cut_whole_lines_and_number_them(chunk_bytes: int) -> None:
    lines = [f'{{"n": {n}, "pad": "{"x" * (n % 9)}"}}\n'.encode() for n in range(1, 31)]
    compressed = gzip.compress(b"".join(lines) + b'{"n": 31}')  # the last line has no newline
    chunks = list(raw_line_chunks(io.BytesIO(compressed), chunk_bytes))
    assert b"".join(payload for _, payload in chunks) == b"".join(lines) + b'{"n": 31}'
    for first, payload in chunks:
        assert json.loads(payload.splitlines()[0])["n"] == first
        assert payload.endswith(b"\n") or payload.endswith(b"31}")
    if chunk_bytes == 10_000:  # lines, then the unfinished last one
        assert [first for first, _ in chunks] == [1, 31]
        assert [first for first, _ in raw_line_chunks(io.BytesIO(gzip.compress(b"".join(lines))))] == [1]


def test_a_gzipped_file_flattens_chunk_by_chunk_and_names_the_bad_line() -> None:
    post = {"id": 1, "owner_id": -5, "date": 9}
    good = {"observed_at": OBSERVED, "response": {"count": 1, "items": [post]}}
    bad = {**good, "response": {"count": 1, "items": [{"id": "x", "owner_id": -5, "date": 1}]}}
    lines = [json.dumps(good) + "\n"] * 5
    whole = flatten_gzip("wall.get", gzip.compress("".join(lines).encode()), DT, "l", PSEUDO, chunk_bytes=100)
    assert len(whole) > 1 and sum(f.table.num_rows for f in whole) == 5
    compressed = gzip.compress("".join([*lines, json.dumps(bad) + "\n"]).encode())
    with pytest.raises(RawFormatError, match=r"raw/x.jsonl.gz \(lines from 6\): .*\$\[0\]\.response"):
        flatten_gzip("wall.get", compressed, DT, "l", PSEUDO, source="raw/x.jsonl.gz", chunk_bytes=100)
