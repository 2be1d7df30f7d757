"""Lake adapter: object storage as a local folder (embedded) or an S3 bucket (MinIO, AWS).

Chosen by the Airflow connection ``gospublic_lake``:

* undefined → the folder ``var/lake``;
* ``conn_type=fs`` → the folder in ``extra.path`` (or ``host``);
* ``conn_type=aws`` → ``extra.bucket`` (required), ``extra.prefix``, ``extra.endpoint_url``
  (MinIO, moto), ``extra.region_name``; ``login``/``password`` are the access key and secret.

Keys are relative POSIX paths such as ``raw/vk/wall.get/dt=2025-11-01/part-0.jsonl.gz``.
Large objects stream: writes spool to a temporary file and upload in parts, reads stream.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from gospublic.infra import settings
from gospublic.infra.connections import ConnectionInfo, get_connection

log = logging.getLogger(__name__)

SPOOL_BYTES = 16 * 1024 * 1024
COPY_CHUNK = 1024 * 1024
REFUSED_NAMED = 5  # how many keys S3 refused to delete an error names


class LakeError(RuntimeError):
    """A lake operation failed: bad key, missing object, bad configuration."""


@dataclass(frozen=True)
class LakeObject:
    """One stored object."""

    key: str
    size: int
    modified: datetime


class Lake(ABC):
    """Object storage with the operations the pipelines need."""

    description: str

    @classmethod
    def from_connection(cls, conn_id: str = settings.CONN_LAKE) -> Lake:
        """The lake of an Airflow connection, or the local folder ``var/lake`` when unset."""
        info = get_connection(conn_id)
        if info is None:
            return LocalLake(settings.default_lake_path())
        return lake_from_connection_info(info)

    # -- writing ------------------------------------------------------------------------------

    @abstractmethod
    def put_stream(self, key: str, stream: IO[bytes]) -> None:
        """Store everything readable from ``stream`` under ``key`` (replacing it)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            spool.write(data)
            spool.seek(0)
            self.put_stream(key, spool)

    def put_file(self, key: str, path: Path | str) -> None:
        with open(path, "rb") as stream:
            self.put_stream(key, stream)

    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to write; stored under ``key`` only if the block ends without error."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            yield spool
            spool.seek(0)
            self.put_stream(key, spool)

    # -- reading ------------------------------------------------------------------------------

    @abstractmethod
    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        """A binary stream of the object; raises ``LakeError`` when it does not exist."""

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream:
            return stream.read()

    def download(self, key: str, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open_read(key) as stream, open(path, "wb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK)
        return path

    def tail(self, key: str, size: int) -> bytes:
        """The last ``size`` bytes of the object (all of it when shorter); raises ``LakeError``
        when it does not exist. Read without fetching the rest where the store allows."""
        kept = b""
        with self.open_read(key) as stream:
            while chunk := stream.read(COPY_CHUNK):
                kept = (kept + chunk)[-size:]
        return kept

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[LakeObject]:
        """Objects whose key starts with ``prefix``, in key order."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    # -- moving -------------------------------------------------------------------------------

    @abstractmethod
    def move(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst`` (replacing ``dst``)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it does not exist."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix`` (``a/b/``), with what interrupted writes
        left there; returns how many objects were removed. When the store keeps some, removes the
        rest and raises ``LakeError`` naming a few of them."""

    @abstractmethod
    def clean_interrupted(self, prefix: str) -> int:
        """Remove what writes killed midway left under the folder ``prefix``: temporary files of a
        local lake, incomplete multipart uploads of S3. Only for a prefix no one writes meanwhile."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where a person finds the object (``file://`` or ``s3://``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"


def lake_from_connection_info(info: ConnectionInfo) -> Lake:
    if info.conn_type in ("fs", "file", "local"):
        path = info.extra.get("path") or info.host
        if not path:
            raise LakeError(f"connection {info.conn_id}: fs lake needs extra.path")
        return LocalLake(Path(path))
    if info.conn_type in ("aws", "s3"):
        bucket = info.extra.get("bucket") or info.schema
        if not bucket:
            raise LakeError(f"connection {info.conn_id}: S3 lake needs extra.bucket")
        return S3Lake(
            bucket=bucket,
            prefix=info.extra.get("prefix", ""),
            endpoint_url=info.extra.get("endpoint_url"),
            region_name=info.extra.get("region_name", "us-east-1"),
            access_key=info.login,
            secret_key=info.password,
        )
    raise LakeError(f"connection {info.conn_id}: conn_type {info.conn_type!r} is not a lake (fs or aws)")


def normalize_key(key: str) -> str:
    """Check a key is a relative POSIX path inside the lake and return it normalized."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or key.endswith("/"):
        raise LakeError(f"invalid lake key {key!r}: use a relative path such as raw/x/file.json")
    return str(path)


class LocalLake(Lake):
    """A lake in a local folder; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / normalize_key(key)

    def put_stream(self, key: str, stream: IO[bytes]) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, COPY_CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        path = self._path(key)
        if not path.is_file():
            raise LakeError(f"no object {key!r} in {self.description}")
        with open(path, "rb") as stream:
            yield stream

    def tail(self, key: str, size: int) -> bytes:
        with self.open_read(key) as stream:
            stream.seek(max(0, os.fstat(stream.fileno()).st_size - size))
            return stream.read()

    def list(self, prefix: str = "") -> Iterator[LakeObject]:
        # Only the folder the prefix names is walked (raw/vk/… must not stat the whole lake).
        folder = PurePosixPath(prefix.rpartition("/")[0])
        if folder.is_absolute() or ".." in folder.parts:
            return  # no key lies there
        base = self.root / folder
        if not base.is_dir():
            return
        found = []
        for path in base.rglob("*"):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                found.append(LakeObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        yield from sorted(found, key=lambda obj: obj.key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def move(self, src: str, dst: str) -> None:
        source, target = self._path(src), self._path(dst)
        if not source.is_file():
            raise LakeError(f"cannot move {src!r}: no such object in {self.description}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self._path(_folder(prefix))
        if not folder.is_dir():
            return 0
        removed = sum(1 for path in folder.rglob("*") if path.is_file())
        shutil.rmtree(folder)
        return removed

    def clean_interrupted(self, prefix: str) -> int:
        folder = self._path(_folder(prefix))
        leftovers = [path for path in folder.rglob(".tmp-*") if path.is_file()] if folder.is_dir() else []
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()


class S3Lake(Lake):
    """A lake in an S3 bucket through boto3 (AWS, MinIO, moto's server)."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region_name: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        client: Any = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )
        where = f" at {endpoint_url}" if endpoint_url else ""
        self.description = f"s3://{bucket}/{self.prefix}{where}"

    def _key(self, key: str) -> str:
        return self.prefix + normalize_key(key)

    def put_stream(self, key: str, stream: IO[bytes]) -> None:
        self.client.upload_fileobj(stream, self.bucket, self._key(key))

    @contextmanager
    def open_read(self, key: str) -> Iterator[IO[bytes]]:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if _is_not_found(exc):
                raise LakeError(f"no object {key!r} in {self.description}") from exc
            raise
        try:
            yield body
        finally:
            body.close()

    def tail(self, key: str, size: int) -> bytes:
        from botocore.exceptions import ClientError

        try:  # a suffix range: the last bytes, or the whole object when shorter
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes=-{size}")
        except ClientError as exc:
            if _is_not_found(exc):
                raise LakeError(f"no object {key!r} in {self.description}") from exc
            if str(exc.response.get("Error", {}).get("Code", "")) == "InvalidRange":
                return b""  # an empty object has no suffix to give
            raise
        body = got["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data[-size:]

    def list(self, prefix: str = "") -> Iterator[LakeObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield LakeObject(item["Key"][len(self.prefix) :], item["Size"], item["LastModified"])

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def move(self, src: str, dst: str) -> None:
        if not self.exists(src):
            raise LakeError(f"cannot move {src!r}: no such object in {self.description}")
        self.client.copy({"Bucket": self.bucket, "Key": self._key(src)}, self.bucket, self._key(dst))
        self.client.delete_object(Bucket=self.bucket, Key=self._key(src))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        keys = [self._key(obj.key) for obj in self.list(_folder(prefix) + "/")]
        refused: list[dict[str, Any]] = []  # DeleteObjects answers 200 and lists refused keys
        for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            refused.extend(answer.get("Errors", []))
        aborted = self.clean_interrupted(prefix)
        if refused:
            named = ", ".join(
                f"{error.get('Key', '')[len(self.prefix) :]!r} ({error.get('Code')}: {error.get('Message')})"
                for error in refused[:REFUSED_NAMED]
            )
            more = f" and {len(refused) - REFUSED_NAMED} more" if len(refused) > REFUSED_NAMED else ""
            raise LakeError(
                f"S3 refused to delete {len(refused)} of {len(keys)} objects under {prefix!r} "
                f"in {self.description}: {named}{more}; the rest was deleted"
            )
        return len(keys) + aborted

    def clean_interrupted(self, prefix: str) -> int:
        paginator = self.client.get_paginator("list_multipart_uploads")
        aborted = 0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(_folder(prefix)) + "/"):
            for upload in page.get("Uploads", []):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                aborted += 1
        return aborted

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def _folder(prefix: str) -> str:
    """A folder prefix (``a/b/`` or ``a/b``) checked and normalized, without its trailing slash."""
    return normalize_key(prefix.rstrip("/"))


def _is_not_found(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")
