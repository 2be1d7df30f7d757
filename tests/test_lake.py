"""Lake adapter on a local folder and on moto's S3 server."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from gospublic.infra.lake import Lake, LakeError, LocalLake, S3Lake


def test_put_get_exists_delete(lake: Lake) -> None:
    key = "raw/vk/groups.getById/dt=2025-11-01/part-0.json"
    assert not lake.exists(key)
    lake.put_bytes(key, '{"имя": "Минздрав"}'.encode())
    assert lake.exists(key)
    assert json.loads(lake.get_bytes(key)) == {"имя": "Минздрав"}
    lake.put_bytes(key, b"replaced")
    assert lake.get_bytes(key) == b"replaced"
    lake.delete(key)
    assert not lake.exists(key)
    lake.delete(key)  # deleting a missing object is not an error


def test_list_is_recursive_sorted_and_prefix_filtered(lake: Lake) -> None:
    for key in ["incoming/pos/b.csv", "incoming/im/2.xlsx", "incoming/im/1.csv", "archive/im/2025/11/0.csv"]:
        lake.put_bytes(key, key.encode())
    assert [o.key for o in lake.list("incoming/im/")] == ["incoming/im/1.csv", "incoming/im/2.xlsx"]
    assert [o.key for o in lake.list("incoming/")] == [
        "incoming/im/1.csv",
        "incoming/im/2.xlsx",
        "incoming/pos/b.csv",
    ]
    assert [o.key for o in lake.list("incoming/i")] == ["incoming/im/1.csv", "incoming/im/2.xlsx"]
    assert [o.key for o in lake.list("incoming/im/1")] == ["incoming/im/1.csv"]
    assert [o.key for o in lake.list("incoming")] == [o.key for o in lake.list("incoming/")]
    assert [o.key for o in lake.list("archive/im/2025/11/0.csv")] == ["archive/im/2025/11/0.csv"]
    assert list(lake.list("missing/folder/")) == list(lake.list("incoming/im/1.csv/")) == []
    assert list(lake.list("../incoming/")) == list(lake.list("/incoming/")) == []
    listed = {o.key: o.size for o in lake.list()}
    assert listed["archive/im/2025/11/0.csv"] == len(b"archive/im/2025/11/0.csv")
    assert all(o.modified.tzinfo is not None for o in lake.list())


def test_move(lake: Lake) -> None:
    lake.put_bytes("incoming/im/a.csv", b"a;b\n1;2\n")
    lake.move("incoming/im/a.csv", "archive/im/2025/11/a.csv")
    assert not lake.exists("incoming/im/a.csv")
    assert lake.get_bytes("archive/im/2025/11/a.csv") == b"a;b\n1;2\n"
    with pytest.raises(LakeError, match="cannot move"):
        lake.move("incoming/im/a.csv", "elsewhere.csv")


def test_missing_object_is_a_lake_error(lake: Lake) -> None:
    with pytest.raises(LakeError, match=r"no object 'raw/none\.json'"):
        lake.get_bytes("raw/none.json")


@pytest.mark.parametrize("bad", ["", "/abs/key", "../escape", "a/../../b", "folder/"])
def test_keys_are_validated(lake: Lake, bad: str) -> None:
    with pytest.raises(LakeError, match="invalid lake key"):
        lake.put_bytes(bad, b"x")


def test_large_object_streams_both_ways(lake: Lake, tmp_path) -> None:
    """40 MB written through open_write in chunks (multipart on S3) and read back as a stream."""
    chunk = ("Пост госпаблика, " * 4000).encode()
    digest = hashlib.sha256()
    with lake.open_write("raw/big.jsonl.gz") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        written = 0
        while written < 40 * 1024 * 1024:
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)

    check = hashlib.sha256()
    with lake.open_read("raw/big.jsonl.gz") as raw, gzip.GzipFile(fileobj=raw) as stream:
        while block := stream.read(1024 * 1024):
            check.update(block)
    assert check.hexdigest() == digest.hexdigest()
    copy = lake.download("raw/big.jsonl.gz", tmp_path / "copy.gz")
    assert copy.stat().st_size == next(iter(lake.list("raw/big"))).size


def test_failed_write_stores_nothing(lake: Lake) -> None:
    with pytest.raises(RuntimeError), lake.open_write("raw/partial.json") as out:
        out.write(b"half")
        raise RuntimeError("extraction died")
    assert not lake.exists("raw/partial.json")


def test_uri_names_the_store(lake: Lake) -> None:
    uri = lake.uri("publish/rating/2025-11/rev-1/rating.html")
    assert uri.startswith(("file://", "s3://"))
    assert uri.endswith("publish/rating/2025-11/rev-1/rating.html")


def test_connection_selects_the_kind(lake: Lake, lake_conn: dict) -> None:
    expected = LocalLake if lake_conn["conn_type"] == "fs" else S3Lake
    assert isinstance(lake, expected)
    assert "testing" not in repr(lake)


def test_default_lake_is_var_lake(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_GOSPUBLIC_LAKE", raising=False)
    monkeypatch.setenv("GOSPUBLIC_VAR_DIR", str(tmp_path))
    lake = Lake.from_connection()
    assert isinstance(lake, LocalLake)
    assert lake.root == (tmp_path / "lake").resolve()


def test_s3_prefix_keeps_keys_relative(s3_endpoint: str, s3_bucket: str) -> None:
    lake = S3Lake(s3_bucket, prefix="tenant/penza", endpoint_url=s3_endpoint)
    lake.put_bytes("incoming/im/x.csv", b"1")
    assert [o.key for o in lake.list("incoming/")] == ["incoming/im/x.csv"]
    assert lake.uri("incoming/im/x.csv") == f"s3://{s3_bucket}/tenant/penza/incoming/im/x.csv"
