"""One generator run: the registry, the VK world, the incident exports and the ground truth; and
the other networks' worlds (OK, MAX, Telegram) written beside it (``generate_worlds``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter
from collections.abc import Iterator

import numpy as np

from sandbox.generator import (
    exports,
    incident_truth,
    incidents,
    members,
    regions,
    registry,
    vk_groups,
    vk_output,
    vkpages,
    wall,
)
from sandbox.generator.outputs import CsvAppender, close_gzip, gzip_writer, text_writer
from sandbox.generator.params import Params
from sandbox.generator.rng import stream
from sandbox.generator.timeutil import DAY, epoch, parse_month, utc_offset_seconds, working_day_table

DEFECT_COLUMNS = ["file", "row", "column", "kind", "value", "incident_id"]
EXPORT_COLUMNS = [
    "file",
    "source",
    "region_code",
    "timezone",
    "format",
    "encoding",
    "separator",
    "rows",
    "exported_at",
    "exported_at_local",
]
MOSCOW = 3 * 3600  # UTC offset of the dates in vk/members_daily.csv
COUNT_COLUMNS = ["org_id", "source", "status", "incidents", "answered", "overdue"]


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    share = weights / weights.sum() * total
    parts = np.floor(share).astype(int)
    rest = total - parts.sum()
    parts[np.argsort(-(share - parts), kind="stable")[:rest]] += 1
    return parts


def region_plan(p: Params) -> tuple[list[tuple[regions.Region, int, int]], tuple[int, int]]:
    """Regions with their numbers of pages and incidents, and the id widths (orgs, pages)."""
    region_list = [regions.PENZA] if p.regions == 1 else regions.national_regions(p.regions)
    weights = stream(p.seed, "allocation").lognormal(0.0, 0.35, len(region_list))
    if len(region_list) == 1:
        weights = np.ones(1)
    pages = allocate(p.pages, weights)
    incidents_ = allocate(p.incidents, weights)
    width = max(4, len(str(p.pages * 2)))
    plan = [
        (region, int(n_pages), int(n_inc))
        for region, n_pages, n_inc in zip(region_list, pages, incidents_, strict=True)
    ]
    return plan, (width, width)


def iter_registries(p: Params) -> Iterator[tuple[registry.RegionRegistry, int]]:
    """The registry of every region in order, with the region's number of incidents."""
    month_start, _ = parse_month(p.month)
    history_start = month_start - dt.timedelta(days=p.start_days_before)
    plan, width = region_plan(p)
    org_next, page_next = 1, 1
    for region, n_pages, n_incidents in plan:
        reg = registry.build_region(
            region, n_rated=p.bodies, n_pages=n_pages, org_start=org_next, page_start=page_next,
            id_width=width, month_start=month_start, history_start=history_start,
            rng=stream(p.seed, "registry", region.code),
        )  # fmt: skip
        org_next += len(reg.current_orgs())
        page_next += len(reg.pages)
        yield reg, n_incidents


def write_registry(p: Params, folder: str) -> tuple[int, int]:
    """Only the registry (orgs.csv, pages.csv) of a run into ``folder``; returns (org rows, pages)."""
    orgs = CsvAppender(os.path.join(folder, "orgs.csv"), registry.ORG_COLUMNS)
    pages = CsvAppender(os.path.join(folder, "pages.csv"), registry.PAGE_COLUMNS)
    for reg, _ in iter_registries(p):
        for org in reg.orgs:
            orgs.row(org.row())
        for page in reg.pages:
            pages.row(page.row())
    orgs.close()
    pages.close()
    return orgs.rows, pages.rows


class Run:
    """Writes every output file of a run into ``out``."""

    def __init__(self, params: Params, out: str) -> None:
        self.p = params
        self.out = out
        self.month_start, self.next_month = parse_month(params.month)
        self.history_start = self.month_start - dt.timedelta(days=params.start_days_before)
        self.counts: Counter[str] = Counter()
        self.incident_counts: Counter[tuple[str, str, str]] = Counter()
        self.answered_counts: Counter[tuple[str, str, str]] = Counter()
        self.overdue_counts: Counter[tuple[str, str, str]] = Counter()

    def path(self, *parts: str) -> str:
        """A path under the output folder."""
        return os.path.join(self.out, *parts)

    def run(self) -> dict:
        """Generate everything; returns the manifest."""
        p = self.p
        for folder in ("registry", "vk", "exports/im", "exports/pos", "truth"):
            os.makedirs(self.path(folder), exist_ok=True)
        self.orgs_csv = CsvAppender(self.path("registry", "orgs.csv"), registry.ORG_COLUMNS)
        self.pages_csv = CsvAppender(self.path("registry", "pages.csv"), registry.PAGE_COLUMNS)
        self.groups = text_writer(self.path("vk", "groups.jsonl"))
        self.members_csv = CsvAppender(
            self.path("vk", "members_daily.csv"), ["group_id", "date", "members_count"]
        )
        self.posts = gzip_writer(self.path("vk", "posts.jsonl.gz"), p.gzip_level)
        self.comments = gzip_writer(self.path("vk", "comments.jsonl.gz"), p.gzip_level)
        self.posts_daily = CsvAppender(
            self.path("truth", "posts_daily.csv"), ["page_id", "group_id", "date", "posts", "reposts"]
        )
        self.subscribers = CsvAppender(
            self.path("truth", "subscribers_daily.csv"), ["page_id", "group_id", "date", "members_count"]
        )
        self.comments_truth = CsvAppender(
            self.path("truth", "comments_truth.csv"), vk_output.COMMENT_TRUTH_COLUMNS
        )
        self.incidents_csv = CsvAppender(self.path("truth", "incidents.csv"), incident_truth.INCIDENT_COLUMNS)
        self.labels_csv = CsvAppender(self.path("truth", "answer_labels.csv"), incident_truth.LABEL_COLUMNS)
        self.defects_csv = CsvAppender(self.path("truth", "export_defects.csv"), DEFECT_COLUMNS)
        self.exports_csv = CsvAppender(self.path("truth", "exports.csv"), EXPORT_COLUMNS)
        im_next, pos_next = 10_000_001, 3_000_000_001
        for reg, n_incidents in iter_registries(p):
            self._registry(reg)
            self._vk(reg)
            n_im = round(n_incidents * p.im_share)
            self._incidents(reg, "im", n_im, im_next)
            self._incidents(reg, "pos", n_incidents - n_im, pos_next)
            im_next += n_im
            pos_next += n_incidents - n_im
        self._incident_counts()
        for closer in (
            self.orgs_csv,
            self.pages_csv,
            self.members_csv,
            self.posts_daily,
            self.subscribers,
            self.comments_truth,
            self.incidents_csv,
            self.labels_csv,
            self.defects_csv,
            self.exports_csv,
        ):
            closer.close()
        self.groups.close()
        close_gzip(self.posts)
        close_gzip(self.comments)
        return self._manifest()

    def _registry(self, reg: registry.RegionRegistry) -> None:
        for org in reg.orgs:
            self.orgs_csv.row(org.row())
        for page in reg.pages:
            self.pages_csv.row(page.row())
        self.counts["orgs"] += len(reg.current_orgs())
        self.counts["org_versions"] += len(reg.orgs)
        self.counts["pages"] += len(reg.pages)
        for page in reg.pages:
            self.counts[f"pages_{page.network}"] += 1

    def _vk(self, reg: registry.RegionRegistry) -> None:
        p = self.p
        offset = utc_offset_seconds(reg.region.timezone, self.history_start, self.next_month)
        n_days = (self.next_month - self.history_start).days
        day_starts = np.array(
            [epoch(self.history_start) + k * DAY - offset for k in range(n_days)], dtype=np.int64
        )
        world_end = epoch(self.next_month) - offset
        pages = vkpages.vk_pages(reg.pages, int(day_starts[0]), world_end, offset)
        rng = stream(p.seed, "vk", reg.region.code)
        rnd = random.Random(int(rng.integers(2**63)))
        kinds = {org.org_id: org.kind for org in reg.orgs}
        for index, page in enumerate(pages.pages):
            obj = vk_groups.group_object(page, kinds[page.org_id], index, pages, rnd)
            self.groups.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.counts["vk_groups"] += len(pages.pages)
        # members_daily dates are Moscow calendar dates (VK's clock), whatever the region's zone
        moscow_starts = np.array([epoch(self.history_start) + k * DAY - MOSCOW for k in range(n_days)])
        counts = members.simulate(pages, moscow_starts, rng)
        frame = vk_output.members_frame(pages, counts, moscow_starts, MOSCOW)
        self.members_csv.frame(frame)
        page_of = {int(g): page.page_id for g, page in zip(pages.group_id, pages.pages, strict=True)}
        frame["page_id"] = frame["group_id"].map(page_of)
        self.subscribers.frame(frame)
        self.counts["members_daily_rows"] += len(frame)
        rhythm = wall.Rhythm(
            self.history_start.weekday(), p.posts_per_page_month, p.comments_per_post, world_end
        )
        w = wall.simulate(pages, counts, day_starts, rhythm, rng)
        vk_output.write_posts(w, pages, reg.region.capital, self.posts, rnd)
        vk_output.write_comments(w, pages, self.comments, rnd)
        self.counts["posts"] += len(w.post_id)
        month_posts = int(np.sum(w.post_ts >= epoch(self.month_start) - offset))
        self.counts["posts_in_month"] += month_posts
        self.counts["comments"] += len(w.c_id)
        self.posts_daily.frame(vk_output.posts_daily(w, pages, offset))
        self.comments_truth.frame(vk_output.comments_truth(w, pages))

    def _incidents(self, reg: registry.RegionRegistry, source: str, count: int, id_start: int) -> None:
        p = self.p
        offset = utc_offset_seconds(reg.region.timezone, self.month_start, self.next_month)
        rng = stream(p.seed, "incidents", source, reg.region.code)
        rnd = random.Random(int(rng.integers(2**63)))
        month_days = (self.next_month - self.month_start).days
        working = working_day_table(self.month_start, month_days + 60)
        month = incidents.MonthFrame(epoch(self.month_start) - offset, month_days, offset, working)
        inc = incidents.simulate(source, reg, count=count, id_start=id_start, month=month, rng=rng, rnd=rnd)
        files = []
        planned = exports.plan(
            source, reg.region, month=self.month_start, next_month=self.next_month, utc_offset=offset,
            formats=p.formats, rng=rng,
        )  # fmt: skip
        folder = self.path("exports", source)
        for export in planned:
            defects, included, valid = exports.write(
                export, inc, utc_offset=offset, out_dir=folder, rng=rng, rnd=rnd
            )
            files.append((export, included, valid))
            for defect in defects:
                self.defects_csv.row(
                    [
                        f"exports/{source}/{defect.file}",
                        defect.row,
                        defect.column,
                        defect.kind,
                        defect.value,
                        defect.incident_id,
                    ]
                )
            self.counts["export_defects"] += len(defects)
            self.counts["export_rows"] += export.rows
            self.counts[f"export_files_{export.format}"] += 1
            local = dt.datetime.fromtimestamp(export.exported_at + offset, dt.UTC).replace(tzinfo=None)
            self.exports_csv.row(
                [
                    f"exports/{source}/{export.name}",
                    source,
                    reg.region.code,
                    reg.region.timezone,
                    export.format,
                    export.encoding,
                    export.separator,
                    export.rows,
                    dt.datetime.fromtimestamp(export.exported_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    local.isoformat(),
                ]
            )
        incident_rows, label_rows = incident_truth.rows(inc, reg, files)
        for row in incident_rows:
            self.incidents_csv.row(row)
            key = (str(row[3]), source, str(row[5]))
            self.incident_counts[key] += 1
            self.answered_counts[key] += int(row[13])
            self.overdue_counts[key] += int(row[14])
        for row in label_rows:
            self.labels_csv.row(row)
        self.counts[f"incidents_{source}"] += count
        self.counts[f"incidents_{source}_in_truth"] += len(incident_rows)

    def _incident_counts(self) -> None:
        with text_writer(self.path("truth", "incident_counts.csv")) as handle:
            handle.write(",".join(COUNT_COLUMNS) + "\n")
            for key in sorted(self.incident_counts):
                org_id, source, status = key
                handle.write(
                    f"{org_id},{source},{status},{self.incident_counts[key]},"
                    f"{self.answered_counts[key]},{self.overdue_counts[key]}\n"
                )

    def _manifest(self) -> dict:
        files = []
        for root, _, names in os.walk(self.out):
            for name in names:
                relative = os.path.relpath(os.path.join(root, name), self.out)
                if relative != "manifest.json":
                    files.append(relative.replace(os.sep, "/"))
        manifest = {
            "generator": "sandbox.generator",
            "preset": self.p.preset,
            "seed": self.p.seed,
            "month": self.p.month,
            "history_start": self.history_start.isoformat(),
            "world_end": self.next_month.isoformat(),
            "parameters": self.p.as_dict(),
            "counts": dict(sorted(self.counts.items())),
            "files": sorted(files),
        }
        with text_writer(self.path("manifest.json")) as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        return manifest


def generate(params: Params, out: str) -> dict:
    """Generate a sandbox data set into ``out``; returns the manifest."""
    os.makedirs(out, exist_ok=True)
    return Run(params, out).run()


# The worlds of the networks beyond VK, each written beside a data set under out/<network>/ by its
# own module, from its own random streams: adding them changes no byte of the data set (the
# registry, the VK world, the exports, the truth and manifest.json stay as generate() wrote them).
NETWORK_WORLDS = ("ok", "max", "tg")


def generate_worlds(
    params: Params, out: str, networks: tuple[str, ...] = NETWORK_WORLDS
) -> dict[str, dict[str, object]]:
    """Write the worlds of ``networks`` (of ``NETWORK_WORLDS``) beside the data set generated into
    ``out`` with ``params``; returns each world's manifest by network."""
    from sandbox.generator.max_pages import generate_max
    from sandbox.generator.ok_pages import generate_ok
    from sandbox.generator.tg_pages import generate_tg

    writers = {"ok": generate_ok, "max": generate_max, "tg": generate_tg}
    unknown = sorted(set(networks) - set(writers))
    if unknown:
        raise ValueError(f"no generated world for {', '.join(unknown)} (worlds: {', '.join(NETWORK_WORLDS)})")
    return {network: dict(writers[network](params, out)) for network in NETWORK_WORLDS if network in networks}
