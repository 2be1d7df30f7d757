"""Presets and parameters of a generator run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PRESETS: dict[str, dict] = {
    # Penza-like region: ~70 rated bodies, ~200 institutions, ~300 pages, ~7,000 incidents a month.
    "region": {
        "regions": 1,
        "bodies": 69,
        "pages": 300,
        "incidents": 7_000,
        "formats": ["xlsx", "csv"],
        "gzip_level": 6,
        "posts_per_page_month": 62.0,  # → ~60 posts per VK page in the month
    },
    # The country: ~55,000 pages, ~3.3 M posts and ~850,000 incidents a month, CSV exports only.
    "national": {
        "regions": 66,
        "bodies": 69,
        "pages": 55_000,
        "incidents": 850_000,
        "formats": ["csv"],
        "gzip_level": 1,
        "posts_per_page_month": 70.0,  # only VK pages post: → ~3.3 M posts in the month
    },
}


@dataclass
class Params:
    """Everything that determines the output (with the seed): same params, same bytes."""

    preset: str
    month: str
    seed: int = 42
    regions: int = 1
    bodies: int = 69  # rated bodies per region (ОИВ : ОМСУ города : ОМСУ районов = 30 : 10 : 29)
    pages: int = 300  # official pages in total
    incidents: int = 7_000  # incidents a month in total (IM and ПОС)
    formats: list[str] = field(default_factory=lambda: ["xlsx", "csv"])
    start_days_before: int = 14  # days of history before the month (subscribers, posts)
    posts_per_page_month: float = 60.0
    comments_per_post: float = 1.6  # citizens' top-level comments per post on average
    im_share: float = 0.75  # share of IM among the incidents (the rest are ПОС)
    gzip_level: int = 6

    def as_dict(self) -> dict:
        """JSON-friendly parameters for the manifest."""
        return asdict(self)


def build(preset: str, month: str, seed: int, **overrides: object) -> Params:
    """Parameters of ``preset`` with the non-None ``overrides`` applied."""
    values = dict(PRESETS[preset])
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Params(preset=preset, month=month, seed=seed, **values)
