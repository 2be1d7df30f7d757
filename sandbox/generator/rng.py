"""Named, independent random streams derived from one seed.

Every part of the generator draws from its own stream, so adding draws in one part never shifts
the numbers of another, and the output depends only on the seed and the parameters.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *names: str | int) -> np.random.Generator:
    """A numpy generator keyed by ``seed`` and a path of names (e.g. ``"posts", region_code``)."""
    keys = [zlib.crc32(str(name).encode("utf-8")) for name in names]
    return np.random.default_rng([int(seed), *keys])


def pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    """One element of ``options``, uniformly."""
    return options[int(rng.integers(len(options)))]
