"""The VK API schema the sandbox is checked against: the whole official 5.199 set, read strictly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox.vk_server.methods import METHODS
from tests.sandbox import vk_schema


def test_the_schema_folder_is_the_whole_official_schema() -> None:
    """Every file a ``$ref`` names is there (a subset fails: no stand-ins), all of version 5.199."""
    root = vk_schema.schema_dir()
    docs = vk_schema.load_documents(root)
    missing = vk_schema.missing_files(docs)
    assert missing == [], f"{root} is a subset of the official schema; it lacks {missing}"
    vk_schema.registry()  # builds: every allOf part resolves
    versions = {name: doc.get("version") for name, doc in docs.items()}
    assert set(versions.values()) == {vk_schema.VERSION}, versions
    for folder in ("photos", "video", "docs", "audio", "polls", "users", "utils"):
        assert f"{folder}/objects.json" in docs
    assert "MIT License" in (root / "LICENSE").read_text(encoding="utf-8")
    assert vk_schema.VERSION in (root / "README.md").read_text(encoding="utf-8")


def test_a_subset_is_refused(tmp_path: Path) -> None:
    root = vk_schema.schema_dir()
    subset = tmp_path / "vk-api-schema"
    shutil.copytree(root, subset)
    shutil.rmtree(subset / "photos")
    docs = vk_schema.load_documents(subset)
    assert "photos/objects.json" in vk_schema.missing_files(docs)
    with pytest.raises(vk_schema.SchemaIncompleteError, match=r"photos/objects\.json"):
        vk_schema.registry(subset)


def test_every_method_the_sandbox_serves_has_its_response_in_the_schema() -> None:
    for method in [*METHODS, "execute"]:
        refs = vk_schema.response_refs(method)
        assert "response" in refs, method
        for ref in refs.values():
            file_part, _, pointer = ref.partition("#")
            node = json.loads((vk_schema.schema_dir() / file_part).read_text(encoding="utf-8"))
            for key in pointer.strip("/").split("/"):
                node = node[key]
            assert node["type"] == "object", (method, ref)


def test_required_flags_and_strict_merges_are_enforced() -> None:
    """Draft-3 ``required: true`` counts; a merged allOf stays strict when a part is."""
    photo = vk_schema.attachment_ref("photo")
    assert vk_schema.errors({"id": 1, "album_id": 1, "owner_id": -1, "date": 0}, photo) == [
        ".: 'has_tags' is a required property"
    ]
    group = vk_schema.object_ref("groups", "groups_group_full")
    assert vk_schema.errors({"id": 1, "members_count": 5}, group) == []
    assert vk_schema.errors({"id": 1, "no_such_field": 5}, group)
