"""The VK API schema the sandbox is checked against: the official 5.199 schema, read strictly; the
whole of it where ``VK_API_SCHEMA_DIR`` names it, else the official subset in tests/data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox.vk_server.methods import METHODS
from tests.sandbox import vk_schema


def test_the_schema_folder_is_official_5_199() -> None:
    """Every file is of version 5.199 under VK's MIT licence; what the folder lacks is named."""
    root = vk_schema.schema_dir()
    docs = vk_schema.load_documents(root)
    vk_schema.registry()  # builds: every allOf part resolves
    versions = {name: doc.get("version") for name, doc in docs.items()}
    assert set(versions.values()) == {vk_schema.VERSION}, versions
    for folder in ("base", "groups", "wall", "comment", "execute"):
        assert any(name.startswith(f"{folder}/") for name in docs), folder
    assert "MIT License" in (root / "LICENSE").read_text(encoding="utf-8")
    assert vk_schema.VERSION in (root / "README.md").read_text(encoding="utf-8")


def test_the_schema_folder_is_the_whole_official_schema() -> None:
    """Every file a ``$ref`` names is there (blocked on the subset: skipped, naming what it lacks)."""
    for folder in ("photos", "video", "docs", "audio", "polls", "users", "utils"):
        vk_schema.require(f"{folder}/objects.json")
    assert vk_schema.unchecked() == []
    vk_schema.registry(whole=True)


def test_a_subset_is_refused_when_the_whole_schema_is_asked_for(tmp_path: Path) -> None:
    root = vk_schema.schema_dir()
    subset = tmp_path / "vk-api-schema"
    shutil.copytree(root, subset)
    shutil.rmtree(subset / "comment")
    docs = vk_schema.load_documents(subset)
    assert "comment/objects.json" in vk_schema.missing_files(docs)
    with pytest.raises(vk_schema.SchemaIncompleteError, match=r"comment/objects\.json"):
        vk_schema.registry(subset, whole=True)


def test_a_subset_stands_in_only_for_what_it_lacks(tmp_path: Path) -> None:
    """The stand-in accepts anything and is named unchecked; what the folder has stays strict."""
    root = vk_schema.schema_dir()
    subset = tmp_path / "vk-api-schema"
    shutil.copytree(root, subset)
    shutil.rmtree(subset / "comment")
    assert "comment/objects.json" in vk_schema.unchecked(subset)
    contents = vk_schema.registry(subset).contents(vk_schema.SCHEMA_BASE + "comment/objects.json")
    assert {d.get("$comment") for d in contents["definitions"].values()} == {vk_schema.UNCHECKED}
    group = vk_schema.registry(subset).contents(vk_schema.SCHEMA_BASE + "groups/objects.json")
    assert "groups_group_full" in group["definitions"]


def test_the_subset_has_every_method_the_pipeline_reads() -> None:
    """groups.getById, wall.get, wall.getComments and execute are in the official subset too."""
    for method in ("groups.getById", "wall.get", "wall.getComments", "execute"):
        assert "response" in vk_schema.response_refs(method), method


def test_every_method_the_sandbox_serves_has_its_response_in_the_schema() -> None:
    methods = [*METHODS, "execute"]
    for method in methods:
        vk_schema.require(f"{method.split('.', maxsplit=1)[0]}/methods.json")
    for method in methods:
        refs = vk_schema.response_refs(method)
        assert "response" in refs, method
        for ref in refs.values():
            file_part, _, pointer = ref.partition("#")
            node = json.loads((vk_schema.schema_dir() / file_part).read_text(encoding="utf-8"))
            for key in pointer.strip("/").split("/"):
                node = node[key]
            assert node["type"] == "object", (method, ref)


def test_required_flags_are_enforced() -> None:
    """Draft-3 ``required: true`` counts (photos_photo's ``has_tags``, which the sandbox once lacked)."""
    photo = vk_schema.attachment_ref("photo")
    vk_schema.require(photo)
    assert vk_schema.errors({"id": 1, "album_id": 1, "owner_id": -1, "date": 0}, photo) == [
        ".: 'has_tags' is a required property"
    ]


def test_strict_merges_are_enforced() -> None:
    """A merged allOf stays strict when a part is."""
    group = vk_schema.object_ref("groups", "groups_group_full")
    assert vk_schema.errors({"id": 1, "members_count": 5}, group) == []
    assert vk_schema.errors({"id": 1, "no_such_field": 5}, group)
    assert vk_schema.errors({"id": "one"}, group)
