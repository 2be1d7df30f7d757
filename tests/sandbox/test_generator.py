"""The sandbox data generator: determinism, VK schema validity, export formats, defects, truth.

Runs the generator on small overrides (fast) plus one full region preset; no Airflow.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sandbox.generator import cli, export_spec, incident_texts, params, sample_config
from sandbox.generator.pipeline import generate
from sandbox.model import metric_at
from tests.sandbox import vk_schema

PROJECT = Path(__file__).resolve().parents[2]
SMALL = {"pages": 40, "incidents": 600, "bodies": 12, "start_days_before": 5}
SANDBOX_KEYS = ("_final", "_tau_hours")


def run(out: Path, preset: str = "region", seed: int = 42, **overrides: object) -> dict:
    return generate(params.build(preset, "2025-11", seed, **overrides), str(out))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    run(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("region")
    code = cli.main(
        ["generate", "--preset", "region", "--month", "2025-11", "--seed", "42", "--out", str(out)]
    )
    assert code == 0
    return out


def digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


# --- determinism and the command line ---------------------------------------------------------


def test_same_arguments_give_identical_bytes(small: Path, tmp_path: Path) -> None:
    run(tmp_path, **SMALL)
    first, second = digests(small), digests(tmp_path)
    assert first == second
    assert len(first) >= 20


def test_another_seed_gives_other_data(small: Path, tmp_path: Path) -> None:
    run(tmp_path, seed=7, **SMALL)
    assert digests(small)["vk/posts.jsonl.gz"] != digests(tmp_path)["vk/posts.jsonl.gz"]


def test_register_adds_generate_with_a_handler() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    cli.register(commands)
    args = parser.parse_args(
        ["generate", "--month", "2025-11", "--out", "x", "--formats", "csv", "--pages", "5"]
    )
    assert args.preset == "region" and args.seed == 42 and args.formats == ["csv"] and args.pages == 5
    assert callable(args.handler)
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--month", "2025-11", "--out", "x", "--formats", "pdf"])


# --- counts: manifest, files and truth agree --------------------------------------------------


def test_manifest_lists_every_file_and_counts(small: Path) -> None:
    m = manifest(small)
    on_disk = sorted(
        str(p.relative_to(small)) for p in small.rglob("*") if p.is_file() and p.name != "manifest.json"
    )
    assert m["files"] == on_disk
    counts = m["counts"]
    pages = pd.read_csv(small / "registry" / "pages.csv", dtype=str, keep_default_na=False)
    assert counts["pages"] == len(pages) == SMALL["pages"]
    assert (
        counts["vk_groups"] == (pages["network"] == "vk").sum() == len(jsonl(small / "vk" / "groups.jsonl"))
    )
    assert counts["posts"] == len(jsonl(small / "vk" / "posts.jsonl.gz"))
    assert counts["comments"] == len(jsonl(small / "vk" / "comments.jsonl.gz"))
    assert counts["incidents_im"] + counts["incidents_pos"] == SMALL["incidents"]
    exports = pd.read_csv(small / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    assert counts["export_rows"] == exports["rows"].astype(int).sum()
    truth = pd.read_csv(small / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    assert counts["incidents_im_in_truth"] == (truth["source"] == "im").sum()
    assert counts["members_daily_rows"] == len(pd.read_csv(small / "vk" / "members_daily.csv"))


def test_region_preset_has_the_penza_shape(region: Path) -> None:
    orgs = pd.read_csv(region / "registry" / "orgs.csv", dtype=str, keep_default_na=False)
    first = orgs.drop_duplicates("org_id")
    groups = Counter(first["rating_group"])
    assert (groups["ОИВ"], groups["ОМСУ города"], groups["ОМСУ районов"]) == (30, 10, 29)
    assert 150 <= (first["kind"].isin(["учреждение", "РСО-УК"])).sum() <= 260
    assert (orgs.groupby("org_id").size() == 2).sum() >= 2  # renamed bodies have two versions
    assert set(first["timezone"]) == {"Europe/Moscow"}
    pages = pd.read_csv(region / "registry" / "pages.csv", dtype=str, keep_default_na=False)
    assert len(pages) == 300 and set(pages["network"]) == {"vk", "ok", "tg"}
    assert (pages["network"] == "vk").mean() > 0.7
    assert {"closed", "private", "deleted", "renamed"} <= set(pages["status"])
    assert pages["page_id"].is_unique and pages["screen_name"].is_unique
    m = manifest(region)["counts"]
    assert m["incidents_im"] + m["incidents_pos"] == 7000
    assert 50 <= m["posts_in_month"] / m["vk_groups"] <= 70
    truth = pd.read_csv(region / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    assert len(truth) >= 0.99 * 7000


# --- VK objects validate against the official schema -----------------------------------------

GROUP = vk_schema.object_ref("groups", "groups_group_full")
POST = vk_schema.object_ref("wall", "wall_wallpost_full")
COMMENT = vk_schema.object_ref("wall", "wall_wall_comment")
ATTACHMENT = vk_schema.object_ref("wall", "wall_wallpost_attachment")


def _public(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if not k.startswith("_sandbox_") and k not in SANDBOX_KEYS}


def _errors(ref: str, objects: list[dict]) -> list[str]:
    return [f"{obj.get('id')}: {error}" for obj in objects for error in vk_schema.errors(_public(obj), ref)]


def test_groups_posts_comments_validate_against_vk_schema(small: Path) -> None:
    """Every object in full, attachments and reposts included, against the whole official schema."""
    groups = jsonl(small / "vk" / "groups.jsonl")
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    comments = jsonl(small / "vk" / "comments.jsonl.gz")
    assert _errors(GROUP, groups) == []
    assert _errors(POST, posts) == []
    assert _errors(POST, [shared for p in posts for shared in p.get("copy_history", [])]) == []
    assert _errors(COMMENT, comments) == []
    # each attachment on its own too, so a type the wall schema might not reach is still checked
    attachments = [
        a for p in posts for shared in [p, *p.get("copy_history", [])] for a in shared["attachments"]
    ]
    assert _errors(ATTACHMENT, attachments) == []
    for attachment in attachments:  # the object under the type's key is there and is that type's
        assert set(attachment) == {"type", attachment["type"]}, attachment
    # the validator does catch a wrong object
    assert _errors(GROUP, [{**groups[0], "is_closed": 5}])
    assert _errors(COMMENT, [{**comments[0], "date": "yesterday"}])


def _first_attachments(small: Path) -> dict[str, dict]:
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    first = {a["type"]: a for p in posts for a in p["attachments"]}
    assert set(first) == {"photo", "video", "link"}
    return first


def _wrong_attachments(first: dict[str, dict]) -> dict[str, list[dict]]:
    photo, video, link = first["photo"], first["video"], first["link"]
    return {
        "photo": [
            {"type": "photo", "photo": {k: v for k, v in photo["photo"].items() if k != "has_tags"}},
            {"type": "photo", "photo": {**photo["photo"], "sizes": [{"type": "x", "url": "u"}]}},  # no width
        ],
        "video": [
            {"type": "video", "video": {**video["video"], "duration": "10:00"}},
            {"type": "video", "video": {**video["video"], "image": [{"url": "u"}]}},  # image without size
        ],
        "link": [{"type": "link", "link": {**link["link"], "url": 5}}],
    }


@pytest.mark.parametrize("kind", ["photo", "video", "link"])
def test_the_validator_catches_wrong_attachments(small: Path, kind: str) -> None:
    """Each kind of attachment the generator writes, broken, fails (so the test above means something)."""
    vk_schema.require(vk_schema.attachment_ref(kind))
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    for attachment in _wrong_attachments(_first_attachments(small))[kind]:
        assert _errors(ATTACHMENT, [attachment]), attachment
        post = {**_public(posts[0]), "attachments": [attachment]}
        assert _errors(POST, [post]), attachment


def test_an_unknown_attachment_type_fails(small: Path) -> None:
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    assert _errors(ATTACHMENT, [{"type": "sticker_pack"}])
    assert _errors(POST, [{**_public(posts[0]), "attachments": [{"type": "sticker_pack"}]}])


def test_vk_objects_use_only_declared_fields(small: Path) -> None:
    cases = [("groups.jsonl", GROUP), ("posts.jsonl.gz", POST), ("comments.jsonl.gz", COMMENT)]
    for file, ref in cases:
        used = {key for obj in jsonl(small / "vk" / file) for key in _public(obj)}
        assert used <= vk_schema.declared(ref), (file, used - vk_schema.declared(ref))
    assert "id" in vk_schema.declared(GROUP)


@pytest.mark.parametrize("kind", ["photo", "video", "link"])
def test_attachments_use_only_declared_fields(small: Path, kind: str) -> None:
    ref = vk_schema.attachment_ref(kind)
    vk_schema.require(ref)
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    used = {key for p in posts for a in p["attachments"] if a["type"] == kind for key in a[kind]}
    assert used and used <= vk_schema.declared(ref), (kind, used)


def test_group_objects_follow_the_sandbox_contract(small: Path) -> None:
    groups = jsonl(small / "vk" / "groups.jsonl")
    pages = pd.read_csv(small / "registry" / "pages.csv", dtype=str, keep_default_na=False).set_index(
        "page_id"
    )
    for group in groups:
        page = pages.loc[group["_sandbox_page_id"]]
        assert group["id"] == int(page["vk_group_id"]) > 0
        assert group["screen_name"] == page["screen_name"]
        assert "members_count" not in group
        expected_error = {"closed": 15, "private": 30, "deleted": 18}.get(page["status"])
        assert group.get("_sandbox_error") == expected_error
        assert group["is_closed"] == {"closed": 1, "private": 2}.get(page["status"], 0)
        assert (group.get("deactivated") == "deleted") == (page["status"] == "deleted")
        assert (group.get("_sandbox_old_screen_name") == page["previous_screen_name"]) or page[
            "status"
        ] != "renamed"


def test_posts_and_comments_are_consistent(small: Path) -> None:
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    comments = jsonl(small / "vk" / "comments.jsonl.gz")
    by_owner: dict[int, list[dict]] = defaultdict(list)
    for post in posts:
        by_owner[post["owner_id"]].append(post)
        assert post["from_id"] == post["owner_id"] < 0 and post["post_type"] == "post"
        final = post["_final"]
        assert metric_at(final["views"], post["date"], post["_tau_hours"], post["date"] - 1) == 0
        assert (
            metric_at(final["views"], post["date"], post["_tau_hours"], post["date"] + 400 * 3600)
            == final["views"]
        )
        assert final["likes"] <= final["views"] + 1
    for owner_posts in by_owner.values():
        ids = [p["id"] for p in owner_posts]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert [p["date"] for p in owner_posts] == sorted(p["date"] for p in owner_posts)
        assert sum(p["is_pinned"] for p in owner_posts) <= 1
    post_date = {(p["owner_id"], p["id"]): p["date"] for p in posts}
    comment = {(c["owner_id"], c["id"]): c for c in comments}
    wall_ids: dict[int, set[int]] = defaultdict(set)
    for p in posts:
        wall_ids[p["owner_id"]].add(p["id"])
    for c in comments:
        assert c["id"] not in wall_ids[c["owner_id"]]  # one id counter per wall
        wall_ids[c["owner_id"]].add(c["id"])
        assert c["date"] > post_date[(c["owner_id"], c["post_id"])]
        if c["parents_stack"]:
            parent = comment[(c["owner_id"], c["parents_stack"][0])]
            assert parent["parents_stack"] == [] and parent["from_id"] > 0
            assert c["date"] > comment[(c["owner_id"], c["reply_to_comment"])]["date"]
            assert c["reply_to_user"] == comment[(c["owner_id"], c["reply_to_comment"])]["from_id"]
        else:
            assert c["from_id"] > 0
    assert any(c["from_id"] < 0 for c in comments)  # the pages answer in threads
    assert any("copy_history" in p for p in posts)
    assert {a["type"] for p in posts for a in p["attachments"]} == {"photo", "video", "link"}


# --- truth reconciles with the raw VK files ---------------------------------------------------


def test_posts_daily_recounts_from_posts(small: Path) -> None:
    offset = 3 * 3600  # Europe/Moscow
    posts = jsonl(small / "vk" / "posts.jsonl.gz")
    recount = Counter(
        (-p["owner_id"], dt.datetime.fromtimestamp(p["date"] + offset, dt.UTC).date().isoformat())
        for p in posts
    )
    truth = pd.read_csv(small / "truth" / "posts_daily.csv")
    assert dict(zip(zip(truth["group_id"], truth["date"], strict=True), truth["posts"], strict=True)) == dict(
        recount
    )


def test_subscribers_truth_equals_members_daily(small: Path) -> None:
    members = pd.read_csv(small / "vk" / "members_daily.csv")
    truth = pd.read_csv(small / "truth" / "subscribers_daily.csv")
    pd.testing.assert_frame_equal(members, truth[["group_id", "date", "members_count"]])
    groups = {g["id"]: g for g in jsonl(small / "vk" / "groups.jsonl")}
    days = members.groupby("group_id")["date"].agg(["min", "max", "size"])
    assert set(days.index) == set(groups)
    assert (members["members_count"] >= 0).all()
    live = [g for g, group in groups.items() if "_sandbox_deactivated_at" not in group]
    assert (days.loc[live, "max"] == "2025-11-30").all()


def test_comments_truth_recounts_from_comments(small: Path) -> None:
    comments = jsonl(small / "vk" / "comments.jsonl.gz")
    by_id = {(c["owner_id"], c["id"]): c for c in comments}
    expected: dict[tuple[int, int], dict] = defaultdict(lambda: {"citizen": 0, "replies": 0, "first": {}})
    for c in comments:
        row = expected[(-c["owner_id"], c["post_id"])]
        if c["from_id"] > 0:
            row["citizen"] += 1
        else:
            row["replies"] += 1
            parent = by_id[(c["owner_id"], c["parents_stack"][0])]
            delay = c["date"] - parent["date"]
            row["first"][parent["id"]] = min(delay, row["first"].get(parent["id"], delay))
    truth = pd.read_csv(small / "truth" / "comments_truth.csv")
    assert len(truth) == len(expected)
    for _, t in truth.iterrows():
        row = expected[(t["group_id"], t["post_id"])]
        assert t["citizen_comments"] == row["citizen"] and t["page_replies"] == row["replies"]
        assert t["replied_comments"] == len(row["first"])
        if row["first"]:
            assert t["first_reply_delay_s"] == min(row["first"].values())
            assert t["max_reply_delay_s"] == max(row["first"].values())
        else:
            assert pd.isna(t["first_reply_delay_s"]) and pd.isna(t["median_reply_delay_s"])


# --- incident exports --------------------------------------------------------------------------


def load_spec() -> dict:
    return yaml.safe_load((PROJECT / "config" / "incident_exports.yaml").read_text(encoding="utf-8"))


def read_export(folder: Path, info: pd.Series) -> pd.DataFrame:
    path = folder / info["file"]
    if info["format"] == "xlsx":
        return pd.read_excel(path, engine="calamine", dtype=object)
    return pd.read_csv(
        path, sep=info["separator"], encoding=info["encoding"], dtype=str, keep_default_na=False
    )


def canonical_columns(frame: pd.DataFrame, source: str, spec: dict) -> dict[str, str]:
    """Header → canonical field, via header and aliases (case-folded, trimmed); extras are dropped."""
    lookup = {}
    for name, field in spec["sources"][source]["fields"].items():
        for header in [field["header"], *field["aliases"]]:
            lookup[header.strip().casefold()] = name
    mapping = {}
    for column in frame.columns:
        key = str(column).strip().casefold()
        if key in lookup:
            mapping[column] = lookup[key]
        else:
            assert column in spec["sources"][source]["extra_columns_seen"], column
    return mapping


def parse_when(value: object) -> dt.datetime | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return pd.Timestamp(value).round("s").to_pydatetime()
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(str(value), fmt)
        except ValueError:
            pass
    raise ValueError(value)


def blank(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def text(value: object) -> str:
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@pytest.fixture(scope="module")
def parsed(small: Path) -> dict:
    """Every export file parsed row by row, with the problems a careful parser would find."""
    spec = load_spec()
    aliases = set()
    orgs = pd.read_csv(small / "registry" / "orgs.csv", dtype=str, keep_default_na=False)
    for value in orgs["aliases"]:
        aliases.update(value.split("|"))
    exports = pd.read_csv(small / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    result = {"files": [], "problems": set(), "rows": 0}
    for _, info in exports.iterrows():
        frame = read_export(small, info)
        assert len(frame) == int(info["rows"])
        mapping = canonical_columns(frame, info["source"], spec)
        fields = spec["sources"][info["source"]]["fields"]
        assert set(mapping.values()) == set(fields)  # every field is there, under some header
        header_of = {v: k for k, v in mapping.items()}
        records = frame.rename(columns=mapping)[list(fields)].to_dict("records")
        previous = None
        for number, record in enumerate(records, start=2):
            values = tuple(text(record[f]) for f in fields)
            if values == previous:
                result["problems"].add((info["file"], number, "", "duplicate_row"))
            previous = values
            for name, field in fields.items():
                if field["required"] and blank(record[name]):
                    result["problems"].add((info["file"], number, header_of[name], "empty_required"))
            try:
                registered = parse_when(record["registered_at"])
            except ValueError:
                result["problems"].add((info["file"], number, header_of["registered_at"], "unparseable_date"))
                registered = None
            try:
                answered = parse_when(record["answered_at"])
            except ValueError:
                result["problems"].add((info["file"], number, header_of["answered_at"], "unparseable_date"))
                answered = None
            if registered and answered and answered < registered:
                result["problems"].add(
                    (info["file"], number, header_of["answered_at"], "answer_before_registration")
                )
            score = record["satisfaction"]
            if not blank(score) and text(score) not in {
                "1",
                "2",
                "3",
                "4",
                "5",
                *spec["types"]["rating"]["words"],
            }:
                result["problems"].add(
                    (info["file"], number, header_of["satisfaction"], "out_of_scale_satisfaction")
                )
            if not blank(record["executor"]) and str(record["executor"]) not in aliases:
                result["problems"].add((info["file"], number, header_of["executor"], "unknown_executor"))
            status = text(record["status"])
            assert blank(record["status"]) or status in spec["value_sets"]["status"], status
            if info["source"] == "im" and not blank(record["channel"]):
                assert text(record["channel"]) in spec["value_sets"]["channel"]
        result["rows"] += len(records)
        result["files"].append((info, records))
    return result


def test_exports_mix_formats_encodings_and_separators(small: Path) -> None:
    exports = pd.read_csv(small / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    assert set(exports["source"]) == {"im", "pos"}
    assert set(exports["format"]) == {"xlsx", "csv"}
    assert set(exports.loc[exports["format"] == "csv", "encoding"]) == {"utf-8", "utf-8-sig", "cp1251"}
    assert set(exports.loc[exports["format"] == "csv", "separator"]) == {";", ","}
    assert (exports.groupby("source").size() == 4).all()  # three weekly snapshots and a month-end one
    for _, info in exports.iterrows():  # the encodings are the real ones (BOM only in utf-8-sig)
        head = (small / info["file"]).read_bytes()[:3]
        assert (head == b"\xef\xbb\xbf") == (info["encoding"] == "utf-8-sig")


def test_defects_are_about_one_percent_and_exactly_as_listed(small: Path, parsed: dict) -> None:
    defects = pd.read_csv(small / "truth" / "export_defects.csv", dtype=str, keep_default_na=False)
    listed = {(d["file"], int(d["row"]), d["column"], d["kind"]) for _, d in defects.iterrows()}
    assert listed == parsed["problems"]
    assert 0.004 <= len(listed) / parsed["rows"] <= 0.03
    assert {"empty_required", "unparseable_date", "duplicate_row", "unknown_executor"} <= set(defects["kind"])


def test_region_defects_cover_every_kind(region: Path) -> None:
    defects = pd.read_csv(region / "truth" / "export_defects.csv", dtype=str, keep_default_na=False)
    assert set(defects["kind"]) == {
        "empty_required", "unparseable_date", "answer_before_registration", "duplicate_row",
        "out_of_scale_satisfaction", "unknown_executor",
    }  # fmt: skip
    rows = manifest(region)["counts"]["export_rows"]
    assert 0.005 <= len(defects) / rows <= 0.025


def test_incident_truth_is_the_latest_valid_row(small: Path, parsed: dict) -> None:
    """Apply the exports in order (latest wins, defective rows skipped): the result is the truth."""
    invalid = {
        "empty_required",
        "unparseable_date",
        "answer_before_registration",
        "out_of_scale_satisfaction",
    }
    bad_rows = {(f, r) for f, r, _, kind in parsed["problems"] if kind in invalid}
    state: dict[tuple[str, str], dict] = {}
    offset = dt.timedelta(hours=3)
    for info, records in parsed["files"]:
        for number, record in enumerate(records, start=2):
            if (info["file"], number) in bad_rows:
                continue
            registered = parse_when(record["registered_at"])
            answered = parse_when(record["answered_at"])
            state[(info["source"], text(record["incident_id"]))] = {
                "status": text(record["status"]).replace("Отклонен", "Отклонён"),
                "registered_at": (registered - offset).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "answered_at": (answered - offset).strftime("%Y-%m-%dT%H:%M:%SZ") if answered else "",
                "last_export": Path(info["file"]).name,
            }
    truth = pd.read_csv(small / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    assert len(truth) == len(state)
    for _, row in truth.iterrows():
        expected = state[(row["source"], row["incident_id"])]
        assert {k: row[k] for k in expected} == expected
    counts = pd.read_csv(small / "truth" / "incident_counts.csv", dtype=str, keep_default_na=False)
    recount = truth.groupby(["org_id", "source", "status"]).size()
    assert dict(
        zip(
            zip(counts["org_id"], counts["source"], counts["status"], strict=True),
            counts["incidents"].astype(int),
            strict=True,
        )
    ) == {k: int(v) for k, v in recount.items()}


def test_incident_rhythm_channels_and_deadlines(region: Path) -> None:
    truth = pd.read_csv(region / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    local_hour = (pd.to_datetime(truth["registered_at"]) + pd.Timedelta(hours=3)).dt.hour
    assert (local_hour.isin(range(2, 6))).mean() < 0.03 < (local_hour.isin(range(10, 14))).mean()
    im = truth[truth["source"] == "im"]
    answered = im[im["answered"] == "1"]
    hours = (
        pd.to_datetime(answered["answered_at"]) - pd.to_datetime(answered["registered_at"])
    ).dt.total_seconds() / 3600
    assert 0.75 < (hours <= 24).mean() < 0.99
    assert 0.8 < (im["answered"] == "1").mean() < 0.97
    pos = truth[truth["source"] == "pos"]
    assert 0.02 < (pos["overdue"] == "1").mean() < 0.4
    assert set(truth["status"]) == set(export_spec.STATUS_ORDER)
    exports = pd.read_csv(region / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    last_im = exports[(exports["source"] == "im")].iloc[-1]
    frame = read_export(region, last_im)
    channel = next(c for c in frame.columns if c in ("Соцсеть", "Социальная сеть", "Источник"))
    shares = frame[channel].map(export_spec.CHANNELS).value_counts(normalize=True)
    assert abs(shares["vk"] - 0.79) < 0.03 and abs(shares["tg"] - 0.12) < 0.02


def test_answer_labels_match_the_texts(region: Path) -> None:
    labels = pd.read_csv(region / "truth" / "answer_labels.csv", dtype=str, keep_default_na=False)
    exports = pd.read_csv(region / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    spec = load_spec()
    answers = {}
    for _, info in exports.iterrows():
        frame = read_export(region, info)
        mapping = canonical_columns(frame, info["source"], spec)
        frame = frame.rename(columns=mapping)
        for incident_id, answer in zip(frame["incident_id"], frame["answer_text"], strict=True):
            if not blank(answer):
                answers[(info["source"], text(incident_id))] = str(answer)
    templates = {t[0] for t in incident_texts.TEMPLATES}
    greeting = re.compile(r"Здравствуйте|Добрый день|Уважаем|Благодар|Спасибо|извинения|Понимаем")
    formal = re.compile(
        "|".join(re.escape(p.rstrip(".")) for p in incident_texts.FORMAL) + "|рассмотрено|к сведению"
    )
    redirect = re.compile(r"обратит|не входит в компетенцию|перенаправлено")
    concrete = re.compile(r"\d{2}\.\d{2}\.\d{4}|д\. \d+|тыс\. рублей|№ \d+")
    assert len(labels) > 3000
    for _, row in labels.iterrows():
        answer = answers[(row["source"], row["incident_id"])]
        assert (row["template"] == "1") == (answer in templates)
        assert (row["impolite"] == "1") == (greeting.search(answer) is None), answer
        assert (row["formal"] == "1") == (formal.search(answer) is not None), answer
        assert (row["redirect"] == "1") == (redirect.search(answer) is not None), answer
        assert (row["no_specifics"] == "1") == (concrete.search(answer) is None), answer
    shares = labels[["formal", "no_specifics", "impolite", "redirect", "template"]].astype(int).mean()
    assert ((shares > 0.05) & (shares < 0.6)).all(), shares


# --- the sample configuration is what the generator produces ---------------------------------


def test_checked_in_config_is_generated(tmp_path: Path) -> None:
    sample_config.write(str(tmp_path))
    for name in ("registry/orgs.csv", "registry/pages.csv", "incident_exports.yaml"):
        assert (tmp_path / name).read_bytes() == (PROJECT / "config" / name).read_bytes(), name
    with open(PROJECT / "config" / "registry" / "orgs.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["aliases"].split("|")[0] == row["name"] for row in rows)


# --- national preset, scaled down ------------------------------------------------------------


def test_national_preset_smoke(tmp_path: Path) -> None:
    m = run(tmp_path, preset="national", regions=3, pages=90, incidents=900, bodies=8, start_days_before=3)
    assert m["preset"] == "national" and m["counts"]["pages"] == 90
    orgs = pd.read_csv(tmp_path / "registry" / "orgs.csv", dtype=str, keep_default_na=False)
    assert orgs["region_code"].nunique() == 3 and orgs.drop_duplicates("org_id")["org_id"].is_unique
    exports = pd.read_csv(tmp_path / "truth" / "exports.csv", dtype=str, keep_default_na=False)
    assert set(exports["format"]) == {"csv"} and exports["region_code"].nunique() == 3
    assert exports["timezone"].nunique() >= 2
    truth = pd.read_csv(tmp_path / "truth" / "incidents.csv", dtype=str, keep_default_na=False)
    assert truth.groupby("source")["incident_id"].apply(lambda s: s.is_unique).all()
    assert m["counts"]["posts"] == len(jsonl(tmp_path / "vk" / "posts.jsonl.gz"))


def test_sandbox_entry_point_wires_generate() -> None:
    from sandbox.__main__ import build_parser

    args = build_parser().parse_args(["generate", "--preset", "national", "--month", "2025-11", "--out", "x"])
    assert args.handler is cli.run and args.preset == "national"
