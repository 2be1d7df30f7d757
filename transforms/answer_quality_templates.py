"""Template answers (шаблон): the same answer, up to names, numbers, dates and addresses, reused.

Within one group (a body's answers in a month) each answer is normalized — lower case, «ё» → «е»,
dates, times, numbers, quoted names, capitalised words inside a sentence (names, streets) and
street types replaced by placeholders, punctuation dropped. Equal normalized texts are counted
once; near-equal ones are found with MinHash over word bigrams and locality-sensitive hashing
(banding), each candidate pair confirmed by the exact Jaccard similarity of the bigram sets and
joined with union-find. An answer is a template when its cluster holds at least ``min_group``
answers of the group. Cost is linear in the number of answers (no all-pairs comparison).

At a national month (~1 M answers) this runs as array operations, not a loop per answer: the
patterns run over many distinct answers joined at once, a token's rules once per distinct token,
bigrams are pairs of word codes (only distinct bigrams spelled out and hashed), buckets, Jaccard
similarities and clusters (connected components: the lowest unit of each, as union-find gave) are
numpy. ``tests/test_answer_templates_parity.py`` holds every result equal to the loop version
kept in ``tests/answer_templates_reference.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = ["flag_templates", "flag_templates_frame", "normalize_for_template", "template_groups"]

DEFAULT_THRESHOLD = 0.6
NUM_BANDS = 32
ROWS_PER_BAND = 3
_SEED = 20251124
_CHUNK_ELEMENTS = 262_144  # shingles × permutations hashed at once: 2 MB of uint64, kept in cache

_MONTH_STEMS = ("январ", "феврал", "апрел", "июн", "июл", "сентябр", "октябр", "ноябр", "декабр")
_MONTH_WORDS = frozenset(
    [stem + end for stem in _MONTH_STEMS for end in ("ь", "я", "е", "ю")]
    + ["март", "марта", "марте", "марту", "май", "мая", "мае", "маю", "август", "августа", "августе"]
)
_ADDRESS_WORDS = frozenset(
    [
        "ул",
        "улица",
        "улице",
        "улицы",
        "улицу",
        "пр",
        "пр-т",
        "проспект",
        "проспекта",
        "проспекте",
        "пер",
        "переулок",
        "переулка",
        "переулке",
        "бульвар",
        "бульвара",
        "б-р",
        "шоссе",
        "пл",
        "площадь",
        "площади",
        "наб",
        "набережная",
        "набережной",
        "мкр",
        "микрорайон",
        "микрорайона",
        "микрорайоне",
        "проезд",
        "проезда",
        "д",
        "дом",
        "дома",
        "доме",
        "кв",
        "корп",
        "стр",
    ]
)
_PLACEHOLDERS = frozenset({"xname", "xq", "xurl", "xnum", "xaddr"})
_ABBREVIATIONS = re.compile(r"\b(ул|пр|пер|пл|наб|мкр|д|г|кв|корп|стр|им|пос|ст|с)\.\s*", re.IGNORECASE)
_NAMES = re.compile(r"(?<=[^\s.!?…])(\s+)[А-ЯЁA-Z][а-яёa-z-]+")  # a capital inside a sentence: name, street
_QUOTES = re.compile(r"[«“„\"][^«»“”„\"]{0,80}[»”“\"]")
_WEB = re.compile(r"[\w.+-]+@[\w-]+\.\w+|https?://\S+|\b[\w-]+\.(?:ru|рф|su|com|org)\b")
_WEB_HINTS = ("@", "://", ".ru", ".рф", ".su", ".com", ".org")
_TOKENS = re.compile(r"\d+[а-яa-z]?(?![а-яa-z])|[^\W\d_]+(?:-[^\W\d_]+)?")


def normalize_for_template(text: str | float | None) -> str:
    """The answer with its variable parts replaced by placeholders.

    ``xname`` — a capitalised word inside a sentence (names, streets, organisations), ``xq`` — a
    short quoted name, ``xurl`` — e-mail or web address, ``xnum`` — numbers, dates, times and month
    names, ``xaddr`` — street and house words; a run of placeholders collapses into one.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    out = _ABBREVIATIONS.sub(r"\1 ", str(text))  # «ул. Ленина» does not end a sentence
    out = _QUOTES.sub(" xq ", _NAMES.sub(r"\1 xname ", out))
    out = out.replace("ё", "е").replace("Ё", "Е").lower()
    if any(hint in out for hint in _WEB_HINTS):
        out = _WEB.sub(" xurl ", out)
    words: list[str] = []
    for raw in _TOKENS.findall(out):
        token = raw
        if raw[0].isdigit() or raw in _MONTH_WORDS:
            token = "xnum"
        elif raw in _ADDRESS_WORDS:
            token = "xaddr"
        elif raw.startswith("уважаем"):  # уважаемый / уважаемая / уважаемые: the same salutation
            token = "уважаемый"
        if token in _PLACEHOLDERS and words and words[-1] in _PLACEHOLDERS:
            continue
        words.append(token)
    return " ".join(words)


# The same patterns over many texts joined by ``_SEP`` (NUL, which PostgreSQL's text cannot hold;
# a text holding it is normalized alone): no match crosses it, and next to it each pattern sees
# what it sees at a text's start or end.
_SEP = "\x00"
_NAMES_JOINED = re.compile(r"(?<=[^\s.!?…\x00])(\s+)[А-ЯЁA-Z][а-яёa-z-]+")
_QUOTES_JOINED = re.compile(r"[«“„\"][^«»“”„\"\x00]{0,80}[»”“\"]")
_WEB_JOINED = re.compile(r"[\w.+-]+@[\w-]+\.\w+|https?://[^\s\x00]+|\b[\w-]+\.(?:ru|рф|su|com|org)\b")
_TOKENS_JOINED = re.compile(r"\x00|" + _TOKENS.pattern)
# «ул. » → «ул »: found from its dot (a pattern opening on a literal is searched fast), the
# abbreviation before it, as _ABBREVIATIONS has it, looked behind for; the same matches.
_ABBREVIATION_WORDS = _ABBREVIATIONS.pattern.split("(")[1].split(")")[0].split("|")
_ABBREVIATIONS_JOINED = re.compile(
    r"\.(?:" + "|".join(rf"(?<=\b{word}\.)" for word in _ABBREVIATION_WORDS) + r")\s*", re.IGNORECASE
)
_WEB_HINTS_JOINED = re.compile("|".join(re.escape(hint) for hint in _WEB_HINTS))
_JOIN_CHARS = 2_000_000  # characters of answers normalized in one pass of the patterns
_PAIRS_PER_CHUNK = 200_000  # candidate pairs whose Jaccard similarity is computed at once


def _token_word(raw: str) -> str:
    """A token as :func:`normalize_for_template` writes it (before a run of placeholders collapses)."""
    if raw[0].isdigit() or raw in _MONTH_WORDS:
        return "xnum"
    if raw in _ADDRESS_WORDS:
        return "xaddr"
    if raw.startswith("уважаем"):
        return "уважаемый"
    return raw


@dataclass(frozen=True)
class _Words:
    """Normalized texts as word codes: text ``i`` is ``codes[starts[i]:starts[i] + lengths[i]]``,
    ``vocabulary[code]`` its words."""

    codes: np.ndarray
    lengths: np.ndarray
    vocabulary: np.ndarray

    @property
    def starts(self) -> np.ndarray:
        return np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def texts(self) -> np.ndarray:
        """The texts (object array of ``str``), each its words joined by a space."""
        if not len(self.lengths):
            return np.empty(0, dtype=object)
        words = self.vocabulary[self.codes] if len(self.codes) else np.empty(0, dtype=object)
        marked = np.insert(words, self.starts + self.lengths, "\n")  # a line end after each text
        return np.array([t.strip(" ") for t in " ".join(marked.tolist()).split("\n")[:-1]], dtype=object)

    def take(self, rows: np.ndarray) -> _Words:
        """The texts ``rows`` (positions; -1 is the last), in that order."""
        lengths = self.lengths[rows]
        offsets = np.repeat(self.starts[rows] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        positions = offsets + np.arange(int(lengths.sum()), dtype=np.int64)
        return _Words(self.codes[positions], lengths, self.vocabulary)


def _normalize_many(texts: Sequence[object]) -> _Words:
    """:func:`normalize_for_template` of each text, as words, for many texts at once.

    The patterns run over the texts joined by ``_SEP`` (the web pattern only over those with a
    hint of an address), the token rules once per distinct token, and runs of placeholders
    collapse over the whole array. A text that is not a ``str`` or holds ``_SEP`` is normalized
    alone."""
    plain = [i for i, text in enumerate(texts) if isinstance(text, str) and _SEP not in text]
    order: list[int] = []  # the texts in the order their tokens are found
    found: list[str] = []
    for lo in _batches([len(cast(str, texts[i])) for i in plain]):
        batch = plain[lo.start : lo.stop]
        joined = _SEP.join(cast(str, texts[i]) for i in batch) + _SEP
        web = _with_web_hints(joined, len(batch))
        parts = [(batch, False)] if not web.any() else [
            ([i for i, w in zip(batch, web.tolist(), strict=True) if not w], False),
            ([i for i, w in zip(batch, web.tolist(), strict=True) if w], True),
        ]  # fmt: skip
        for part, with_web in parts:
            if part:
                if len(part) < len(batch):
                    joined = _SEP.join(cast(str, texts[i]) for i in part) + _SEP
                found += _TOKENS_JOINED.findall(_patterns_joined(joined, with_web))
                order += part
    if len(order) < len(texts):  # rare: each alone, its words then the separator
        joinable = set(order)
        for i in range(len(texts)):
            if i not in joinable:
                found += [w for w in normalize_for_template(cast(Any, texts[i])).split(" ") if w] + [_SEP]
                order.append(i)
    if not found:
        return _Words(np.empty(0, dtype=np.int64), np.zeros(len(texts), dtype=np.int64), np.empty(0, object))
    raw_codes, raw_words = pd.factorize(np.array(found, dtype=object), sort=False)
    word_codes, vocabulary = pd.factorize(
        np.array([_token_word(w) for w in raw_words.tolist()], dtype=object), sort=False
    )
    vocabulary = np.asarray(vocabulary, dtype=object)
    codes = word_codes[raw_codes]
    separator = codes == vocabulary.tolist().index(_SEP)  # (numpy's own str would drop a NUL)
    placeholder = np.array([w in _PLACEHOLDERS for w in vocabulary.tolist()], dtype=bool)[codes]
    # a placeholder right after a placeholder of the same text goes (a separator is none)
    keep = ~separator & ~(placeholder & np.concatenate(([False], placeholder[:-1])))
    text_of = np.cumsum(separator) - separator  # the text each token belongs to, in order found
    words = _Words(codes[keep], np.bincount(text_of[keep], minlength=len(texts)), vocabulary)
    positions = np.array(order, dtype=np.int64)
    if np.array_equal(positions, np.arange(len(texts))):
        return words
    return words.take(np.argsort(positions))  # back in the order of ``texts``


def _batches(lengths: list[int]) -> Iterator[slice]:
    """Consecutive slices of texts of about ``_JOIN_CHARS`` characters together."""
    lo, size = 0, 0
    for i, length in enumerate(lengths):
        size += length
        if size >= _JOIN_CHARS:
            yield slice(lo, i + 1)
            lo, size = i + 1, 0
    if lo < len(lengths):
        yield slice(lo, len(lengths))


def _with_web_hints(joined: str, count: int) -> np.ndarray:
    """Per text of ``joined``, whether its lower case holds a hint of a web address: a superset of
    the texts in which :func:`normalize_for_template` finds one (its substitutions add none)."""
    lowered = joined.lower()
    hints = [m.start() for m in _WEB_HINTS_JOINED.finditer(lowered)]
    flags = np.zeros(count, dtype=bool)
    if hints:
        ends = np.array([m.start() for m in re.finditer(_SEP, lowered)], dtype=np.int64)
        flags[np.searchsorted(ends, np.array(hints, dtype=np.int64))] = True
    return flags


def _patterns_joined(joined: str, web: bool) -> str:
    """:func:`normalize_for_template`'s substitutions over texts joined by ``_SEP``."""
    out = _ABBREVIATIONS_JOINED.sub(" ", joined)
    out = _QUOTES_JOINED.sub(" xq ", _NAMES_JOINED.sub(r"\1 xname ", out))
    out = out.replace("ё", "е").replace("Ё", "Е").lower()
    if web and any(hint in out for hint in _WEB_HINTS):  # no pattern of _WEB matches without a hint
        out = _WEB_JOINED.sub(" xurl ", out)
    return out


def _shingle_hashes(words: _Words) -> tuple[np.ndarray, np.ndarray]:
    """Each text's word bigrams (``"a b"``; a text of one word: the word, of none: ``""``) hashed by
    ``pd.util.hash_array``, flat, and the number of each text's bigrams. Bigrams are formed as
    pairs of word codes; only the distinct ones are spelled out and hashed."""
    lengths = words.lengths
    counts = np.where(lengths >= 2, lengths - 1, 1)
    text = np.repeat(np.arange(len(lengths)), counts)
    at = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    first_at = words.starts[text] + at
    size = len(words.vocabulary) + 1
    codes = np.append(words.codes, 0).astype(np.int64)  # a safe read past the end for empty texts
    first = codes[np.minimum(first_at, len(words.codes))]
    second = codes[np.minimum(first_at + 1, len(words.codes))]
    n = lengths[text]
    key = np.where(n >= 2, first * size + second, np.where(n == 1, first * size + size - 1, -1))
    key_codes, keys = pd.factorize(key, sort=False)
    vocabulary = words.vocabulary.tolist()
    spelled = [
        "" if k < 0 else vocabulary[k // size] if k % size == size - 1 else
        f"{vocabulary[k // size]} {vocabulary[k % size]}"
        for k in np.asarray(keys).tolist()
    ]  # fmt: skip
    hashes = pd.util.hash_array(np.array(spelled, dtype=object))
    return hashes[key_codes], counts


def _minhash(hashes: np.ndarray, lengths: np.ndarray, num_perm: int) -> np.ndarray:
    """MinHash signatures (docs × num_perm) of each doc's shingle hashes (``lengths`` per doc)."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**63 - 1, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63 - 1, size=num_perm, dtype=np.uint64)
    signatures = np.empty((len(lengths), num_perm), dtype=np.uint64)
    per_chunk = max(1, _CHUNK_ELEMENTS // num_perm)
    doc = 0
    while doc < len(lengths):
        last = int(np.searchsorted(starts, starts[doc] + per_chunk, side="left"))
        last = max(last, doc + 1)
        lo, hi = starts[doc], starts[last - 1] + lengths[last - 1]
        block = np.multiply(hashes[lo:hi, None], a[None, :])  # wraps modulo 2**64
        block += b[None, :]  # in place: one block of memory, not two
        signatures[doc:last] = np.minimum.reduceat(block, starts[doc:last] - lo, axis=0)
        doc = last
    return signatures


def _band_candidates(signatures: np.ndarray, groups: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Pairs (representative, member) of docs of one group sharing a band, each pair once;
    star-shaped per bucket, the representative being the bucket's doc of lowest ``rank`` (its
    text's place in sorted order; distinct within a group), so the pairs tested, and the
    clusters, do not depend on the order of the input rows."""
    n = len(groups)
    docs = np.arange(n, dtype=np.int64)
    pairs = []
    mix = np.uint64(0x9E3779B97F4A7C15)
    lowest = ranks.astype(np.int64) * n + docs  # the minimum of a bucket names its representative
    for band in range(signatures.shape[1] // ROWS_PER_BAND):
        cols = signatures[:, band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        key = cols[:, 0].copy()
        for c in range(1, cols.shape[1]):
            key = (key * mix) ^ cols[:, c]
        key_codes, keys = pd.factorize(key, sort=False)
        bucket, buckets = pd.factorize(groups.astype(np.int64) * len(keys) + key_codes, sort=False)
        best = np.full(len(buckets), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, bucket, lowest)
        representative = best[bucket] % n
        member = representative != docs
        pairs.append(representative[member] * n + docs[member])
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    unique = np.unique(np.concatenate(pairs))
    return np.stack([unique // n, unique % n], axis=1)


def _jaccard_at_least(
    hashes: np.ndarray, lengths: np.ndarray, pairs: np.ndarray, threshold: float
) -> np.ndarray:
    """Per pair of docs, whether the Jaccard similarity of their sets of shingle hashes is at
    least ``threshold`` (``|a ∩ b| >= threshold * |a ∪ b|``, as Python compares it)."""
    doc = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    value, distinct = pd.factorize(hashes, sort=False)  # a set holds hash values, as frozensets did
    width = max(len(distinct), 1)
    unique = np.unique(doc * width + value)  # each doc's set, in rows
    rows, members = unique // width, unique % width
    size = np.bincount(rows, minlength=len(lengths))
    row_start = np.concatenate(([0], np.cumsum(size)))
    result = np.zeros(len(pairs), dtype=bool)
    for lo in range(0, len(pairs), _PAIRS_PER_CHUNK):
        part = pairs[lo : lo + _PAIRS_PER_CHUNK]
        both = []
        for side in (0, 1):  # each pair's members of both sets, keyed by (pair, member)
            docs, counts = part[:, side], size[part[:, side]]
            pair = np.repeat(np.arange(len(part), dtype=np.int64), counts)
            at = np.arange(len(pair), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            both.append(pair * width + members[row_start[docs][pair] + at])
        keys = np.sort(np.concatenate(both))  # a member of both sets: two equal neighbours
        shared = np.bincount(keys[1:][keys[1:] == keys[:-1]] // width, minlength=len(part))
        union = size[part[:, 0]] + size[part[:, 1]] - shared
        result[lo : lo + len(part)] = shared >= threshold * union
    return result


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Per node, the lowest node of its connected component (what a union-find joining roots
    under the lower one gives, whatever the order of the edges)."""
    label = np.arange(n, dtype=np.int64)
    if not len(edges):
        return label
    left, right = edges[:, 0], edges[:, 1]
    while True:
        lower = np.minimum(label[left], label[right])
        joined = label.copy()
        np.minimum.at(joined, left, lower)
        np.minimum.at(joined, right, lower)
        while True:  # point each node at its label's label until none moves
            jumped = joined[joined]
            if np.array_equal(jumped, joined):
                break
            joined = jumped
        if np.array_equal(joined, label):
            return label
        label = joined


def _template_roots(
    answers: Sequence[str | None] | pd.Series, groups: np.ndarray, min_group: int, threshold: float
) -> np.ndarray:
    """Per answer, its template cluster (an id unique across groups) or -1 when none.

    Work is done once per distinct text (normalizing, MinHash) and once per distinct text of a
    group (clustering), for every group together: no per-group fixed cost.
    """
    series = answers if isinstance(answers, pd.Series) else pd.Series(list(answers), dtype=object)
    raw_codes, raw_uniques = pd.factorize(series.reset_index(drop=True), sort=False)
    raw_codes = np.asarray(raw_codes, dtype=np.int64)
    # each distinct answer's words, and "" last: code -1 (a missing answer) picks it
    raw_words = _normalize_many([*raw_uniques.tolist(), ""])
    normalized = raw_words.texts()[raw_codes]
    # sorted: a text's code is its rank, the same whatever the order of the rows
    text_codes, texts = pd.factorize(pd.Series(normalized, dtype=object), sort=True)
    if not len(text_codes):
        return np.zeros(0, dtype=np.int64)
    # A unit: one normalized text within one group, numbered in order of first appearance.
    unit_codes, _ = pd.factorize(groups.astype(np.int64) * (len(texts) + 1) + text_codes, sort=False)
    _, first_row = np.unique(unit_codes, return_index=True)
    unit_text, unit_group = text_codes[first_row], groups[first_row]
    n_units = len(first_row)
    roots = np.arange(n_units, dtype=np.int64)
    if n_units > len(np.unique(unit_group)) and threshold <= 1.0:
        # only units of groups with more than one can pair; their texts, each once
        _, group_at, group_units = np.unique(unit_group, return_inverse=True, return_counts=True)
        pairing = np.flatnonzero(group_units[group_at] > 1)
        needed, text_at = np.unique(unit_text[pairing], return_inverse=True)
        _, text_first_row = np.unique(text_codes, return_index=True)
        hashes, lengths = _shingle_hashes(raw_words.take(raw_codes[text_first_row[needed]]))
        signatures = _minhash(hashes, lengths, NUM_BANDS * ROWS_PER_BAND)
        candidates = _band_candidates(signatures[text_at], unit_group[pairing], unit_text[pairing])
        text_pairs, pair_at = np.unique(text_at[candidates], axis=0, return_inverse=True)
        similar = _jaccard_at_least(hashes, lengths, text_pairs, threshold)[pair_at.ravel()]
        roots = _components(n_units, pairing[candidates[similar]])
    cluster_size = np.bincount(roots, weights=np.bincount(unit_codes, minlength=n_units), minlength=n_units)
    row_roots = roots[unit_codes]
    is_template = (normalized != "") & (cluster_size[row_roots] >= min_group)
    return np.where(is_template, row_roots, -1)


def template_groups(
    answers: Sequence[str | None], min_group: int = 3, threshold: float = DEFAULT_THRESHOLD
) -> list[int]:
    """Template cluster of each answer (0, 1, … in order of first appearance) or -1 when none.

    Two answers join a cluster when the Jaccard similarity of their normalized word bigrams is at
    least ``threshold``; clusters smaller than ``min_group`` answers are not templates.
    """
    roots = _template_roots(answers, np.zeros(len(answers), dtype=np.int64), min_group, threshold)
    labels: dict[int, int] = {}
    return [-1 if root < 0 else labels.setdefault(root, len(labels)) for root in roots.tolist()]


def flag_templates(
    answers: Sequence[str | None], min_group: int = 3, threshold: float = DEFAULT_THRESHOLD
) -> list[bool]:
    """``True`` for every answer that belongs to a template cluster (see :func:`template_groups`)."""
    return [g >= 0 for g in template_groups(answers, min_group=min_group, threshold=threshold)]


def flag_templates_frame(
    frame: pd.DataFrame,
    text_column: str = "answer_text",
    group_columns: Sequence[str] = ("body_id", "month"),
    min_group: int = 3,
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.Series:
    """Boolean ``template`` Series aligned with ``frame``: templates within each body-month group
    (every group clustered in one pass, as :func:`template_groups` would one group at a time)."""
    missing = [c for c in (text_column, *group_columns) if c not in frame.columns]
    if missing:
        raise KeyError(f"flag_templates_frame: missing columns {missing}")
    groups = frame.groupby(list(group_columns), sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    roots = _template_roots(frame[text_column], groups, min_group, threshold)
    return pd.Series(roots >= 0, index=frame.index, name="template", dtype=bool)
