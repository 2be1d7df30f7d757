"""Flatten VK API answers (as landed in the lake) into warehouse rows, column by column, in Python.

The VK load flattens in SQL (``sql/flatten/``, ``gospublic.vk.flatten``: DuckDB reads the raw files
itself, with no Python loop over rows); this module is the reference that SQL is held to —
``tests/vk/test_vk_sql_flatten.py`` checks that both give the same staged rows and counts — and a
way to read a raw file from a notebook without a database.

Input is one raw lake file's JSON lines: ``{"method", "params", "observed_at", "response"}`` or
``{..., "error"}``. Lines are decoded with typed ``msgspec`` structs that read only the fields the
warehouse keeps (about nine times faster than ``json.loads`` into dicts), and the output is an
Arrow table with the columns of ``staging.vk_page_observations``, ``staging.vk_post_observations``
or ``staging.vk_comment_observations``, ready for ``COPY`` / DuckDB append.
Commenters' ids are personal data: only their keyed hash leaves this module.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

import msgspec
import pyarrow as pa

Pseudonymize = Callable[[str], str]

RAW_CHUNK_BYTES = 32 * 1024 * 1024  # decompressed JSON lines flattened at a time

PAGE_COLUMNS = (
    "dt", "vk_group_id", "screen_name", "name", "members_count", "is_closed", "deactivated",
    "verified", "has_photo", "has_cover", "has_description", "has_contacts", "has_links", "has_site",
    "can_message", "wall", "activity", "observed_at", "load_id",
)  # fmt: skip
POST_COLUMNS = (
    "dt", "vk_group_id", "post_id", "published_at", "text_length", "photo_count", "video_count",
    "link_count", "other_attachment_count", "is_pinned", "is_repost", "views", "likes", "comments",
    "reposts", "observed_at", "load_id",
)  # fmt: skip
COMMENT_COLUMNS = (
    "dt", "vk_group_id", "post_id", "comment_id", "parent_comment_id", "published_at", "author_hash",
    "is_page_reply", "text_length", "observed_at", "load_id",
)  # fmt: skip

_TS = pa.timestamp("us", tz="UTC")
_TYPES: dict[str, pa.DataType] = {
    "dt": pa.date32(), "vk_group_id": pa.int64(), "post_id": pa.int64(), "comment_id": pa.int64(),
    "parent_comment_id": pa.int64(), "screen_name": pa.string(), "name": pa.string(),
    "members_count": pa.int64(), "is_closed": pa.int32(), "deactivated": pa.string(),
    "wall": pa.int32(), "activity": pa.string(), "published_at": _TS, "observed_at": _TS,
    "text_length": pa.int32(), "photo_count": pa.int32(), "video_count": pa.int32(),
    "link_count": pa.int32(), "other_attachment_count": pa.int32(), "views": pa.int64(),
    "likes": pa.int64(), "comments": pa.int64(), "reposts": pa.int64(), "author_hash": pa.string(),
    "load_id": pa.string(),
}  # fmt: skip
PHOTO_TYPES = frozenset({"photo", "album", "posted_photo"})
VIDEO_TYPES = frozenset({"video", "clip"})


class RawFormatError(ValueError):
    """A raw lake file holds a line that is not a VK answer of the expected shape."""


# -- the shapes read from the raw lines (unknown fields are skipped, not decoded) ---------------


class _Count(msgspec.Struct):
    count: int = 0


class _Attachment(msgspec.Struct):
    type: str | None = None


class _Post(msgspec.Struct):
    id: int
    owner_id: int
    date: int
    text: str | None = None
    attachments: list[_Attachment] | None = None
    is_pinned: Any = None
    copy_history: list[msgspec.Raw] | None = None
    views: _Count | None = None
    likes: _Count | None = None
    comments: _Count | None = None
    reposts: _Count | None = None


class _Comment(msgspec.Struct):
    id: int
    date: int
    from_id: int | None = None
    text: str | None = None
    parents_stack: list[int] | None = None
    thread: _Thread | None = None


class _Thread(msgspec.Struct):
    items: list[_Comment] = []


class _Cover(msgspec.Struct):
    enabled: Any = None


class _Group(msgspec.Struct):
    id: int
    screen_name: str | None = None
    name: str | None = None
    members_count: int | None = None
    is_closed: int | None = None
    deactivated: str | None = None
    verified: Any = None
    has_photo: Any = None
    cover: _Cover | None = None
    description: str | None = None
    contacts: list[msgspec.Raw] | None = None
    links: list[msgspec.Raw] | None = None
    site: str | None = None
    can_message: Any = None
    wall: int | None = None
    activity: str | None = None


class _Groups(msgspec.Struct):
    groups: list[_Group] = []


class _PostItems(msgspec.Struct):
    items: list[_Post] = []


class _CommentItems(msgspec.Struct):
    items: list[_Comment] = []


class _CommentParams(msgspec.Struct):
    owner_id: int
    post_id: int


class _GroupsLine(msgspec.Struct):
    observed_at: str
    response: _Groups | list[_Group] | None = None
    error: Any = None


class _WallLine(msgspec.Struct):
    observed_at: str
    response: _PostItems | None = None
    error: Any = None


class _CommentsLine(msgspec.Struct):
    observed_at: str
    params: _CommentParams | None = None
    response: _CommentItems | None = None
    error: Any = None


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "groups.getById": msgspec.json.Decoder(_GroupsLine, strict=False),
    "wall.get": msgspec.json.Decoder(_WallLine, strict=False),
    "wall.getComments": msgspec.json.Decoder(_CommentsLine, strict=False),
}
COLUMNS = {"groups.getById": PAGE_COLUMNS, "wall.get": POST_COLUMNS, "wall.getComments": COMMENT_COLUMNS}


@dataclass(frozen=True)
class Flattened:
    """One raw file flattened: its rows as Arrow, the error answers it held, and the posts it
    held from before the re-read window (``wall.get`` pages reach past it; not observations)."""

    table: pa.Table
    rejected: int
    before_window: int = 0

    @property
    def read(self) -> int:
        """Items read: rows written plus error answers (the load's reconciliation)."""
        rows: int = self.table.num_rows
        return rows + self.rejected

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.table.to_pylist()
        return rows


def flatten_raw(
    method: str,
    payload: bytes,
    dt: date,
    load_id: str,
    pseudonymize: Pseudonymize,
    *,
    source: str = "raw file",
    window_start: int | None = None,
) -> Flattened:
    """Flatten the JSON lines ``payload`` of one raw file of ``method``; errors name ``source``.

    With ``window_start`` (epoch seconds) posts published before it are left out: which of them a
    ``wall.get`` page returns depends on how many posts it asked for, and staging keeps the window
    only, so a day loads the same rows however it was paged."""
    try:
        lines = _DECODERS[method].decode_lines(payload)
    except KeyError:
        raise RawFormatError(f"{source}: no flattener for VK method {method!r}") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RawFormatError(f"{source}: {exc} (`$[n]` is the n-th line from 0)") from exc
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS[method]}
    rejected = before_window = 0
    for number, line in enumerate(lines, start=1):
        if line.error is not None or line.response is None:
            rejected += 1
            continue
        observed_us = _epoch_us(line.observed_at, source, number)
        if method == "groups.getById":
            _page_columns(columns, line.response, observed_us)
        elif method == "wall.get":
            posts = line.response.items
            if window_start is not None:
                kept = [post for post in posts if post.date >= window_start]
                before_window += len(posts) - len(kept)
                posts = kept
            _post_columns(columns, posts, observed_us)
        else:
            if line.params is None:
                raise RawFormatError(f"{source}, line {number}: wall.getComments answer without params")
            _comment_columns(columns, line, observed_us, pseudonymize)
    return Flattened(_table(columns, dt, load_id), rejected, before_window)


def attachment_counts(types: Iterable[str | None]) -> tuple[int, int, int, int]:
    """Photo, video, link and other attachment counts of a post's attachment types."""
    photos = videos = links = other = 0
    for kind in types:
        if kind in PHOTO_TYPES:
            photos += 1
        elif kind in VIDEO_TYPES:
            videos += 1
        elif kind == "link":
            links += 1
        else:
            other += 1
    return photos, videos, links, other


# -- per method -------------------------------------------------------------------------------


def _page_columns(columns: dict[str, list[Any]], response: _Groups | list[_Group], observed_us: int) -> None:
    groups = response.groups if isinstance(response, _Groups) else response
    for group in groups:
        values = (
            group.id, group.screen_name, group.name, group.members_count, group.is_closed,
            group.deactivated, _flag(group.verified), _flag(group.has_photo),
            _flag(group.cover.enabled if group.cover else None), bool((group.description or "").strip()),
            bool(group.contacts), bool(group.links), bool((group.site or "").strip()),
            _flag(group.can_message), group.wall, group.activity, observed_us,
        )  # fmt: skip
        for name, value in zip(PAGE_COLUMNS[1:-1], values, strict=True):
            columns[name].append(value)


def _post_columns(columns: dict[str, list[Any]], posts: list[_Post], observed_us: int) -> None:
    """One row per post (the hot loop of a national load: bound appends, no per-post calls)."""
    (
        group_ids, post_ids, published, text_lengths, photo_counts, video_counts, link_counts,
        other_counts, pinned, reposted, views, likes, comments, reposts, observed,
    ) = (columns[name].append for name in POST_COLUMNS[1:-1])  # fmt: skip
    for post in posts:
        photos, videos, links, other = (
            attachment_counts(a.type for a in post.attachments) if post.attachments else (0, 0, 0, 0)
        )
        group_ids(-post.owner_id)
        post_ids(post.id)
        published(post.date * 1_000_000)
        text_lengths(len(post.text) if post.text else 0)
        photo_counts(photos)
        video_counts(videos)
        link_counts(links)
        other_counts(other)
        pinned(None if post.is_pinned is None else bool(post.is_pinned))
        reposted(bool(post.copy_history))
        views(post.views.count if post.views else None)
        likes(post.likes.count if post.likes else None)
        comments(post.comments.count if post.comments else None)
        reposts(post.reposts.count if post.reposts else None)
        observed(observed_us)


def _comment_columns(
    columns: dict[str, list[Any]], line: _CommentsLine, observed_us: int, pseudonymize: Pseudonymize
) -> None:
    """Comments of one ``wall.getComments`` answer, thread replies included; ``params.owner_id``
    and ``params.post_id`` of the call say which post they belong to."""
    assert line.params is not None and line.response is not None
    c = columns
    group_id, post_id = -line.params.owner_id, line.params.post_id
    for comment in _with_threads(line.response.items):
        from_id = comment.from_id or 0
        page_reply = from_id == -group_id
        stack = comment.parents_stack
        c["vk_group_id"].append(group_id)
        c["post_id"].append(post_id)
        c["comment_id"].append(comment.id)
        c["parent_comment_id"].append(stack[-1] if stack else None)
        c["published_at"].append(comment.date * 1_000_000)
        c["author_hash"].append(None if page_reply else pseudonymize(f"vk:{from_id}"))
        c["is_page_reply"].append(page_reply)
        c["text_length"].append(len(comment.text or ""))
        c["observed_at"].append(observed_us)


def _with_threads(items: list[_Comment]) -> list[_Comment]:
    out = []
    for item in items:
        out.append(item)
        if item.thread is not None:
            out.extend(item.thread.items)
    return out


# -- helpers ----------------------------------------------------------------------------------


def _table(columns: dict[str, list[Any]], dt: date, load_id: str) -> pa.Table:
    names = list(columns)
    rows = len(columns[names[1]])
    arrays = []
    for name in names:
        if name == "dt":
            arrays.append(pa.array([dt] * rows, pa.date32()))
        elif name == "load_id":
            arrays.append(pa.array([load_id] * rows, pa.string()))
        elif name in ("published_at", "observed_at"):
            arrays.append(pa.array(columns[name], pa.int64()).cast(_TS))
        else:
            arrays.append(pa.array(columns[name], _TYPES.get(name, pa.bool_())))
    return pa.Table.from_arrays(arrays, names=names)


def _epoch_us(value: str, source: str, number: int) -> int:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RawFormatError(f"{source}, line {number}: observed_at {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1_000_000)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def memoized(pseudonymize: Pseudonymize) -> Pseudonymize:
    """``pseudonymize`` remembering its answers: a citizen comments many times a day, and a
    comment is observed again every day its post stays in the window."""
    cache: dict[str, str] = {}

    def cached(value: str) -> str:
        found = cache.get(value)
        if found is None:
            found = cache[value] = pseudonymize(value)
        return found

    return cached


def raw_line_chunks(stream: IO[bytes], chunk_bytes: int = RAW_CHUNK_BYTES) -> Iterator[tuple[int, bytes]]:
    """Whole JSON lines of a gzipped raw file, about ``chunk_bytes`` at a time, each with the
    number of its first line (from 1): memory stays bounded however large the file.

    Decompresses in blocks and cuts at the last newline (no per-line Python work)."""
    first, pending = 1, b""
    with gzip.GzipFile(fileobj=stream) as unzipped:
        while block := unzipped.read(chunk_bytes):
            data = pending + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no whole line yet: read on
                pending = data
                continue
            yield first, data[:cut]
            first += data.count(b"\n", 0, cut)
            pending = data[cut:]
    if pending:
        yield first, pending


def flatten_stream(
    method: str,
    stream: IO[bytes],
    dt: date,
    load_id: str,
    pseudonymize: Pseudonymize,
    *,
    source: str = "raw file",
    window_start: int | None = None,
    chunk_bytes: int = RAW_CHUNK_BYTES,
) -> Iterator[Flattened]:
    """:func:`flatten_raw` of a gzipped raw file read from ``stream``, a chunk of lines at a time
    (memory bounded; errors name ``source`` and the chunk's first line)."""
    for first_line, payload in raw_line_chunks(stream, chunk_bytes):
        where = f"{source} (lines from {first_line})"
        yield flatten_raw(method, payload, dt, load_id, pseudonymize, source=where, window_start=window_start)


def flatten_gzip(
    method: str, compressed: bytes, dt: date, load_id: str, pseudonymize: Pseudonymize, **options: Any
) -> list[Flattened]:
    """:func:`flatten_stream` of a whole gzipped file's bytes, pseudonyms memoized (``options`` as
    :func:`flatten_stream`'s)."""
    stream = io.BytesIO(compressed)
    return list(flatten_stream(method, stream, dt, load_id, memoized(pseudonymize), **options))
