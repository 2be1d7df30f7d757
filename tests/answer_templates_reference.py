"""The template detection of transforms.answer_quality_templates as it was before it was
vectorised (commit bf95529): one text normalized at a time, MinHash over Python lists of
bigrams, union-find in Python. Kept only as the reference the vectorised one must equal
(tests/test_answer_templates_parity.py); normalize_for_template itself did not change."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from transforms.answer_quality_templates import NUM_BANDS, ROWS_PER_BAND, normalize_for_template

_SEED = 20251124
_CHUNK_ELEMENTS = 8_000_000


def _shingles(normalized: str) -> list[str]:
    words = normalized.split()
    if len(words) < 2:
        return words or [""]
    return [f"{a} {b}" for a, b in itertools.pairwise(words)]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def _minhash(shingle_lists: list[list[str]], num_perm: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """MinHash signatures (docs × num_perm) and each doc's shingle hashes."""
    lengths = np.fromiter((len(s) for s in shingle_lists), dtype=np.int64, count=len(shingle_lists))
    flat = np.fromiter((s for doc in shingle_lists for s in doc), dtype=object, count=int(lengths.sum()))
    hashes = pd.util.hash_array(flat)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**63 - 1, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63 - 1, size=num_perm, dtype=np.uint64)
    signatures = np.empty((len(shingle_lists), num_perm), dtype=np.uint64)
    per_chunk = max(1, _CHUNK_ELEMENTS // num_perm)
    doc = 0
    while doc < len(shingle_lists):
        last = int(np.searchsorted(starts, starts[doc] + per_chunk, side="left"))
        last = max(last, doc + 1)
        lo, hi = starts[doc], starts[last - 1] + lengths[last - 1]
        block = hashes[lo:hi, None] * a[None, :] + b[None, :]  # wraps modulo 2**64
        signatures[doc:last] = np.minimum.reduceat(block, starts[doc:last] - lo, axis=0)
        doc = last
    per_doc = np.split(hashes, starts[1:])
    return signatures, per_doc


def _band_candidates(signatures: np.ndarray, groups: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Pairs (representative, member) of docs of one group sharing a band; star-shaped per bucket,
    the representative being the bucket's doc of lowest ``rank`` (its text's place in sorted
    order), so the pairs tested, and the clusters, do not depend on the order of the input rows."""
    pairs = []
    mix = np.uint64(0x9E3779B97F4A7C15)
    for band in range(signatures.shape[1] // ROWS_PER_BAND):
        cols = signatures[:, band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        key = cols[:, 0].copy()
        for c in range(1, cols.shape[1]):
            key = (key * mix) ^ cols[:, c]
        order = np.lexsort((ranks, key, groups))  # a bucket's docs by rank
        sorted_key, sorted_group = key[order], groups[order]
        new_run = np.concatenate(
            ([True], (sorted_key[1:] != sorted_key[:-1]) | (sorted_group[1:] != sorted_group[:-1]))
        )
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(order)), 0))
        member = ~new_run
        if member.any():
            pairs.append(np.stack([order[run_start[member]], order[member]], axis=1))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def template_roots(
    answers: Sequence[str | None], groups: np.ndarray, min_group: int, threshold: float
) -> np.ndarray:
    """Per answer, its template cluster (an id unique across groups) or -1 when none.

    Work is done once per distinct text (normalizing, MinHash) and once per distinct text of a
    group (clustering), for every group together: no per-group fixed cost.
    """
    raw_codes, raw_uniques = pd.factorize(pd.Series(list(answers), dtype=object), sort=False)
    raw_normalized = np.array([normalize_for_template(a) for a in raw_uniques] + [""], dtype=object)
    normalized = raw_normalized[raw_codes]  # code -1 (a missing answer) picks the "" at the end
    # sorted: a text's code is its rank, the same whatever the order of the rows
    text_codes, texts = pd.factorize(pd.Series(normalized, dtype=object), sort=True)
    if not len(text_codes):
        return np.zeros(0, dtype=np.int64)
    # A unit: one normalized text within one group, numbered in order of first appearance.
    unit_codes, _ = pd.factorize(groups.astype(np.int64) * (len(texts) + 1) + text_codes, sort=False)
    _, first_row = np.unique(unit_codes, return_index=True)
    unit_text, unit_group = text_codes[first_row], groups[first_row]
    n_units = len(first_row)
    union = _UnionFind(n_units)
    if n_units > len(np.unique(unit_group)) and threshold <= 1.0:
        signatures, per_doc = _minhash([_shingles(t) for t in texts], NUM_BANDS * ROWS_PER_BAND)
        sets: dict[int, frozenset[int]] = {}
        similar: dict[tuple[int, int], bool] = {}
        for i, j in _band_candidates(signatures[unit_text], unit_group, unit_text).tolist():
            if union.find(i) == union.find(j):
                continue
            ti, tj = int(unit_text[i]), int(unit_text[j])
            if (ti, tj) not in similar:
                si = sets.get(ti) or sets.setdefault(ti, frozenset(per_doc[ti].tolist()))
                sj = sets.get(tj) or sets.setdefault(tj, frozenset(per_doc[tj].tolist()))
                similar[ti, tj] = len(si & sj) >= threshold * len(si | sj)
            if similar[ti, tj]:
                union.union(i, j)
    roots = np.fromiter((union.find(i) for i in range(n_units)), dtype=np.int64, count=n_units)
    cluster_size = np.bincount(roots, weights=np.bincount(unit_codes, minlength=n_units), minlength=n_units)
    row_roots = roots[unit_codes]
    is_template = (normalized != "") & (cluster_size[row_roots] >= min_group)
    return np.where(is_template, row_roots, -1)
