"""The publication's settings and phrase tables, read from ``config/publication/``:
``publication.yaml`` (name column rule, ranking rule, benchmarks), ``advice.yaml`` (one advice
line per indicator) and ``templates/`` (the Jinja2 templates and the one stylesheet staff restyle).
``GOSPUBLIC_PUBLICATION_PDF`` (``auto``, ``on``, ``off``) says whether PDFs are printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gospublic.infra.settings import ENV_PUBLICATION_PDF, project_home

ENV_PDF = ENV_PUBLICATION_PDF
PDF_CHOICES = ("auto", "on", "off")
RANKING_RULES = ("dense", "competition")
MEASURES = ("im_reaction_hours_mean", "pos_answer_days_median", "pos_high_ratings_share")


class PublicationConfigError(ValueError):
    """A file of ``config/publication/`` is invalid."""


@dataclass(frozen=True)
class Benchmark:
    measure: str
    caption: str
    target: float
    unit: str  # hours | days | share
    lower_is_better: bool
    text: str
    source: str


@dataclass(frozen=True)
class PublicationConfig:
    power_kinds: frozenset[str]
    ranking: str
    movers: int
    listed_answers: int
    benchmarks: tuple[Benchmark, ...]
    advice_by_indicator: dict[str, str] = field(default_factory=dict)
    advice_by_column: dict[str, str] = field(default_factory=dict)
    advice_by_measure: dict[str, str] = field(default_factory=dict)
    templates: Path = Path()


def config_dir() -> Path:
    return project_home() / "config" / "publication"


def pdf_mode() -> str:
    mode = os.environ.get(ENV_PDF, "auto").strip().lower() or "auto"
    if mode not in PDF_CHOICES:
        raise PublicationConfigError(f"{ENV_PDF}={mode!r}: give one of {PDF_CHOICES}")
    return mode


@cache
def load_config(folder: Path | None = None) -> PublicationConfig:
    """The settings of ``folder`` (``config/publication/`` by default), validated."""
    folder = folder or config_dir()
    main = _yaml(folder / "publication.yaml")
    advice = _yaml(folder / "advice.yaml")
    ranking = str(main.get("ranking", "dense"))
    if ranking not in RANKING_RULES:
        raise PublicationConfigError(f"{folder}/publication.yaml: ranking must be one of {RANKING_RULES}")
    benchmarks = []
    for n, item in enumerate(main.get("benchmarks") or [], start=1):
        where = f"{folder}/publication.yaml: benchmarks[{n}]"
        if item.get("measure") not in MEASURES:
            raise PublicationConfigError(f"{where}.measure must be one of {MEASURES}")
        target = item.get("target") or {}
        if target.get("unit") not in ("hours", "days", "share") or target.get("better") not in (
            "lower",
            "higher",
        ):
            raise PublicationConfigError(
                f"{where}.target needs unit hours|days|share and better lower|higher"
            )
        benchmarks.append(
            Benchmark(
                measure=str(item["measure"]),
                caption=str(item["caption"]),
                target=float(target["value"]),
                unit=str(target["unit"]),
                lower_is_better=target["better"] == "lower",
                text=str(item["text"]),
                source=str(item["source"]),
            )
        )
    return PublicationConfig(
        power_kinds=frozenset(str(k) for k in main.get("power_kinds") or []),
        ranking=ranking,
        movers=int(main.get("movers", 5)),
        listed_answers=int(main.get("listed_answers", 30)),
        benchmarks=tuple(benchmarks),
        advice_by_indicator={str(k): _line(v) for k, v in (advice.get("indicators") or {}).items()},
        advice_by_column={str(k): _line(v) for k, v in (advice.get("columns") or {}).items()},
        advice_by_measure={str(k): _line(v) for k, v in (advice.get("measures") or {}).items()},
        templates=folder / "templates",
    )


def _yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PublicationConfigError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise PublicationConfigError(f"{path}: expected a mapping at the top")
    return raw


def _line(value: Any) -> str:
    return " ".join(str(value).split())
