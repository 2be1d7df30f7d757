"""The registry of bodies and their official pages (``registry/orgs.csv``, ``registry/pages.csv``).

Format: ``docs/registry-format.md``. One call builds one region; ids are numbered by the caller
so that a national run has globally unique ids.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np

from sandbox.generator import aliases, bodies, translit
from sandbox.generator.municipalities import REGION_WIDE, Municipality
from sandbox.generator.regions import Region

ORG_COLUMNS = [
    "org_id",
    "version",
    "name",
    "short_name",
    "kind",
    "rating_group",
    "parent_org_id",
    "region_code",
    "region_name",
    "municipality",
    "oktmo",
    "timezone",
    "domain",
    "aliases",
    "valid_from",
    "valid_to",
]
PAGE_COLUMNS = [
    "page_id",
    "org_id",
    "network",
    "vk_group_id",
    "screen_name",
    "previous_screen_name",
    "url",
    "status",
    "valid_from",
    "valid_to",
    "replaced_by",
]


@dataclass
class OrgVersion:
    """One row of orgs.csv."""

    org_id: str
    version: int
    name: str
    short_name: str
    kind: str
    rating_group: str
    parent_org_id: str
    region: Region
    domain: str
    aliases: list[str]
    valid_from: str
    valid_to: str = ""
    weight: float = 1.0
    municipality: Municipality = REGION_WIDE

    def row(self) -> list[str]:
        """The CSV row."""
        return [
            self.org_id,
            str(self.version),
            self.name,
            self.short_name,
            self.kind,
            self.rating_group,
            self.parent_org_id,
            self.region.code,
            self.region.name,
            self.municipality.name,
            self.municipality.oktmo,
            self.region.timezone,
            self.domain,
            "|".join(self.aliases),
            self.valid_from,
            self.valid_to,
        ]


@dataclass
class Page:
    """One row of pages.csv, plus what the VK world needs to know."""

    page_id: str
    org_id: str
    network: str
    vk_group_id: int | None
    screen_name: str
    url: str
    status: str = "active"
    valid_from: str = ""
    valid_to: str = ""
    replaced_by: str = ""
    previous_screen_name: str = ""
    org_name: str = ""
    domain: str = "general"
    rating_group: str = ""

    def row(self) -> list[str]:
        """The CSV row."""
        return [
            self.page_id,
            self.org_id,
            self.network,
            "" if self.vk_group_id is None else str(self.vk_group_id),
            self.screen_name,
            self.previous_screen_name,
            self.url,
            self.status,
            self.valid_from,
            self.valid_to,
            self.replaced_by,
        ]


@dataclass
class RegionRegistry:
    """Everything the registry knows about one region."""

    region: Region
    orgs: list[OrgVersion] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def current_orgs(self) -> list[OrgVersion]:
        """The first version of each org (its identity), in id order."""
        seen: dict[str, OrgVersion] = {}
        for org in self.orgs:
            seen.setdefault(org.org_id, org)
        return list(seen.values())


def _rename(name: str) -> str | None:
    """A realistic rename: districts became municipal okrugs in 2025; ministries get reshaped."""
    if " района " in name and name.startswith("Администрация "):
        return name.replace(" района ", " муниципального округа ", 1)
    if name.startswith("Министерство культуры и туризма"):
        return name.replace("культуры и туризма", "культуры")
    if name.startswith("Министерство экономического развития и промышленности"):
        return name.replace("и промышленности", ", промышленности и торговли").replace(" ,", ",")
    return None


def _unique_aliases(versions: list[OrgVersion]) -> None:
    """Drop aliases that two different orgs of the region share (they would be ambiguous)."""
    owners: dict[str, set[str]] = {}
    for org in versions:
        for alias in org.aliases:
            owners.setdefault(alias.strip().lower(), set()).add(org.org_id)
    for org in versions:
        org.aliases = [a for a in org.aliases if len(owners[a.strip().lower()]) == 1 or a == org.name]


def build_region(
    region: Region,
    *,
    n_rated: int,
    n_pages: int,
    org_start: int,
    page_start: int,
    id_width: tuple[int, int],
    month_start: dt.date,
    history_start: dt.date,
    rng: np.random.Generator,
) -> RegionRegistry:
    """Bodies, versions, aliases and pages of one region; ``n_pages`` pages exactly (or fewer)."""
    rated = bodies.rated_bodies(region, n_rated)
    expected_rated_pages = len(rated) * 1.6
    n_inst = max(0, round((n_pages - expected_rated_pages) / 0.97 * 1.08))
    specs = rated + bodies.institutions(region, rated, n_inst, rng)
    registry = RegionRegistry(region)
    ids = {spec.name: f"org-{org_start + i:0{id_width[0]}d}" for i, spec in enumerate(specs)}
    for spec in specs:
        since = dt.date(2015 + int(rng.integers(8)), 1 + int(rng.integers(12)), 1 + int(rng.integers(28)))
        short = spec.short_names[0] if spec.short_names else aliases.initials(spec.name)
        registry.orgs.append(
            OrgVersion(
                ids[spec.name],
                1,
                spec.name,
                short,
                spec.kind,
                spec.rating_group,
                ids.get(spec.parent, ""),
                region,
                spec.domain,
                aliases.variants(spec.name, spec.short_names, rng),
                since.isoformat(),
                weight=spec.weight * float(rng.lognormal(0.0, 0.6)),
                municipality=spec.municipality,
            )
        )
    _add_renames(registry, month_start, rng)
    _unique_aliases(registry.orgs)
    _add_pages(
        registry, specs, ids, n_pages=n_pages, page_start=page_start, width=id_width[1],
        window=(history_start, month_start), rng=rng,
    )  # fmt: skip
    return registry


def _add_renames(registry: RegionRegistry, month_start: dt.date, rng: np.random.Generator) -> None:
    """A few bodies (about 1 in 25, at least one) get a second version from a day of the month."""
    candidates = [i for i, org in enumerate(registry.orgs) if _rename(org.name)]
    count = min(len(candidates), max(1, len(registry.orgs) // 25 // 3))
    chosen = sorted(rng.choice(len(candidates), size=count, replace=False)) if count else []
    for inserted, c in enumerate(chosen):
        i = candidates[c] + inserted
        old = registry.orgs[i]
        new_name = _rename(old.name) or old.name
        switch = (month_start + dt.timedelta(days=5 + int(rng.integers(15)))).isoformat()
        old.valid_to = switch
        short = re.sub(r" р-на$", " МО", old.short_name)
        new = OrgVersion(
            old.org_id, 2, new_name, short, old.kind, old.rating_group, old.parent_org_id, old.region,
            old.domain, aliases.variants(new_name, [short], rng), switch, weight=old.weight,
            municipality=old.municipality,
        )  # fmt: skip
        registry.orgs.insert(i + 1, new)


class _Addresses:
    """Hands out unique screen names and fresh group ids."""

    def __init__(self, n_pages: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.taken: set[str] = set()
        sample = 10_000_000 + rng.choice(220_000_000, size=n_pages * 3 + 10, replace=False)
        self.group_ids = iter(int(g) for g in sample)

    def assign(self, page: Page, base: str, number: int | None = None, club: bool = True) -> None:
        """A unique screen name, the network id and the URL of ``page``."""
        number = next(self.group_ids) if number is None else number
        if page.network == "vk":
            page.vk_group_id = number
            name = f"club{number}" if club and self.rng.random() < 0.2 else base
        elif page.network == "ok":
            name = str(50_000_000_000_000 + number * 7)
        else:
            name = base[:28]
        candidate, k = name, 1
        while candidate in self.taken:
            k += 1
            candidate = f"{name}{k}"
        self.taken.add(candidate)
        page.screen_name = candidate
        host = {"vk": "https://vk.com/", "ok": "https://ok.ru/group/", "tg": "https://t.me/"}[page.network]
        page.url = host + candidate


def _candidate_pages(
    specs: list[bodies.BodySpec], ids: dict[str, str], addresses: _Addresses, rng: np.random.Generator
) -> list[Page]:
    """Pages per org: VK mostly; some OK and Telegram (rated bodies more often)."""
    pages: list[Page] = []
    for spec in specs:
        rated = spec.rating_group not in ("", bodies.GROUP_UTILITIES)
        probabilities = {
            "vk": 0.98 if rated else 0.95,
            "ok": 0.3 if rated else 0.02,
            "tg": 0.32 if rated else 0.02,
        }
        base = translit.screen_name(spec.short_names[0] if spec.short_names else spec.name)
        for network, probability in probabilities.items():
            if rng.random() >= probability:
                continue
            since = dt.date(2016 + int(rng.integers(7)), 1 + int(rng.integers(12)), 1 + int(rng.integers(28)))
            page = Page(
                "", ids[spec.name], network, None, "", "", valid_from=since.isoformat(), org_name=spec.name,
                domain=spec.domain, rating_group=spec.rating_group,
            )  # fmt: skip
            addresses.assign(page, base)
            pages.append(page)
    return pages


def _mark_special(
    pages: list[Page], n_pages: int, window: tuple[dt.date, dt.date], addresses: _Addresses,
    rng: np.random.Generator,
) -> list[int]:  # fmt: skip
    """About 0.8 % of VK pages each closed, private, deleted (some replaced) and renamed."""
    history_start, month_start = window
    vk = [i for i, page in enumerate(pages[:n_pages]) if page.network == "vk"]
    n_each = max(1, round(len(vk) * 0.008)) if len(vk) >= 8 else 0
    special = (
        sorted(int(i) for i in rng.choice(vk, size=min(len(vk), 4 * n_each), replace=False)) if n_each else []
    )
    n_replaced = 0
    for k, i in enumerate(special):
        page = pages[i]
        page.status = ("closed", "private", "deleted", "renamed")[k % 4]
        if page.status == "renamed":
            page.previous_screen_name = page.screen_name
            addresses.assign(page, page.screen_name + "_official", page.vk_group_id or 0, club=False)
        elif page.status == "deleted":
            days = max(1, (month_start - history_start).days + 10)
            page.valid_to = (history_start + dt.timedelta(days=int(rng.integers(days)))).isoformat()
            if n_replaced == 0 or rng.random() < 0.5:
                page.replaced_by = "next"
                n_replaced += 1
    return special


def _add_pages(
    registry: RegionRegistry, specs: list[bodies.BodySpec], ids: dict[str, str], *, n_pages: int,
    page_start: int, width: int, window: tuple[dt.date, dt.date], rng: np.random.Generator,
) -> None:  # fmt: skip
    """``n_pages`` pages (a deleted page's replacement included), numbered in registry order."""
    addresses = _Addresses(n_pages, rng)
    pages = _candidate_pages(specs, ids, addresses, rng)
    special = set(_mark_special(pages, n_pages, window, addresses, rng))
    keep = n_pages - sum(page.replaced_by == "next" for page in pages)
    result: list[Page] = []
    for i, page in enumerate(pages):
        if i >= keep and i not in special:
            continue
        result.append(page)
        if page.replaced_by == "next":
            new = Page(
                "", page.org_id, "vk", None, "", "", valid_from=page.valid_to, org_name=page.org_name,
                domain=page.domain, rating_group=page.rating_group,
            )  # fmt: skip
            addresses.assign(new, page.screen_name + "_new", club=False)
            result.append(new)
    result = result[:n_pages]
    for k, page in enumerate(result):
        page.page_id = f"page-{page_start + k:0{width}d}"
    for k, page in enumerate(result):
        if page.replaced_by == "next":
            page.replaced_by = result[k + 1].page_id if k + 1 < len(result) else ""
    registry.pages = result
