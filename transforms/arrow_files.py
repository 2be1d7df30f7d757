"""Arrow tables handed from a worker process to the task through local Arrow IPC files: the task
memory-maps them instead of unpickling them (a copy, and the task's CPU, for every row)."""

from __future__ import annotations

import os
import uuid

import pyarrow as pa


def write_table(directory: str, table: pa.Table) -> str:
    """Write ``table`` to a new Arrow IPC file in ``directory``; returns its path."""
    path = os.path.join(directory, f"{uuid.uuid4().hex}.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return path


def take_table(path: str) -> pa.Table:
    """The table written at ``path``, memory-mapped; the file is unlinked (the mapping stays)."""
    table = pa.ipc.open_file(pa.memory_map(path)).read_all()
    os.unlink(path)
    return table
