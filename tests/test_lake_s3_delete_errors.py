"""S3Lake.delete_prefix on moto's S3 server when DeleteObjects refuses some keys.

DeleteObjects answers HTTP 200 and lists the keys it could not remove under ``Errors`` (a bucket
policy, a transient InternalError or SlowDown per key); boto3 raises nothing for them. moto never
refuses a key, so a botocore event hook on the test's client plays AWS's part: it leaves the
refused keys out of the request (they stay in the bucket, as they would) and adds them to the
answer's ``Errors``. The lake's own code runs unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from gospublic.infra.lake import LakeError, S3Lake

pytestmark = pytest.mark.s3


def _refusing(lake: S3Lake, refused: dict[str, str]) -> None:
    """Make the bucket refuse to delete ``refused`` (lake key → S3 error code) in DeleteObjects."""
    full = {lake.prefix + key: code for key, code in refused.items()}
    asked: list[str] = []

    def drop_refused(params: dict[str, Any], **_: Any) -> None:
        objects = params["Delete"]["Objects"]
        asked[:] = [o["Key"] for o in objects if o["Key"] in full]
        params["Delete"]["Objects"] = [o for o in objects if o["Key"] not in full]

    def report_refused(parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Errors", []).extend(
            {"Key": key, "Code": full[key], "Message": f"{full[key]} (test)"} for key in asked
        )

    events = lake.client.meta.events
    events.register("before-parameter-build.s3.DeleteObjects", drop_refused)
    events.register("after-call.s3.DeleteObjects", report_refused)


@pytest.fixture
def s3_lake(s3_endpoint: str, s3_bucket: str) -> S3Lake:
    return S3Lake(s3_bucket, prefix="gp", endpoint_url=s3_endpoint)


def test_refused_keys_raise_naming_key_and_code_after_the_rest_is_deleted(s3_lake: S3Lake) -> None:
    for name in ("a.csv", "b.csv", "c.csv"):
        s3_lake.put_bytes(f"staging/rev-1/{name}", b"1")
    s3_lake.put_bytes("kept/x.csv", b"1")
    upload = s3_lake.client.create_multipart_upload(Bucket=s3_lake.bucket, Key="gp/staging/rev-1/d.csv")
    _refusing(s3_lake, {"staging/rev-1/b.csv": "AccessDenied"})

    with pytest.raises(LakeError) as caught:
        s3_lake.delete_prefix("staging/")

    message = str(caught.value)
    assert "'staging/rev-1/b.csv'" in message
    assert "AccessDenied" in message
    assert "1 of 3" in message
    assert sorted(o.key for o in s3_lake.list()) == ["kept/x.csv", "staging/rev-1/b.csv"]
    uploads = s3_lake.client.list_multipart_uploads(Bucket=s3_lake.bucket).get("Uploads", [])
    assert upload["UploadId"] not in [u["UploadId"] for u in uploads]  # aborted all the same


def test_many_refused_keys_are_counted_and_a_few_named(s3_lake: S3Lake) -> None:
    names = [f"staging/part-{i:02d}.csv" for i in range(12)]
    for name in names:
        s3_lake.put_bytes(name, b"1")
    refused = names[:-1]  # not all: DeleteObjects takes no empty list, so moto would refuse the call
    _refusing(s3_lake, {name: "SlowDown" if i % 2 else "InternalError" for i, name in enumerate(refused)})

    with pytest.raises(LakeError) as caught:
        s3_lake.delete_prefix("staging")

    message = str(caught.value)
    assert "11 of 12" in message
    assert "'staging/part-00.csv'" in message
    assert "InternalError" in message
    assert "SlowDown" in message
    assert "'staging/part-10.csv'" not in message  # a few named, not all
    assert "and 6 more" in message
    assert [o.key for o in s3_lake.list("staging/")] == refused


def test_nothing_refused_counts_what_was_removed(s3_lake: S3Lake) -> None:
    for name in ("a.csv", "b.csv"):
        s3_lake.put_bytes(f"staging/{name}", b"1")
    _refusing(s3_lake, {})

    assert s3_lake.delete_prefix("staging/") == 2
    assert list(s3_lake.list("staging/")) == []
