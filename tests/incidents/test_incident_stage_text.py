"""The engine strips cells as Python strips text (``transforms.incident_stage.stripped``)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from transforms.incident_stage import WHITESPACE, stripped


def test_cells_are_stripped_as_python_strips_them() -> None:
    """Every whitespace character Python strips, alone, repeated, at either end or inside a text,
    beside characters it keeps (a zero-width space, a BOM, a quote): the same text, NULL for none."""
    ends = [*WHITESPACE, "", "a", "я", "\u200b", "\ufeff", '"']
    middles = ["", " ", "x y", "x\u3000y", "\n\n"]
    texts = [
        a + b + m + c + d for a in ends for d in ends for m in middles for b, c in (("", ""), (" ", "\t"))
    ]
    con = duckdb.connect()
    con.register("texts", pa.table({"text": pa.array([*texts, None], pa.string())}))
    got = con.execute(f"SELECT text, {stripped('text')} FROM texts").fetchall()
    assert len(got) == len(texts) + 1
    assert [value for text, value in got if (None if text is None else text.strip() or None) != value] == []
