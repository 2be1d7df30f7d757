"""Writes the project's sample configuration produced by the generator.

``config/registry/orgs.csv`` and ``config/registry/pages.csv`` are the registry of the region preset
(seed 42, month 2025-11); ``config/incident_exports.yaml`` is the export format specification.
Run ``python -m sandbox.generator.sample_config [CONFIG_DIR]`` after changing the generator.
"""

from __future__ import annotations

import os
import sys

from sandbox.generator import export_spec, params
from sandbox.generator.pipeline import write_registry

SAMPLE = {"preset": "region", "month": "2025-11", "seed": 42}


def write(config_dir: str) -> None:
    """Write the sample registry and the export specification under ``config_dir``."""
    os.makedirs(os.path.join(config_dir, "registry"), exist_ok=True)
    write_registry(params.build(**SAMPLE), os.path.join(config_dir, "registry"))
    export_spec.write_yaml(os.path.join(config_dir, "incident_exports.yaml"))


def main(argv: list[str] | None = None) -> int:
    """Command line: the config folder (default ``config``)."""
    args = sys.argv[1:] if argv is None else argv
    write(args[0] if args else "config")
    return 0


if __name__ == "__main__":
    sys.exit(main())
