"""Incident test data: the sample region's exports, a warehouse with its registry, an S3 lake."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gospublic.infra.lake import Lake
from gospublic.infra.migrations import migrate
from gospublic.infra.warehouse import Warehouse
from gospublic.registry.load import load_registry

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="session")
def export_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample region (seed 42, November 2025): 8 export files with every kind of defect."""
    from sandbox.generator import params
    from sandbox.generator.pipeline import generate

    out = tmp_path_factory.mktemp("exports-region")
    generate(params.build("region", "2025-11", 42), str(out))
    return out


def truth_rows(data: Path, name: str) -> list[dict[str, str]]:
    with open(data / "truth" / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def export_files(data: Path) -> list[Path]:
    """The export files in export order (as listed in truth/exports.csv)."""
    rows = sorted(truth_rows(data, "exports.csv"), key=lambda r: (r["exported_at"], r["file"]))
    return [data / r["file"] for r in rows]


@dataclass
class IncidentWorld:
    data: Path
    warehouse: Warehouse
    lake: Lake

    def drop(self, path: Path, name: str | None = None, source: str | None = None) -> str:
        """Put a file into the lake's incoming/<source>/ as ЦУР would."""
        source = source or path.name.split("_", 1)[0]
        key = f"incoming/{source}/{name or path.name}"
        self.lake.put_file(key, path)
        return key

    def drop_bytes(self, name: str, data: bytes, source: str = "im") -> str:
        key = f"incoming/{source}/{name}"
        self.lake.put_bytes(key, data)
        return key

    def keys(self, prefix: str) -> list[str]:
        return [obj.key for obj in self.lake.list(prefix)]


@pytest.fixture
def incident_world(
    export_data: Path, warehouse: Warehouse, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> Iterator[IncidentWorld]:
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOSPUBLIC_PSEUDONYM", json.dumps({"conn_type": "generic", "password": PSEUDONYM_KEY})
    )
    migrate(warehouse)
    load_registry(warehouse, export_data / "registry")
    yield IncidentWorld(export_data, warehouse, lake)


@pytest.fixture
def lake_conn(s3_endpoint: str, s3_bucket: str) -> dict:
    """Incident tests keep their lake on moto's S3 server (the production path)."""
    return {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {
            "bucket": s3_bucket,
            "endpoint_url": s3_endpoint,
            "region_name": "us-east-1",
            "prefix": "lake",
        },
    }
