"""VK answers flattened into staging rows; commenters only as keyed hashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transforms.pseudonymize import make_pseudonymizer
from transforms.vk_flatten import (
    COMMENT_COLUMNS,
    PAGE_COLUMNS,
    POST_COLUMNS,
    attachment_counts,
    comment_rows,
    page_rows,
    post_rows,
)

OBSERVED = "2025-11-15T21:00:00+00:00"
PSEUDO = make_pseudonymizer(b"0123456789abcdef-test-key")


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
    rows = list(page_rows([record], "2025-11-15", "load-1"))
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
    (row,) = post_rows(
        [{"observed_at": OBSERVED, "response": {"count": 1, "items": [post]}}], "2025-11-15", "l"
    )
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
    citizen, reply = comment_rows([record], "2025-11-15", "l", PSEUDO)
    assert set(citizen) == set(COMMENT_COLUMNS)
    assert citizen["author_hash"] == PSEUDO("vk:424242")
    assert "424242" not in str(citizen)
    assert (citizen["is_page_reply"], citizen["parent_comment_id"]) == (False, None)
    assert (reply["is_page_reply"], reply["parent_comment_id"], reply["author_hash"]) == (True, 500, None)


def test_attachment_counts_of_nothing() -> None:
    assert attachment_counts([]) == {
        "photo_count": 0,
        "video_count": 0,
        "link_count": 0,
        "other_attachment_count": 0,
    }


def test_pseudonyms_are_keyed_and_stable() -> None:
    other = make_pseudonymizer(b"another-key-of-16-bytes")
    assert PSEUDO("vk:1") == PSEUDO("vk:1")
    assert PSEUDO("vk:1") != PSEUDO("vk:2")
    assert PSEUDO("vk:1") != other("vk:1")
    assert len(PSEUDO("vk:1")) == 32
    with pytest.raises(ValueError, match="16 bytes"):
        make_pseudonymizer(b"short")
