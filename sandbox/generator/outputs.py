"""Deterministic file writers: text, CSV and gzip streams without timestamps or names inside."""

from __future__ import annotations

import csv
import gzip
import io
import os
from typing import IO

import pandas as pd


def text_writer(path: str) -> IO[str]:
    """A UTF-8 text file with ``\\n`` line ends."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open(path, "w", encoding="utf-8", newline="\n")


def gzip_writer(path: str, level: int) -> IO[str]:
    """A gzip text stream with mtime 0 and no file name in its header (byte-identical reruns)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = open(path, "wb")  # noqa: SIM115 - closed with the wrapper
    compressed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=level)
    wrapper = io.TextIOWrapper(compressed, encoding="utf-8", newline="\n", write_through=False)
    wrapper._raw_file = raw  # type: ignore[attr-defined]  # closed in close_gzip
    return wrapper


def close_gzip(stream: IO[str]) -> None:
    """Flush and close a stream made by :func:`gzip_writer` and its underlying file."""
    raw = stream._raw_file  # type: ignore[attr-defined]
    stream.close()
    raw.close()


class CsvAppender:
    """A CSV file written in pieces: the header once, then frames or rows."""

    def __init__(self, path: str, columns: list[str]) -> None:
        self.handle = text_writer(path)
        self.columns = columns
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(columns)
        self.rows = 0

    def frame(self, frame: pd.DataFrame) -> None:
        """Append a frame with exactly ``columns``."""
        if len(frame):
            frame[self.columns].to_csv(self.handle, header=False, index=False, lineterminator="\n")
            self.rows += len(frame)

    def row(self, values: list[object]) -> None:
        """Append one row."""
        self.writer.writerow(["" if value is None else value for value in values])
        self.rows += 1

    def close(self) -> None:
        """Close the file."""
        self.handle.close()
