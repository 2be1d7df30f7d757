"""Time measures of a methodology over incident-level timing (``core.fct_incident_timing``).

A ``measure`` indicator reads one source's incidents of the month, counts their statuses by the
methodology's rule (``statuses``: excluded, answered, overdue or standard) and gives one value per
body: the share answered (or reacted to) within a limit of its clock, the mean or median time, or
the share answered on time against the region's deadline.
Pure pandas; the values join ``mart.rating_base``'s row of the body as the indicator's column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.methodology import Measure, Methodology

# the timing column of each end and clock (docs/rating.md, "Clocks")
TIMING_COLUMNS = {
    ("answer", "work_hours"): "answer_work_hours",
    ("answer", "calendar_hours"): "answer_hours",
    ("answer", "work_days"): "answer_work_days",
    ("reaction", "work_hours"): "reaction_work_hours",
    ("reaction", "calendar_hours"): "reaction_hours",
    ("reaction", "work_days"): "reaction_work_days",
}
NEEDED_COLUMNS = (
    "org_id", "source", "status", "is_answered", "is_overdue", *sorted(set(TIMING_COLUMNS.values())),
)  # fmt: skip


def measure_values(timing: pd.DataFrame, methodology: Methodology) -> pd.DataFrame:
    """One row per body found in ``timing`` and a column per measure indicator of ``methodology``
    (NaN where the body has no incident the measure counts)."""
    measures = methodology.measures()
    result = pd.DataFrame({"org_id": pd.Series(sorted(timing["org_id"].dropna().unique()), dtype=object)})
    for indicator in measures:
        assert indicator.measure is not None
        values = body_measure(timing, indicator.measure, dict(methodology.statuses))
        result[indicator.id] = result["org_id"].map(values).astype(float)
    return result


def body_measure(timing: pd.DataFrame, measure: Measure, statuses: dict[str, str]) -> pd.Series:
    """The measure's value per org_id over the incidents of its source.

    Statuses: ``excluded`` incidents are left out; ``answered`` ones count as answered in time (within
    any limit; their time, when they have one, enters a mean or median); ``overdue`` ones count as
    not within the limit and overdue; ``standard`` ones are measured as they are. An incident
    without an answer (or reaction) is not within the limit and has no time.
    """
    rows = timing[(timing["source"] == measure.source) & timing["org_id"].notna()]
    rule = rows["status"].map(lambda s: statuses.get(str(s), "standard"))
    rows = rows[(rule != "excluded").to_numpy()]
    rule = rule[rule != "excluded"]
    if measure.type == "on_time":
        on_time = ~rows["is_overdue"].astype(bool)
        on_time = on_time.mask((rule == "answered").to_numpy(), True).mask(
            (rule == "overdue").to_numpy(), False
        )
        return on_time.astype(float).groupby(rows["org_id"]).mean()
    elapsed = pd.to_numeric(rows[TIMING_COLUMNS[(measure.to, measure.clock)]], errors="coerce").astype(float)
    if measure.type == "share_within":
        assert measure.limit is not None
        within = (elapsed <= measure.limit).fillna(False)
        within = within.mask((rule == "answered").to_numpy(), True).mask(
            (rule == "overdue").to_numpy(), False
        )
        return within.astype(float).groupby(rows["org_id"]).mean()
    grouped = elapsed.dropna().groupby(rows.loc[elapsed.notna(), "org_id"])
    values: pd.Series = grouped.mean() if measure.type == "mean" else grouped.median()
    return values.replace([np.inf, -np.inf], np.nan)
